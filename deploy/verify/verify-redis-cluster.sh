#!/usr/bin/env bash
# The Redis Cluster option's node configuration and scripts, run for real: six private
# redis-server processes on free loopback ports, each on the shipped redis.conf (only its `dir`
# replaced, port and bind on the command line) and started through start-node.sh, as in
# Kubernetes; then cluster-init.sh creates 3 masters + 3 replicas, and a second run is a no-op.
# Rooms' keys spread over the three masters; a write acknowledged by one replica (WAIT 1, what
# replica_acks=1 does) survives kill -9 of its master and the failover; the killed node comes
# back as a replica; a full restart in which every peer IP saved in nodes.conf is stale (pods
# all recreated) comes back to cluster_state:ok thanks to start-node.sh.
# Usage: verify-redis-cluster.sh REPO      Prints ok/FAIL lines and "N passed, M failed".
# Needs redis-server and redis-cli (setup-tools.sh deep). Loopback only; removes what it made.
set -uo pipefail
R=$(cd "${1:-.}" && pwd)
K=$R/deploy/k8s/redis-cluster
T=$(mktemp -d /tmp/taskcore-redis-cluster.XXXXXX)
pass=0; fail=0
ok()  { echo "ok   $*"; pass=$((pass+1)); }
bad() { echo "FAIL $*"; fail=$((fail+1)); }
pids=(0 0 0 0 0 0 0)   # pids[I]: node I's redis-server, started in the background by this script
stop_all() {  # SIGTERM (Redis fsyncs and exits), waited for
  for i in 1 2 3 4 5 6; do [ "${pids[$i]}" -gt 0 ] && kill "${pids[$i]}" 2>/dev/null; done
  for i in 1 2 3 4 5 6; do [ "${pids[$i]}" -gt 0 ] && wait "${pids[$i]}" 2>/dev/null; pids[$i]=0; done; }
trap 'stop_all; rm -rf "$T"' EXIT
command -v redis-server >/dev/null && command -v redis-cli >/dev/null || { bad "redis-server / redis-cli not installed (setup-tools.sh deep)"; exit 1; }

