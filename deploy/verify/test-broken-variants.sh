#!/usr/bin/env bash
# The checks must catch what they claim to: each deliberately broken variant of the project's
# files is run through the same check scripts, which must exit non-zero AND name the problem.
#   static variants (a copy of the repo, one file mutated): root / missing USER, missing HEALTHCHECK,
#     compose typos (base and prod), prod replica not read-only, prod routing /metrics, prod on
#     plain HTTP, prod trusting X-Forwarded-For from anyone, Prometheus config typo, invalid alert
#     expression, Kubernetes field typo, Kubernetes pod allowed to run as root, prod backup service
#     without its profile (started by up), prod backup on another Redis prefix than the replicas,
#     backup CronJob allowing overlapping runs, backup CronJob pod allowed to run as root, a
#     dashboard metric name the server does not export (against a live container of IMAGE), a
#     compose health check that never passes (docker compose up --wait for real)
#   image variants (the real build context, a mutated Dockerfile via -f; cached layers, seconds each):
#     USER root (built and run: PID 1 is root), a stop signal PID 1 ignores (built and run: the stop
#     exceeds 5 s), no HEALTHCHECK, a broken COPY (build fails)
# Usage: test-broken-variants.sh REPO IMAGE      (IMAGE: the good image, already built)
# Prints one line per variant and "variants: N passed, M failed" (passed = the break was caught).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
export CONTAINERS_CONF=${CONTAINERS_CONF:-$HERE/containers.conf}
R=$(cd "$1" && pwd); IMG=$2
PY=${VENV:-/tmp/containers-tools/venv}/bin/python
T=$(mktemp -d /tmp/taskcore-variants.XXXXXX)
LIVE=taskcore-variants-$$
trap 'podman rm -f -i -t 1 "$LIVE" >/dev/null 2>&1; podman rmi -f localhost/taskcore:broken-root localhost/taskcore:broken-nohc >/dev/null 2>&1; rm -rf "$T"' EXIT
pass=0; fail=0

. "$HERE/variants-lib.sh"   # expect_fail, variant
static() { bash "$HERE/verify-static.sh" "$1"; }

d=$(variant root-user Dockerfile 's/^USER 65532:65532$/USER root/') && expect_fail "Dockerfile USER root" 'FAIL.*USER' static "$d"
d=$(variant no-user Dockerfile '/^USER /d') && expect_fail "Dockerfile without USER" 'FAIL.*USER' static "$d"
d=$(variant no-healthcheck Dockerfile '/^HEALTHCHECK --interval=10s/,+1d') && expect_fail "Dockerfile without HEALTHCHECK" 'FAIL.*HEALTHCHECK' static "$d"
d=$(variant compose-typo docker-compose.yml 's/^    healthcheck:/    healtcheck:/') && expect_fail "docker-compose.yml typo (healtcheck)" 'FAIL compose config' static "$d"
d=$(variant prod-typo docker-compose.prod.yml 's/replicas: 2/replicas: two/') && expect_fail "docker-compose.prod.yml typo (replicas: two)" 'FAIL compose config' static "$d"
d=$(variant prod-writable docker-compose.prod.yml '0,/read_only: true/s//read_only: false/') && expect_fail "prod replicas without read_only" 'FAIL compose prod: read_only' static "$d"
d=$(variant prod-one-replica docker-compose.prod.yml 's/replicas: 2/replicas: 1/') && expect_fail "prod with one replica" 'FAIL compose prod: replicas' static "$d"
d=$(variant prod-metrics-public docker-compose.prod.yml 's/ \&\& !PathPrefix(`\/metrics`)//') && expect_fail "prod routes /metrics publicly" 'FAIL compose prod: /metrics' static "$d"
d=$(variant prod-plain-http docker-compose.prod.yml '/redirections.entrypoint.to=websecure/d') && expect_fail "prod serves plain HTTP (no redirect to HTTPS)" 'FAIL compose prod: HTTP redirected' static "$d"
d=$(variant prod-trusts-all docker-compose.prod.yml 's/TASKCORE_TRUSTED_PROXIES: 172.31.254.2/TASKCORE_TRUSTED_PROXIES: 0.0.0.0\/0/') && expect_fail "prod trusts X-Forwarded-For from anyone" "FAIL compose prod: the replicas trust exactly" static "$d"
d=$(variant prom-typo monitoring/prometheus.yml 's/^scrape_configs:/scrape_config:/') && expect_fail "prometheus.yml typo (scrape_config)" 'FAIL promtool check config' static "$d"
d=$(variant rule-typo monitoring/alerts.yml 's/expr: up{job="taskcore"} == 0/expr: up{job="taskcore"} ==/') && expect_fail "alert rule with an invalid expression" 'FAIL promtool check rules' static "$d"
d=$(variant k8s-typo deploy/k8s/deployment.yaml 's/readinessProbe:/readinesProbe:/') && expect_fail "k8s field typo (readinesProbe)" 'FAIL kubernetes-validate' static "$d"
d=$(variant k8s-root deploy/k8s/deployment.yaml 's/runAsNonRoot: true/runAsNonRoot: false/') && expect_fail "k8s pod may run as root" 'FAIL k8s: securityContext' static "$d"
d=$(variant backup-always docker-compose.prod.yml '/^    profiles: \[backup\]$/d') && expect_fail "prod backup service started by up (no profile)" 'FAIL compose prod: backup only in profile backup' static "$d"
d=$(variant backup-prefix docker-compose.prod.yml '/^  backup:$/,/^$/s/TASKCORE_REDIS_PREFIX: taskcore$/TASKCORE_REDIS_PREFIX: backup/') && expect_fail "prod backup reads another Redis prefix than the replicas" "FAIL compose prod: backup reads the replicas' store" static "$d"
d=$(variant backup-concurrent deploy/k8s/backup-cronjob.yaml 's/concurrencyPolicy: Forbid/concurrencyPolicy: Allow/') && expect_fail "k8s backup CronJob allows overlapping runs" 'FAIL k8s: backup CronJob concurrencyPolicy Forbid' static "$d"
d=$(variant backup-root deploy/k8s/backup-cronjob.yaml 's/runAsNonRoot: true/runAsNonRoot: false/') && expect_fail "k8s backup pod may run as root" 'FAIL k8s: backup securityContext' static "$d"

