#!/bin/sh
# Starts one Redis Cluster node in Kubernetes (the StatefulSet's command):
#   start-node.sh [redis-server options...]      REDIS_CONF (/etc/redis/redis.conf), REDIS_DATA (/data)
# Pod IPs change whenever pods are recreated. Clients are given the nodes' stable DNS names
# (cluster-announce-hostname + cluster-preferred-endpoint-type hostname), but the cluster bus
# dials the peer IPs saved in nodes.conf: after a restart of every pod at once, all of them are
# stale and no node finds another. So, before starting, each peer's IP in nodes.conf is replaced
# by what its announced name resolves to now (waiting up to REDIS_RESOLVE_WAIT seconds, 20, for
# peers whose pods are still starting; a name that does not resolve keeps its old IP, and gossip
# fixes the rest once any two nodes meet).
set -eu
conf=${REDIS_CONF:-/etc/redis/redis.conf}
nodes=${REDIS_DATA:-/data}/nodes.conf
deadline=$(( $(date +%s) + ${REDIS_RESOLVE_WAIT:-20} ))

resolve() {  # the first address of a name, or nothing
  # shellcheck disable=SC2046
  set -- $(getent hosts "$1" 2>/dev/null) ""
  echo "$1"
}

if [ -s "$nodes" ]; then
  cp "$nodes" "$nodes.before-start"
  # a line: <id> <ip>:<port>@<cport>[,<hostname>[,aux=...]] <flags> ...; "myself" is learnt anew
  while read -r id addr flags _; do
    case "$flags" in *myself*) continue ;; esac
    case "$addr" in *@*,?*) ;; *) continue ;; esac
    host=${addr#*,}; host=${host%%,*}
    [ -n "$host" ] || continue
    old=${addr%%@*}; old=${old%:*}
    new=$(resolve "$host")
    while [ -z "$new" ] && [ "$(date +%s)" -lt "$deadline" ]; do sleep 1; new=$(resolve "$host"); done
    if [ -n "$new" ] && [ "$new" != "$old" ]; then
      echo "start-node: peer $host moved: $old -> $new"
      sed -i "s|^$id $old:|$id $new:|" "$nodes"
    fi
  done < "$nodes.before-start"
fi
exec redis-server "$conf" "$@"
