#!/usr/bin/env bash
# Static checks (no container, a few seconds): hadolint; what buildah 1.28 cannot build; every
# compose file combination through the real Compose v2 parser with all profiles on; structural
# assertions on the final image stage, merged compose files (the backup service too), Grafana and
# Kubernetes files (the backup CronJob too)
# (check_structure.py) and on the Redis Cluster option (check_redis_cluster.py: compose override,
# deploy/k8s/redis-cluster, the redis.conf and init script they share); promtool check config /
# check rules; Kubernetes schema validation (kubernetes-validate, bundled schemas, strict: unknown
# fields fail), of deploy/k8s/redis-cluster too, as kustomize renders it when kubectl is there.
# Usage: verify-static.sh REPO_DIR      Prints ok/FAIL lines and "N passed, M failed".
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
R=$(cd "${1:-.}" && pwd); cd "$R"
VENV=${VENV:-/tmp/containers-tools/venv}
DC=$VENV/bin/docker-compose
T=$(mktemp -d /tmp/taskcore-static.XXXXXX); trap 'rm -rf "$T"' EXIT
fail=0; pass=0
ok()  { echo "ok   $*"; pass=$((pass+1)); }
bad() { echo "FAIL $*"; fail=$((fail+1)); }

# 1. Dockerfile
if "$VENV/bin/hadolint" --failure-threshold warning Dockerfile; then ok "hadolint Dockerfile (no warning)"; else bad "hadolint Dockerfile"; fi
if grep -nE '^\s*COPY\s+.*--link|<<-?\s*["'"'"']?[A-Z]+' Dockerfile; then
  bad "Dockerfile uses COPY --link or a heredoc: podman/buildah 1.28 here cannot build it"
else ok "Dockerfile avoids COPY --link and heredocs (buildah 1.28)"; fi

# 2. compose: the real parser (schema, interpolation, merge) on every combination, all profiles on
sets=("base:docker-compose.yml" "dev:docker-compose.yml docker-compose.dev.yml" "prod:docker-compose.yml docker-compose.prod.yml"
      "cluster:docker-compose.yml docker-compose.prod.yml docker-compose.redis-cluster.yml")
json_args=()
for s in "${sets[@]}"; do
  name=${s%%:*}; args=(); for f in ${s#*:}; do args+=(-f "$f"); done
  if "$DC" "${args[@]}" --profile '*' config -q 2> "$T/$name.err" && "$DC" "${args[@]}" --profile '*' config --format json > "$T/$name.json" 2>/dev/null; then
    ok "compose config ${s#*:} (all profiles)"; [ "$name" = cluster ] || json_args+=("$name=$T/$name.json")
  else
    grep -v 'level=warning' "$T/$name.err"; bad "compose config ${s#*:}"
  fi
  for p in $(grep -ho 'profiles: \[[a-z, ]*\]' ${s#*:} | tr -d '[],' | sed 's/profiles://' | tr ' ' '\n' | sort -u); do
    "$DC" "${args[@]}" --profile "$p" config -q 2>/dev/null && ok "compose config ${s#*:} --profile $p" || bad "compose config ${s#*:} --profile $p"
  done
done

# 3. structure (Dockerfile final stage, merged compose, Grafana, Kubernetes)
if "$VENV/bin/python" "$HERE/check_structure.py" "$R" --compose-json "${json_args[@]}" > "$T/structure.out"; then
  ok "structure: $(grep -c '^ok' "$T/structure.out") assertions"
else
  grep '^FAIL' "$T/structure.out"; bad "structure: $(grep -c '^FAIL' "$T/structure.out") assertions failed"
fi

# 3b. the Redis Cluster option (compose override merged over base + prod, deploy/k8s/redis-cluster)
cluster_json=(); [ -s "$T/cluster.json" ] && cluster_json=(--compose-json "$T/cluster.json")
if "$VENV/bin/python" "$HERE/check_redis_cluster.py" "$R" "${cluster_json[@]}" > "$T/cluster.out"; then
  ok "redis-cluster structure: $(grep -c '^ok' "$T/cluster.out") assertions"
else
  grep '^FAIL' "$T/cluster.out"; bad "redis-cluster structure: $(grep -c '^FAIL' "$T/cluster.out") assertions failed"
fi

# 4. Prometheus
promtool check config monitoring/prometheus.yml > "$T/prom.out" 2>&1 && ok "promtool check config monitoring/prometheus.yml" || { cat "$T/prom.out"; bad "promtool check config"; }
promtool check rules monitoring/alerts.yml > "$T/rules.out" 2>&1 && ok "promtool check rules monitoring/alerts.yml ($(grep -o '[0-9]* rules found' "$T/rules.out"))" || { cat "$T/rules.out"; bad "promtool check rules"; }

# 5. Grafana: JSON parses (the structure checks above did the rest)
for f in monitoring/grafana/dashboards/*.json; do "$VENV/bin/python" -m json.tool "$f" >/dev/null && ok "json $f" || bad "json $f"; done

# 6. Kubernetes: schemas bundled in kubernetes-validate; 1.30 is the oldest with the preStop sleep action.
#    The backup CronJob and its claim are applied apart (kubectl apply -f), validated the same.
for v in 1.30.0 1.33.0; do
  if "$VENV/bin/kubernetes-validate" --strict --quiet -k "$v" deploy/k8s/deployment.yaml deploy/k8s/service.yaml deploy/k8s/pdb.yaml \
       deploy/k8s/backup-pvc.yaml deploy/k8s/backup-cronjob.yaml > "$T/k8s.out" 2>&1; then
    ok "kubernetes-validate --strict (k8s $v) deploy/k8s"
  else cat "$T/k8s.out"; bad "kubernetes-validate --strict (k8s $v) deploy/k8s"; fi
done
#    The Redis Cluster option: its manifests as written, and as `kubectl apply -k` would send them
#    (generated ConfigMaps and secret, references rewritten) when kubectl is installed.
rc=deploy/k8s/redis-cluster; rc_files=("$rc/statefulset.yaml" "$rc/service.yaml" "$rc/pdb.yaml" "$rc/init-job.yaml")
if command -v kubectl >/dev/null; then
  if kubectl kustomize "$rc" > "$T/rc-render.yaml" 2> "$T/rc-render.err"; then ok "kubectl kustomize $rc"; rc_files+=("$T/rc-render.yaml")
  else cat "$T/rc-render.err"; bad "kubectl kustomize $rc"; fi
else echo "skip kubectl kustomize $rc: kubectl is not installed (the manifests are validated as written)"; fi
for v in 1.30.0 1.33.0; do
  if "$VENV/bin/kubernetes-validate" --strict --quiet -k "$v" "${rc_files[@]}" > "$T/k8s-rc.out" 2>&1; then
    ok "kubernetes-validate --strict (k8s $v) $rc${rc_files[4]:+ (and its kustomize render)}"
  else cat "$T/k8s-rc.out"; bad "kubernetes-validate --strict (k8s $v) $rc"; fi
done
echo "static: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
