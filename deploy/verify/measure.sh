#!/usr/bin/env bash
# Figures for deploy/README.md's "before -> after" table, measured on this machine:
# image size, start-up to the first 200 on /health, RSS of all the container's processes at idle
# and under load, requests/s on /health (wrk, 2 threads, 32 connections, DURATION s, loopback).
# Usage: measure.sh [--before]   (--before also builds the original Flask images with a local
#   python:3.11-slim stand-in: deploy/verify/before/, pip from PyPI; a few minutes the first time)
# Prints a Markdown table. Numbers are noisy on a shared 2-core machine: run it on a quiet one.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
export CONTAINERS_CONF=${CONTAINERS_CONF:-$HERE/containers.conf}
DUR=${DURATION:-10}; IMG=${IMAGE:-localhost/taskcore:ci}
command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null
ms() { echo $(( $(date +%s%N) / 1000000 )); }
rss_kb() { local t=0 p; for p in $(podman top "$1" hpid 2>/dev/null | tail -n +2); do t=$(( t + $(awk '/^VmRSS:/{print $2}' "/proc/$p/status" 2>/dev/null || echo 0) )); done; echo "$t"; }

measure() {  # measure LABEL IMAGE PORT [podman run args...]
  local label=$1 img=$2 port=$3; shift 3
  local name=measure-$$-$RANDOM size s up idle load rps
  size=$(podman image inspect "$img" --format '{{.Size}}')
  s=$(ms)
  podman run -d --name "$name" --network=host "$@" "$img" >/dev/null || { echo "| $label | run failed |"; return; }
  up=; for _ in $(seq 1 1500); do curl -fsS -o /dev/null "http://127.0.0.1:$port/health" 2>/dev/null && { up=$(( $(ms) - s )); break; }; sleep 0.01; done
  sleep 2; idle=$(rss_kb "$name")
  wrk -t2 -c32 -d"${DUR}s" "http://127.0.0.1:$port/health" > "/tmp/$name.wrk" 2>&1 & local W=$!
  sleep $(( DUR / 2 )); load=$(rss_kb "$name"); wait $W
  rps=$(awk '/Requests\/sec/{print $2}' "/tmp/$name.wrk"); rm -f "/tmp/$name.wrk"
  podman rm -f -t 5 "$name" >/dev/null 2>&1
  printf '| %s | %.1f MB | %s ms | %.1f MB | %.1f MB | %s |\n' "$label" "$(echo "$size / 1000000" | bc -l)" "${up:-n/a}" \
    "$(echo "$idle / 1024" | bc -l)" "$(echo "$load / 1024" | bc -l)" "${rps:-n/a}"
}

echo "| image | size (uncompressed) | start to first /health 200 | RSS idle | RSS under load | /health req/s |"
echo "|---|---|---|---|---|---|"
if [ "${1:-}" = --before ]; then
  B=$HERE/before; C=$(mktemp -d /tmp/taskcore-before.XXXXXX)
  if ! podman image exists docker.io/library/python:3.11-slim; then
    mkdir -p "$C/extra-ca"; cp /usr/local/share/ca-certificates/*.crt "$C/extra-ca/" 2>/dev/null || true
    podman build --pull=never --network=host --format docker -t docker.io/library/python:3.11-slim \
      -f "$B/python-standin.Containerfile" "$C" > /tmp/taskcore-before-python.log 2>&1 || { tail /tmp/taskcore-before-python.log; exit 1; }
  fi
  cp "$B/app.py" "$B/requirements.txt" "$C/"
  for v in basic enhanced; do
    podman build --pull=never --network=host --format docker -t "localhost/task-manager-api:$v" \
      -f "$B/Dockerfile.flask-$v" "$C" > "/tmp/taskcore-before-$v.log" 2>&1 || { tail "/tmp/taskcore-before-$v.log"; exit 1; }
  done
  rm -rf "$C"
  measure "Flask basic (python app.py, dev server)" localhost/task-manager-api:basic 5125
  measure "Flask enhanced (gunicorn, 4 workers)" localhost/task-manager-api:enhanced 5125
fi
measure "taskcore-server (scratch, memory: store)" "$IMG" 18126 -e TASKCORE_BIND=127.0.0.1:18126 -e TASKCORE_STORE_URL=memory: --read-only
