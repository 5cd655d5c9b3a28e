#!/usr/bin/env bash
# A local Redis Cluster for benchmarks: three masters and three replicas on loopback ports
# BASE+1 … BASE+6 (default 17401…), data in DIR (appendonly yes, appendfsync always, as the tests'
# and the deployment's), joined with redis-cli --cluster create. Prints the store URL.
#   bench/redis-cluster.sh start DIR [BASE]    then: --store "$(bench/redis-cluster.sh url [BASE])?prefix=…&replica_acks=1"
#   bench/redis-cluster.sh stop DIR            kills the nodes by the PIDs recorded in DIR, removes DIR
set -euo pipefail
cmd=${1:?start|stop|url}; base=${3:-17400}
[ "$cmd" = url ] && base=${2:-17400}
ports() { for i in 1 2 3 4 5 6; do echo $((base + i)); done; }
url() { printf 'redis+cluster://'; ports | sed 's/^/127.0.0.1:/' | paste -sd, | tr -d '\n'; printf '/\n'; }
case "$cmd" in
  start)
    dir=${2:?DIR}
    mkdir -p "$dir"
    for port in $(ports); do
      mkdir -p "$dir/$port"
      (cd "$dir/$port" && redis-server --port "$port" --bind 127.0.0.1 --cluster-enabled yes --cluster-config-file nodes.conf \
        --cluster-node-timeout 1000 --appendonly yes --appendfsync always --save "" --daemonize yes \
        --pidfile "$dir/$port/redis.pid" --logfile "$dir/$port/redis.log")
    done
    for port in $(ports); do
      for _ in $(seq 1 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done
    done
    redis-cli --cluster create $(ports | sed 's/^/127.0.0.1:/') --cluster-replicas 1 --cluster-yes >"$dir/create.log"
    for _ in $(seq 1 200); do
      ok=0
      for port in $(ports); do redis-cli -p "$port" cluster info | grep -q cluster_state:ok && ok=$((ok + 1)); done
      synced=$(for port in $(ports); do redis-cli -p "$port" info replication; done | grep -c master_link_status:up || true)
      [ "$ok" = 6 ] && [ "$synced" = 3 ] && { url; exit 0; }
      sleep 0.1
    done
    echo "the cluster did not become healthy; see $dir/*/redis.log" >&2; exit 1 ;;
  stop)
    dir=${2:?DIR}
    for pid in "$dir"/*/redis.pid; do [ -f "$pid" ] && kill "$(cat "$pid")" 2>/dev/null || true; done
    sleep 0.5; rm -rf "$dir" ;;
  url) url ;;
  *) echo "usage: $0 start DIR [BASE] | stop DIR | url [BASE]" >&2; exit 2 ;;
esac
