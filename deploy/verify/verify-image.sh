#!/usr/bin/env bash
# Build the Dockerfile for real with podman and check the image and a running container:
#   build; size <= MAX_SIZE_MB; declared non-root numeric USER, HEALTHCHECK, EXPOSE 5125, STOPSIGNAL,
#   /data volume, OCI labels; run with a read-only root, no capabilities, no-new-privileges on the
#   host network: uid of PID 1, /data owned by it, HEALTHCHECK passing (time to healthy measured),
#   /health and /metrics answer, every dashboard/alert metric name exists (check_metric_names.py),
#   the image's default store (SQLite on /data) either works or fails only for the missing feature,
#   and a SIGTERM stop within STOP_MAX_S with a request in flight finishing (inflight.py).
# Usage: verify-image.sh REPO [DOCKERFILE]
#   env: IMAGE (localhost/taskcore:ci)  MAX_SIZE_MB (40)  STOP_MAX_S (5)  PORT (18125)
#        STORE (sqlite:///data/taskcore.db; the store for the run checks)  BUILD_ARGS (extra K=V, space-separated)
#        PROM_CHECK=1 also runs verify-prometheus.sh against the running container
#        SKIP_RUN=1 builds and inspects only (the broken-variant test uses it)
# Base images are made locally on first use (make-debian-base.sh, make-rust-builder.sh).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
export CONTAINERS_CONF=${CONTAINERS_CONF:-$HERE/containers.conf}
R=$(cd "$1" && pwd); DF=${2:-$R/Dockerfile}
IMG=${IMAGE:-localhost/taskcore:ci}; MAX=${MAX_SIZE_MB:-40}; STOPMAX=${STOP_MAX_S:-5}; PORT=${PORT:-18125}
STORE=${STORE:-sqlite:///data/taskcore.db}
WORK=${WORK:-/tmp/taskcore-deploy-work}; mkdir -p "$WORK"
PY=${VENV:-/tmp/containers-tools/venv}/bin/python
NAME=taskcore-verify-$$
fail=0; pass=0
ok()  { echo "ok   $*"; pass=$((pass+1)); }
bad() { echo "FAIL $*"; fail=$((fail+1)); }
finish() { echo "image: $pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit $?; }
ms() { echo $(( $(date +%s%N) / 1000000 )); }

# --- base images (no registry here): local stand-ins, made once ---
RUST_VERSION=$(awk -F= '/^ARG RUST_VERSION=/{print $2; exit}' "$DF")
if ! podman image exists "docker.io/library/rust:${RUST_VERSION}-slim-bookworm"; then
  podman image exists docker.io/library/debian:bookworm-slim || bash "$HERE/make-debian-base.sh" "$WORK" > "$WORK/make-debian-base.log" 2>&1 \
    || { tail -20 "$WORK/make-debian-base.log"; bad "make-debian-base.sh"; finish; }
  bash "$HERE/make-rust-builder.sh" "$WORK" > "$WORK/make-rust-builder.log" 2>&1 || { tail -20 "$WORK/make-rust-builder.log"; bad "make-rust-builder.sh"; finish; }
  podman image exists "docker.io/library/rust:${RUST_VERSION}-slim-bookworm" \
    || { bad "no rust:${RUST_VERSION}-slim-bookworm: the host toolchain is $(rustc --version | awk '{print $2}'); pin ARG RUST_VERSION to it"; finish; }
fi

# --- build (--format docker: the OCI format drops HEALTHCHECK) ---
rev=$(git -C "$R" rev-parse HEAD 2>/dev/null || echo unknown)
ver=$(awk -F'"' '/^version = /{print $2; exit}' "$R/Cargo.toml")
created=$(date -u +%Y-%m-%dT%H:%M:%SZ)
bargs=(--build-arg "REVISION=$rev" --build-arg "VERSION=$ver" --build-arg "CREATED=$created")
# buildah 1.28 reuses a cached LABEL layer even when a --build-arg it uses changed: --label is
# applied at commit time, so the labels are always this build's (checked below)
bargs+=(--label "org.opencontainers.image.revision=$rev" --label "org.opencontainers.image.version=$ver"
        --label "org.opencontainers.image.created=$created")
for kv in ${BUILD_ARGS:-}; do bargs+=(--build-arg "$kv"); done
s=$(ms)
if podman build --pull=never --network=host --format docker "${bargs[@]}" -f "$DF" -t "$IMG" "$R" > "$WORK/build.log" 2>&1; then
  ok "podman build ($(( ($(ms) - s) / 1000 )) s; log $WORK/build.log)"
else
  tail -30 "$WORK/build.log"; bad "podman build (log: $WORK/build.log)"; finish
fi

# --- the image as declared ---
insp() { podman image inspect "$IMG" --format "$1"; }
size=$(insp '{{.Size}}'); mb=$(awk -v s="$size" 'BEGIN{printf "%.1f", s/1000000}')
[ "$size" -le $(( MAX * 1000000 )) ] && ok "image size $mb MB <= $MAX MB" || bad "image size $mb MB > $MAX MB"
user=$(insp '{{.Config.User}}'); uid=${user%%:*}
if [[ "$uid" =~ ^[0-9]+$ ]] && [ "$uid" != 0 ]; then ok "image USER $user (numeric, non-root)"; else bad "image USER '${user}' is root or not numeric"; fi
hc=$(insp '{{if .Config.Healthcheck}}{{.Config.Healthcheck.Test}}{{end}}')
[[ "$hc" == *taskcore-server*healthcheck* ]] && ok "image HEALTHCHECK $hc" || bad "image HEALTHCHECK missing or not the binary's ('$hc')"
[ "$(insp '{{range $k, $v := .Config.ExposedPorts}}{{$k}} {{end}}')" = "5125/tcp " ] && ok "image EXPOSE 5125/tcp" || bad "image EXPOSE is not 5125/tcp"
[ "$(insp '{{.Config.StopSignal}}')" = SIGTERM ] && ok "image STOPSIGNAL SIGTERM" || bad "image STOPSIGNAL '$(insp '{{.Config.StopSignal}}')'"
[[ "$(insp '{{range $k, $v := .Config.Volumes}}{{$k}} {{end}}')" == *"/data "* ]] && ok "image VOLUME /data" || bad "image has no /data volume"
for l in version source revision; do
  v=$(insp "{{index .Config.Labels \"org.opencontainers.image.$l\"}}")
  [ -n "$v" ] && [ "$v" != "<no value>" ] && ok "label org.opencontainers.image.$l=$v" || bad "label org.opencontainers.image.$l missing"
done
[ "$(insp '{{index .Config.Labels "org.opencontainers.image.revision"}}')" = "$rev" ] && ok "revision label is this commit" || bad "revision label is not $rev (stale cache?)"
files=$(podman run --rm --network=host --entrypoint /taskcore-server "$IMG" --version 2>&1) && ok "binary runs in the image: $files" || bad "binary does not run in the image: $files"
[ -n "${SKIP_RUN:-}" ] && finish
# the dev stage (docker-compose.dev.yml's target) builds too: toolchain + the watch loop's command
if podman build --pull=never --network=host --format docker --target dev -f "$DF" -t "${IMG%:*}:dev-ci" "$R" > "$WORK/build-dev.log" 2>&1; then
  ok "podman build --target dev (docker-compose.dev.yml): CMD $(podman image inspect "${IMG%:*}:dev-ci" --format '{{.Config.Cmd}}')"
else tail -10 "$WORK/build-dev.log"; bad "podman build --target dev"; fi

# --- run it: read-only root, no capabilities, no privilege escalation, host network ---
cleanup() { podman rm -f -i -t 1 "$NAME" "$NAME-sqlite" >/dev/null 2>&1; true; }
trap cleanup EXIT
s=$(ms)
podman run -d --name "$NAME" --network=host --read-only --cap-drop=ALL --security-opt=no-new-privileges \
  -e TASKCORE_BIND=127.0.0.1:$PORT -e TASKCORE_STORE_URL="$STORE" "$IMG" > /dev/null 2> "$WORK/run.err" \
  || { cat "$WORK/run.err"; bad "podman run"; finish; }
pid=$(podman inspect "$NAME" --format '{{.State.Pid}}')
uid1=$(awk '/^Uid:/{print $2}' "/proc/$pid/status"); gid1=$(awk '/^Gid:/{print $2}' "/proc/$pid/status")
[ "$uid1" != 0 ] && ok "PID 1 runs as uid $uid1 gid $gid1" || bad "PID 1 runs as root"
[ "$(podman inspect "$NAME" --format '{{.HostConfig.ReadonlyRootfs}}')" = true ] && ok "root filesystem read-only" || bad "root filesystem writable"
downer=$(stat -c %u "/proc/$pid/root/data"); [ "$downer" = "$uid1" ] && ok "/data owned by uid $downer (writable volume)" || bad "/data owned by $downer, not $uid1"
healthy=; for i in $(seq 1 100); do podman healthcheck run "$NAME" >/dev/null 2>&1 && { healthy=1; break; }; sleep 0.1; done
hms=$(( $(ms) - s ))
[ -n "$healthy" ] && ok "HEALTHCHECK passes ($hms ms from podman run; status $(podman inspect "$NAME" --format '{{.State.Health.Status}}'))" \
  || { bad "HEALTHCHECK never passed"; podman logs "$NAME" 2>&1 | tail -10; finish; }
echo "$hms" > "$WORK/healthy_ms"
for u in /health /livez /readyz /metrics; do curl -fsS -o /dev/null "http://127.0.0.1:$PORT$u" && ok "GET $u" || bad "GET $u"; done
curl -fsS "http://127.0.0.1:$PORT/health"; echo
podman logs "$NAME" 2>&1 | head -2 | grep -q '^{' && ok "logs are JSON lines" || bad "logs are not JSON"
if "$PY" "$HERE/check_metric_names.py" "http://127.0.0.1:$PORT" --repo "$R" > "$WORK/metric_names.out" 2>&1; then
  ok "every metric name in the dashboard and alert rules is in the real /metrics"; grep WARNING "$WORK/metric_names.out"
else cat "$WORK/metric_names.out"; bad "metric names used by dashboard/rules missing from /metrics"; fi
rss=$(awk '/^VmRSS:/{print $2}' "/proc/$pid/status"); echo "$rss" > "$WORK/idle_rss_kb"; echo "     RSS of PID 1 at idle: $rss kB"

# --- the image's own default store: SQLite on /data (needs the sqlite feature) ---
podman run -d --name "$NAME-sqlite" --network=host --read-only --cap-drop=ALL --security-opt=no-new-privileges \
  -e TASKCORE_BIND=127.0.0.1:$((PORT+1)) "$IMG" > /dev/null 2>&1
sleep 1.5
if podman healthcheck run "$NAME-sqlite" >/dev/null 2>&1; then
  ok "default store (SQLite at /data/taskcore.db) serves on a read-only root"
else podman logs "$NAME-sqlite" 2>&1 | tail -5; bad "default store (SQLite at /data/taskcore.db) does not serve"; fi
podman rm -f -i -t 1 "$NAME-sqlite" >/dev/null 2>&1

# --- a real Prometheus scrapes this container with the project's config and rules ---
if [ -n "${PROM_CHECK:-}" ]; then
  if bash "$HERE/verify-prometheus.sh" "$R" "127.0.0.1:$PORT" > "$WORK/prometheus.out" 2>&1; then
    sed 's/^/     /' "$WORK/prometheus.out"; ok "real Prometheus scrapes the container's /metrics; rules load; every expression evaluates"
  else cat "$WORK/prometheus.out"; bad "Prometheus scrape of the container"; fi
fi

# --- graceful stop: SIGTERM with a request in flight ---
if "$PY" "$HERE/inflight.py" "http://127.0.0.1:$PORT" "podman stop -t $STOPMAX $NAME" --max-stop-ms $(( STOPMAX * 1000 )) > "$WORK/inflight.json"; then
  ok "SIGTERM stop with a request in flight: $(cat "$WORK/inflight.json") exit $(podman inspect "$NAME" --format '{{.State.ExitCode}}')"
else cat "$WORK/inflight.json"; bad "SIGTERM stop with a request in flight"; fi
finish
