#!/usr/bin/env bash
# Container and deployment checks of taskcore, for real, on this machine (called from .ci/run).
#   bash deploy/verify/run.sh            static + image build + run checks + Prometheus scrape +
#                                        compose up + replicas behind a load balancer + the Redis
#                                        Cluster option on 6 real nodes + broken variants
#   bash deploy/verify/run.sh --quick    static + build + run + healthcheck + stop only
#   bash deploy/verify/run.sh --deep     everything above, plus the dev watch loop on the host
# Installs its tools (Debian, PyPI; idempotent), makes the base images locally on first use (no
# registry here: deploy/verify/make-*.sh), uses podman with deploy/verify/containers.conf (host
# network, loopback only; no podman network is ever created). Every step prints ok/FAIL lines;
# the last line is "deploy-verify: N passed, M failed".
# Cold on 2 cores: ~3 min of base images + the release build of the image; warm: about a minute.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
R=$(cd "$HERE/../.." && pwd)
MODE=full
case "${1:-}" in --quick) MODE=quick ;; --deep) MODE=deep ;; "") ;; *) echo "usage: $0 [--quick|--deep]" >&2; exit 2 ;; esac
export CONTAINERS_CONF=$HERE/containers.conf
export VENV=${VENV:-/tmp/containers-tools/venv}
export WORK=${WORK:-/tmp/taskcore-deploy-work}
export IMAGE=${IMAGE:-localhost/taskcore:ci}
mkdir -p "$WORK"
steps_ok=0; steps_bad=0; summary=()
t0=$(date +%s)
step() {  # step NAME COMMAND...: run, time, record
  local name=$1 s rc; shift
  printf '\n--> %s\n' "$name"; s=$(date +%s)
  # podman 4.3 without systemd logs an error per healthcheck timer it cannot create: noise, dropped
  "$@" 2>&1 | grep --line-buffered -v 'unable to get systemd connection'; rc=${PIPESTATUS[0]}
  local took=$(( $(date +%s) - s ))
  if [ "$rc" -eq 0 ]; then steps_ok=$((steps_ok+1)); summary+=("ok   $name (${took}s)")
  else steps_bad=$((steps_bad+1)); summary+=("FAIL $name (${took}s)"); fi
  return 0
}

level=image; [ "$MODE" != quick ] && level=deep
step "tools (apt + PyPI, idempotent)" bash "$HERE/setup-tools.sh" "$level"
step "static: hadolint, compose x profiles, structure, promtool, kubernetes-validate" bash "$HERE/verify-static.sh" "$R"
if [ "$MODE" = quick ]; then
  step "image: build, size, user, healthcheck, run, metrics names, SIGTERM stop" bash "$HERE/verify-image.sh" "$R"
else
  step "image: build, size, user, healthcheck, run, metric names, Prometheus scrape, SIGTERM stop" env PROM_CHECK=1 bash "$HERE/verify-image.sh" "$R"
  step "compose: docker-compose.yml up --wait for real (Compose v2 on podman's API socket)" bash "$HERE/verify-compose-up.sh" "$R" "$IMAGE"
  step "replicas: 2 behind haproxy on one Redis (AOF), one stopped mid-load" bash "$HERE/verify-lb.sh" "$IMAGE" 2 10
  step "redis cluster: shipped redis.conf + scripts on 6 real nodes (create, re-run, failover, full restart)" bash "$HERE/verify-redis-cluster.sh" "$R"
  step "broken variants are caught" bash "$HERE/test-broken-variants.sh" "$R" "$IMAGE"
  step "broken variants of the Redis Cluster option are caught" bash "$HERE/test-broken-redis-cluster.sh" "$R"
fi
if [ "$MODE" = deep ]; then
  step "dev loop: deploy/dev/watch.sh rebuilds and restarts on change (host toolchain)" bash "$HERE/verify-dev-watch.sh" "$R"
fi

printf '\n==> deploy/verify summary (%s mode, %ss)\n' "$MODE" $(( $(date +%s) - t0 ))
printf '%s\n' "${summary[@]}"
echo "deploy-verify: $steps_ok passed, $steps_bad failed"
[ "$steps_bad" -eq 0 ]
