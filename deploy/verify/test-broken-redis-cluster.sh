#!/usr/bin/env bash
# The Redis Cluster option's checks must catch what they claim to: each deliberately broken
# variant (a copy of the repo, one file mutated) goes through verify-static.sh - or, for the init
# script, through verify-redis-cluster.sh on real nodes too - which must exit non-zero AND name
# the problem:
#   redis.conf with appendonly no, with cluster-enabled no; compose taskcore still on redis://,
#   with replica_acks=0, still waiting for the single Redis; a compose node not read-only;
#   StatefulSet of 0 nodes; the k8s secret's URL without replica_acks; a node pod allowed to run
#   as root; a StatefulSet field typo; cluster-init.sh without its idempotence guard (statically,
#   and for real: its second run tries to create the cluster again and fails)
# Usage: test-broken-redis-cluster.sh REPO       (no image needed; redis-server for the last one)
# Prints one line per variant and "variants: N passed, M failed" (passed = the break was caught).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
R=$(cd "$1" && pwd)
T=$(mktemp -d /tmp/taskcore-variants-rc.XXXXXX)
trap 'rm -rf "$T"' EXIT
pass=0; fail=0
. "$HERE/variants-lib.sh"   # expect_fail, variant
static() { bash "$HERE/verify-static.sh" "$1"; }
conf=deploy/k8s/redis-cluster/redis.conf
sts=deploy/k8s/redis-cluster/statefulset.yaml
kz=deploy/k8s/redis-cluster/kustomization.yaml
dc=docker-compose.redis-cluster.yml

d=$(variant rc-aof-off $conf 's/^appendonly yes$/appendonly no/') && expect_fail "redis.conf appendonly no" 'FAIL .*every node appendonly yes' static "$d"
d=$(variant rc-not-cluster $conf 's/^cluster-enabled yes$/cluster-enabled no/') && expect_fail "redis.conf cluster-enabled no" 'FAIL .*every node cluster-enabled yes' static "$d"
d=$(variant rc-plain-url $dc '0,/TASKCORE_STORE_URL: redis+cluster:/s//TASKCORE_STORE_URL: redis:/') \
  && expect_fail "compose taskcore still on a redis:// URL" 'FAIL compose redis-cluster taskcore: store URL scheme' static "$d"
d=$(variant rc-no-acks $dc 's/^\( *TASKCORE_STORE_URL: .*\)replica_acks=1$/\1replica_acks=0/') \
  && expect_fail "compose taskcore with replica_acks=0" 'FAIL compose redis-cluster taskcore: store URL replica_acks' static "$d"
d=$(variant rc-single-redis $dc 's/depends_on: !override/depends_on:/') \
  && expect_fail "compose taskcore still waits for the single Redis (depends_on merged, not overridden)" 'FAIL compose redis-cluster: taskcore starts after' static "$d"
d=$(variant rc-writable $dc '0,/read_only: true/s//read_only: false/') \
  && expect_fail "compose Redis nodes not read-only" 'FAIL compose redis-cluster: redis-node-1 non-root' static "$d"
d=$(variant rc-no-nodes $sts 's/^  replicas: 6$/  replicas: 0/') && expect_fail "k8s StatefulSet of 0 nodes" 'FAIL k8s redis-cluster: StatefulSet of 6' static "$d"
d=$(variant rc-k8s-no-acks $kz 's/&replica_acks=1$//') && expect_fail "k8s secret URL without replica_acks" 'FAIL k8s redis-cluster secret: store URL replica_acks' static "$d"
d=$(variant rc-k8s-root $sts '0,/runAsNonRoot: true/s//runAsNonRoot: false/') && expect_fail "k8s Redis node pod may run as root" 'FAIL k8s redis-cluster: nodes securityContext' static "$d"
d=$(variant rc-k8s-typo $sts 's/podManagementPolicy:/podManagmentPolicy:/') && expect_fail "k8s StatefulSet field typo (podManagmentPolicy)" 'FAIL kubernetes-validate.*redis-cluster' static "$d"
d=$(variant rc-init-no-guard deploy/k8s/redis-cluster/cluster-init.sh '/^if \[ -n "\$complete" \]; then$/,/^fi$/d') && {
  expect_fail "cluster-init.sh without its idempotence guard (static)" 'FAIL cluster-init.sh: idempotence guard' static "$d"
  expect_fail "cluster-init.sh without its idempotence guard (6 real nodes: second run)" 'FAIL cluster-init.sh second run' bash "$HERE/verify-redis-cluster.sh" "$d"
}
echo "variants: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
