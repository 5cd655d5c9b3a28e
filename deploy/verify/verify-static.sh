#!/usr/bin/env bash
# Static checks (no container, a few seconds): hadolint; what buildah 1.28 cannot build; every
# compose file combination through the real Compose v2 parser with all profiles on; structural
# assertions on the final image stage, merged compose files (the backup service too), Grafana and
# Kubernetes files (the backup CronJob too)
# (check_structure.py); promtool check config / check rules; Kubernetes schema validation
# (kubernetes-validate, bundled schemas, strict: unknown fields fail).
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
sets=("base:docker-compose.yml" "dev:docker-compose.yml docker-compose.dev.yml" "prod:docker-compose.yml docker-compose.prod.yml")
json_args=()
for s in "${sets[@]}"; do
  name=${s%%:*}; args=(); for f in ${s#*:}; do args+=(-f "$f"); done
  if "$DC" "${args[@]}" --profile '*' config -q 2> "$T/$name.err" && "$DC" "${args[@]}" --profile '*' config --format json > "$T/$name.json" 2>/dev/null; then
    ok "compose config ${s#*:} (all profiles)"; json_args+=("$name=$T/$name.json")
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
echo "static: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
