#!/bin/sh
# One-shot creation of taskcore's Redis Cluster, safe to run again: when the nodes already form a
# cluster it only waits for cluster_state:ok and exits 0 (it never re-creates, resets or reshards).
# Used by both options: the compose service redis-cluster-init and the Kubernetes Job
# redis-cluster-init (the redis image: POSIX sh + redis-cli; REDISCLI_AUTH for a password).
#   cluster-init.sh HOST:PORT HOST:PORT ...       (all the nodes: 6 for 3 masters + 3 replicas)
#   REDIS_CLUSTER_REPLICAS   replicas per master (1)     REDIS_CLUSTER_WAIT   seconds to wait (120)
# Exit 0: created, or already there. Exit 1: a node never answered, the cluster did not settle,
# or the nodes are half-joined (an interrupted create): then it touches nothing and says so.
set -eu
replicas=${REDIS_CLUSTER_REPLICAS:-1}
wait_s=${REDIS_CLUSTER_WAIT:-120}
[ $# -ge $((3 * (replicas + 1))) ] || { echo "cluster-init: need at least $((3 * (replicas + 1))) nodes, got $#" >&2; exit 2; }
deadline=$(( $(date +%s) + wait_s ))

cli() { n=$1; shift; redis-cli -h "${n%:*}" -p "${n##*:}" "$@" 2>/dev/null | tr -d '\r'; }
field() { cli "$1" cluster info | sed -n "s/^$2://p"; }   # field NODE NAME: a CLUSTER INFO value
wait_until() {  # wait_until WHAT COMMAND...: retry once a second until the deadline
  what=$1; shift
  until "$@"; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "cluster-init: $what after ${wait_s}s" >&2; exit 1; }
    sleep 1
  done
}
answers() { [ "$(cli "$1" ping)" = PONG ]; }
settled() { for n in "$@"; do [ "$(field "$n" cluster_state)" = ok ] || return 1; done; }

for n in "$@"; do wait_until "$n does not answer" answers "$n"; done

# The idempotence guard: a node serving all 16384 slots means the cluster exists.
complete=""; joined=""; fresh=""
for n in "$@"; do
  slots=$(field "$n" cluster_slots_assigned); known=$(field "$n" cluster_known_nodes)
  if [ "${slots:-0}" -eq 16384 ]; then complete="$complete $n"
  elif [ "${slots:-0}" -gt 0 ] || [ "${known:-1}" -gt 1 ]; then joined="$joined $n"
  else fresh="$fresh $n"; fi
done

if [ -n "$complete" ]; then
  echo "cluster-init: the cluster exists (all slots assigned, seen by$complete); nothing to create"
  # shellcheck disable=SC2086
  [ -z "$fresh" ] || echo "cluster-init: WARNING: not in the cluster:$fresh (a node whose data volume was replaced?) - add it by hand: redis-cli --cluster add-node NEW:6379 MEMBER:6379 --cluster-slave (deploy/README.md, Redis Cluster)" >&2
  # shellcheck disable=SC2086
  wait_until "cluster_state is not ok" settled $complete
  echo "cluster-init: cluster_state:ok"
  exit 0
fi
if [ -n "$joined" ]; then
  echo "cluster-init: nodes$joined already belong to a cluster that does not cover all slots (an interrupted create?); not touching them. Inspect with redis-cli --cluster check, or CLUSTER RESET HARD the empty nodes and run this again (deploy/README.md, Redis Cluster)" >&2
  exit 1
fi

echo "cluster-init: creating the cluster on $# empty nodes ($replicas replica(s) per master)"
redis-cli --cluster create "$@" --cluster-replicas "$replicas" --cluster-yes
wait_until "cluster_state is not ok on every node" settled "$@"
echo "cluster-init: created; cluster_state:ok on all $# nodes"