# a compose health check that can never pass: `docker compose up --wait` (for real) must fail
d=$(variant compose-unhealthy docker-compose.yml 's#test: \["CMD", "/taskcore-server", "healthcheck"\]#test: ["CMD", "/taskcore-server", "healthcheck", "--url", "http://127.0.0.1:9/health"]#') \
  && expect_fail "compose health check that never passes (up --wait)" 'is unhealthy|FAIL docker compose up' bash "$HERE/verify-compose-up.sh" "$d" "$IMG"

# a dashboard metric name that /metrics does not have, against a live container of the good image
podman run -d --name "$LIVE" --network=host --read-only -e TASKCORE_BIND=127.0.0.1:18127 -e TASKCORE_STORE_URL=memory: "$IMG" >/dev/null
for i in $(seq 1 50); do curl -fsS -o /dev/null http://127.0.0.1:18127/health 2>/dev/null && break; sleep 0.1; done
d=$(variant dash-metric monitoring/grafana/dashboards/taskcore.json 's/taskcore_tasks_completed_total/taskcore_tasks_done_total/') \
  && expect_fail "dashboard uses a metric the server does not export" "MISSING.*taskcore_tasks_done_total" "$PY" "$HERE/check_metric_names.py" http://127.0.0.1:18127 --repo "$d"
d=$(variant rule-metric monitoring/alerts.yml 's/taskcore_store_up{job="taskcore"} == 0/taskcore_storage_up{job="taskcore"} == 0/') \
  && expect_fail "alert rule uses a metric the server does not export" "MISSING.*taskcore_storage_up" "$PY" "$HERE/check_metric_names.py" http://127.0.0.1:18127 --repo "$d"
podman rm -f -t 1 "$LIVE" >/dev/null 2>&1

# image variants: the real context (identical COPY layers: cache hits) with a mutated Dockerfile
sed 's/^USER 65532:65532$/USER 0:0/' "$R/Dockerfile" > "$T/Dockerfile.root"
expect_fail "image built with USER 0 (built and run)" 'FAIL (image USER|PID 1 runs as root)' \
  env IMAGE=localhost/taskcore:broken-root PORT=18128 bash "$HERE/verify-image.sh" "$R" "$T/Dockerfile.root"
grep -q 'FAIL PID 1 runs as root' "$T/out" && echo "     (and the running container's PID 1 was seen as root)"
sed 's/^STOPSIGNAL SIGTERM$/STOPSIGNAL SIGUSR1/' "$R/Dockerfile" > "$T/Dockerfile.stopsig"
expect_fail "image whose stop signal the server ignores (built and run)" 'FAIL (image STOPSIGNAL|SIGTERM stop)' \
  env IMAGE=localhost/taskcore:broken-stopsig PORT=18129 bash "$HERE/verify-image.sh" "$R" "$T/Dockerfile.stopsig"
grep -q 'FAIL SIGTERM stop' "$T/out" && echo "     (and the stop with a request in flight was seen to exceed 5 s: $(grep -o '"stop_ms": [0-9]*' "$T/out"))"
podman rmi -f localhost/taskcore:broken-stopsig >/dev/null 2>&1
sed '/^HEALTHCHECK --interval=10s/,+1d' "$R/Dockerfile" > "$T/Dockerfile.nohc"
expect_fail "image without HEALTHCHECK" 'FAIL image HEALTHCHECK' \
  env IMAGE=localhost/taskcore:broken-nohc SKIP_RUN=1 bash "$HERE/verify-image.sh" "$R" "$T/Dockerfile.nohc"
sed 's#^COPY --from=builder /rootfs/ /$#COPY --from=builder /rootfs-missing/ /#' "$R/Dockerfile" > "$T/Dockerfile.broken"
expect_fail "Dockerfile that cannot build" 'FAIL podman build' \
  env IMAGE=localhost/taskcore:broken-build SKIP_RUN=1 bash "$HERE/verify-image.sh" "$R" "$T/Dockerfile.broken"

echo "variants: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