# six free ports (the cluster bus uses port + 10000)
ports=(); p=${REDIS_CLUSTER_BASE_PORT:-17301}
busy=$(ss -Hltn 2>/dev/null | awk '{print $4}' | sed 's/.*://' | sort -u)
while [ ${#ports[@]} -lt 6 ]; do
  grep -qx "$p" <<<"$busy" || grep -qx "$((p + 10000))" <<<"$busy" || ports+=("$p"); p=$((p + 1))
done
nodes=(); for p in "${ports[@]}"; do nodes+=("localhost:$p"); done
cli() { local p=$1; shift; redis-cli -p "$p" "$@" 2>/dev/null | tr -d '\r'; }
field() { cli "$1" cluster info | sed -n "s/^$2://p"; }

start() {  # start I: node I (1-6) through start-node.sh, as the StatefulSet does
  local i=$1 p=${ports[$(( $1 - 1 ))]}
  mkdir -p "$T/n$i"
  sed "s#^dir /data\$#dir $T/n$i#" "$K/redis.conf" > "$T/n$i.conf"
  REDIS_CONF=$T/n$i.conf REDIS_DATA=$T/n$i REDIS_RESOLVE_WAIT=5 sh "$K/start-node.sh" \
    --port "$p" --bind 127.0.0.1 --cluster-announce-hostname localhost --cluster-preferred-endpoint-type hostname \
    --logfile "$T/n$i.log" >> "$T/start.log" 2>&1 &
  pids[$i]=$!   # start-node.sh execs redis-server: the same process
  for _ in $(seq 1 50); do [ "$(cli "$p" ping)" = PONG ] && return 0; sleep 0.1; done
  return 1
}
all_ok() { for p in "${ports[@]}"; do [ "$(field "$p" cluster_state)" = ok ] || return 1; done; }
log_tail() { tail -"$2" "$1" | sed 's/\x1b\[[0-9;]*m//g'; echo; }   # redis-cli --cluster colours its lines
wait_for() { local secs=$1; shift; for _ in $(seq 1 $((secs * 5))); do "$@" && return 0; sleep 0.2; done; return 1; }

started=0; for i in 1 2 3 4 5 6; do start "$i" && started=$((started + 1)); done
[ $started -eq 6 ] && ok "6 nodes start on deploy/k8s/redis-cluster/redis.conf through start-node.sh (ports ${ports[*]})" \
  || { cat "$T"/n*.log | tail -20; bad "only $started of 6 nodes started"; exit 1; }
conf="$(cli "${ports[0]}" config get cluster-enabled | tail -1) $(cli "${ports[0]}" config get appendonly | tail -1) $(cli "${ports[0]}" config get appendfsync | tail -1) $(cli "${ports[0]}" config get cluster-node-timeout | tail -1)"
[ "$conf" = "yes yes always 5000" ] && ok "a node runs cluster-enabled yes, appendonly yes, appendfsync always, cluster-node-timeout 5000" \
  || bad "a node's effective settings: cluster-enabled, appendonly, appendfsync, cluster-node-timeout = $conf"

# create, then run again
if REDIS_CLUSTER_WAIT=60 sh "$K/cluster-init.sh" "${nodes[@]}" > "$T/init1.log" 2>&1 && grep -q 'cluster-init: created' "$T/init1.log"; then
  ok "cluster-init.sh creates the cluster ($(log_tail "$T/init1.log" 1 | sed 's/^cluster-init: //'))"
else log_tail "$T/init1.log" 5; bad "cluster-init.sh (first run) did not create the cluster"; fi
roles() { masters=$(cli "${ports[0]}" cluster nodes | awk '$3 ~ /master/ && $9 != ""' | wc -l)
  replicas=$(cli "${ports[0]}" cluster nodes | awk '$3 ~ /slave/' | wc -l); [ "$masters" = 3 ] && [ "$replicas" = 3 ]; }
wait_for 10 roles && ok "3 masters (with slots) + 3 replicas" || bad "masters $masters, replicas $replicas (want 3 + 3)"
before=$(cli "${ports[0]}" cluster nodes | awk '{print $1, $3, $4}' | sort | sed 's/myself,//')
if REDIS_CLUSTER_WAIT=30 sh "$K/cluster-init.sh" "${nodes[@]}" > "$T/init2.log" 2>&1 && grep -q 'nothing to create' "$T/init2.log" &&
   [ "$(cli "${ports[0]}" cluster nodes | awk '{print $1, $3, $4}' | sort | sed 's/myself,//')" = "$before" ]; then
  ok "cluster-init.sh again: a no-op, exit 0, same nodes and roles (idempotent)"
else log_tail "$T/init2.log" 5; bad "cluster-init.sh second run is not an idempotent no-op"; fi

# slot balance: 300 rooms' keys under their hash tag {taskcore:CODE} spread over the masters
for i in $(seq 1 300); do cli "${ports[0]}" -c set "{taskcore:ROOM$i}:room" "$i" >/dev/null; done
counts=$(for p in "${ports[@]}"; do [ "$(cli "$p" role | head -1)" = master ] && cli "$p" dbsize; done | tr '\n' ' ')
min=$(tr ' ' '\n' <<<"$counts" | grep . | sort -n | head -1)
[ -n "$min" ] && [ "$min" -ge 50 ] && ok "300 rooms spread over the 3 masters (keys per master: $counts)" || bad "rooms per master: $counts"

# a write acknowledged by a replica survives kill -9 of its master
m=""; for p in "${ports[@]}"; do [ "$(cli "$p" role | head -1)" = master ] && { m=$p; break; }; done
key=""; for i in $(seq 1 300); do s=$(cli "$m" cluster keyslot "{taskcore:ROOM$i}:room"); [ "$(cli "$m" cluster countkeysinslot "$s")" -gt 0 ] &&
  [ "$(cli "$m" exists "{taskcore:ROOM$i}:room")" = 1 ] && { key="{taskcore:ROOM$i}:room"; break; }; done
synced() { cli "$m" info replication | grep -q '^slave0:.*state=online'; }
wait_for 30 synced || bad "the replica of :$m never came online"
cli "$m" set "$key" acknowledged >/dev/null; acks=$(cli "$m" wait 1 1000)
mi=0; for i in 1 2 3 4 5 6; do [ "${ports[$((i - 1))]}" = "$m" ] && mi=$i; done
kill -9 "${pids[$mi]}"; wait "${pids[$mi]}" 2>/dev/null; pids[$mi]=0; t0=$(date +%s%N)
other=${ports[0]}; [ "$other" = "$m" ] && other=${ports[1]}
served() { [ "$(cli "$other" -c get "$key")" = acknowledged ]; }
if [ "$acks" = 1 ] && wait_for 30 served; then
  ok "kill -9 of a master after WAIT 1 = $acks: its replica took over in $(( ($(date +%s%N) - t0) / 1000000 )) ms, the acknowledged write is there"
else bad "after kill -9 of master :$m (WAIT 1 = $acks), $key = '$(cli "$other" -c get "$key")'"; fi
others_ok() { for p in "${ports[@]}"; do [ "$p" = "$m" ] && continue; [ "$(field "$p" cluster_slots_ok)" = 16384 ] || return 1; done; }
wait_for 30 others_ok && ok "all 16384 slots served again, seen by the 5 others, without any intervention" || bad "slots not all served after the failover"
start "$mi" && wait_for 20 all_ok && [ "$(cli "$m" role | head -1)" = slave ] && ok "the killed node restarts from its AOF and rejoins as a replica" \
  || bad "the killed node did not rejoin as a replica ($(cli "$m" role | head -1))"
REDIS_CLUSTER_WAIT=30 sh "$K/cluster-init.sh" "${nodes[@]}" > "$T/init3.log" 2>&1 && grep -q 'nothing to create' "$T/init3.log" \
  && ok "cluster-init.sh after the failover: still a no-op" || { log_tail "$T/init3.log" 3; bad "cluster-init.sh after the failover"; }

# every pod recreated at once: all saved peer IPs stale (127.0.0.9: loopback, nothing listens)
keys_before=$(for p in "${ports[@]}"; do [ "$(cli "$p" role | head -1)" = master ] && cli "$p" dbsize; done | awk '{ s += $1 } END { print s + 0 }')
stop_all
for i in 1 2 3 4 5 6; do sed -i '/myself/!s/ 127\.0\.0\.1:/ 127.0.0.9:/' "$T/n$i/nodes.conf"; done
stale=$(cat "$T"/n*/nodes.conf | grep -c ' 127\.0\.0\.9:')
for i in 1 2 3 4 5 6; do start "$i"; done
if [ "$stale" = 30 ] && wait_for 30 all_ok; then
  keys_after=$(for p in "${ports[@]}"; do [ "$(cli "$p" role | head -1)" = master ] && cli "$p" dbsize; done | awk '{ s += $1 } END { print s + 0 }')
  [ "$keys_after" = "$keys_before" ] && ok "full restart with every saved peer IP stale: start-node.sh re-resolves them, cluster_state:ok, $keys_after keys kept" \
    || bad "full restart: $keys_after keys, $keys_before before"
else bad "full restart with stale peer IPs ($stale rewritten): cluster_state not ok ($(grep -c moved "$T/start.log") peers re-resolved)"; fi

echo "redis-cluster: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
