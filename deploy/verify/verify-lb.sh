#!/usr/bin/env bash
# Replicas behind a load balancer on one shared store, one replica stopped mid-load.
# haproxy (Debian) stands in for Traefik (not obtainable here) with the same policy as the prod
# compose labels: health check on /readyz (a draining replica leaves the pool), retry a request
# whose connection failed on another replica. The store is a private redis-server (Debian) with
# AOF on, in a temp dir, on loopback. Each replica runs the image with the prod limits
# (512 MB, 0.5 CPU), read-only root, no capabilities, no-new-privileges, on the host network.
# Usage: verify-lb.sh IMAGE [REPLICAS=2] [SECONDS=10]
# Passes when load.py saw no failed request and every acknowledged task (and no other) is stored,
# and the stopped replica exited 0 within 5 s.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
export CONTAINERS_CONF=${CONTAINERS_CONF:-$HERE/containers.conf}
IMG=$1; N=${2:-2}; SECS=${3:-10}
BASE=${LB_BASE_PORT:-18130}; LB=${LB_PORT:-18140}; RPORT=${LB_REDIS_PORT:-18179}
PY=${VENV:-/tmp/containers-tools/venv}/bin/python
T=$(mktemp -d /tmp/taskcore-lb.XXXXXX)
names=(); HP=
cleanup() {
  set +e
  [ -n "$HP" ] && kill "$HP" 2>/dev/null && wait "$HP" 2>/dev/null
  [ ${#names[@]} -gt 0 ] && podman rm -f -t 2 "${names[@]}" >/dev/null 2>&1
  [ -f "$T/redis.pid" ] && kill "$(cat "$T/redis.pid")" 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT

redis-server --daemonize yes --bind 127.0.0.1 --port "$RPORT" --dir "$T" --pidfile "$T/redis.pid" \
  --appendonly yes --appendfsync everysec --save "" --logfile "$T/redis.log"
for i in $(seq 1 50); do redis-cli -p "$RPORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
[ "$(redis-cli -p "$RPORT" config get appendonly | tail -1)" = yes ] || { echo "FAIL redis AOF is not on"; exit 1; }

{ echo "global"; echo "  maxconn 512"
  echo "defaults"; echo "  mode http"; echo "  timeout connect 1s"; echo "  timeout client 15s"; echo "  timeout server 15s"
  echo "  retries 3"; echo "  option redispatch 1"; echo "  retry-on conn-failure empty-response"
  echo "frontend fe"; echo "  bind 127.0.0.1:$LB"; echo "  default_backend taskcore"
  echo "backend taskcore"; echo "  balance roundrobin"
  echo "  option httpchk GET /readyz"; echo "  http-check expect status 200"
  echo "  default-server inter 500ms fall 1 rise 2"
  for i in $(seq 1 "$N"); do echo "  server r$i 127.0.0.1:$((BASE+i)) check"; done; } > "$T/haproxy.cfg"
haproxy -q -c -f "$T/haproxy.cfg"

prefix=lbcheck-$$
for i in $(seq 1 "$N"); do
  names+=("$prefix-r$i")
  podman run -d --name "$prefix-r$i" --network=host --read-only --cap-drop=ALL --security-opt=no-new-privileges \
    --memory 512m --cpus 0.5 \
    -e TASKCORE_BIND=127.0.0.1:$((BASE+i)) -e TASKCORE_STORE_URL=redis://127.0.0.1:$RPORT/0 \
    -e TASKCORE_REDIS_PREFIX="$prefix" "$IMG" >/dev/null
done
for i in $(seq 1 "$N"); do
  ok=; for k in $(seq 1 50); do podman healthcheck run "$prefix-r$i" >/dev/null 2>&1 && { ok=1; break; }; sleep 0.2; done
  [ -n "$ok" ] || { echo "FAIL replica r$i never healthy"; podman logs "$prefix-r$i" | tail -5; exit 1; }
done
echo "ok   $N replicas healthy on one Redis (AOF on), limits: $(podman inspect "$prefix-r1" --format 'memory={{.HostConfig.Memory}} nanocpus={{.HostConfig.NanoCpus}}')"
haproxy -f "$T/haproxy.cfg" -db > "$T/haproxy.log" 2>&1 & HP=$!
for i in $(seq 1 50); do curl -fsS -o /dev/null "http://127.0.0.1:$LB/readyz" 2>/dev/null && break; sleep 0.1; done

# spread check: both replicas answer through the LB
rc=0
"$PY" "$HERE/load.py" "http://127.0.0.1:$LB" --seconds "$SECS" --workers 4 --stop-after $(( SECS / 3 )) \
  --stop-cmd "podman stop -t 5 $prefix-r1" > "$T/load.json" || rc=$?
cat "$T/load.json"
code=$(podman inspect "$prefix-r1" --format '{{.State.ExitCode}}')
# the stopped replica really took part: the survivors served fewer creates than were acknowledged
acked=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["acknowledged"])' "$T/load.json")
others=0
for i in $(seq 2 "$N"); do
  c=$(curl -fsS "http://127.0.0.1:$((BASE+i))/metrics" | awk -F' ' '/^http_requests_total\{.*method="POST".*route="\/tasks".*status="201"/ {s+=$2} END {print s+0}')
  others=$((others + c))
done
echo "     creates served: r1 $((acked - others)) (until stopped), others $others"
[ "$others" -lt "$acked" ] || { echo "FAIL r1 served no request: the stop proved nothing"; exit 1; }
if [ "$rc" -eq 0 ] && [ "$code" = 0 ]; then
  echo "ok   $N replicas behind the LB, r1 stopped (SIGTERM) mid-load: no failed request, no lost task (exit $code)"
else
  echo "FAIL load through the LB with r1 stopped mid-load (load.py rc=$rc, r1 exit $code)"; tail -20 "$T/haproxy.log"; exit 1
fi
