#!/bin/sh
# Development loop for docker-compose.dev.yml (cargo-watch is not in the toolchain image, and
# `docker compose watch` would rebuild a whole image per change): build taskcore-server (debug),
# run it, and every WATCH_INTERVAL seconds look for a source file newer than the last build; on a
# change rebuild and, when the build succeeds, restart the server (a failed build keeps the old
# one serving and prints the compiler errors). SIGTERM stops the server gracefully and exits.
# Run from the workspace root (the dev container mounts it at /src). Also works on a host.
# env: FEATURES (default sqlite,redis,postgres), WATCH_INTERVAL (default 2), CARGO_TARGET_DIR (default ./target)
set -u
FEATURES=${FEATURES:-sqlite,redis,postgres}
TARGET=${CARGO_TARGET_DIR:-target}
STAMP=${WATCH_STAMP:-$TARGET/.watch-stamp}
pid=

stop_server() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  fi
  pid=
}

build_and_restart() {
  if cargo build -p taskcore-http --features "$FEATURES" --bin taskcore-server; then
    stop_server
    "$TARGET/debug/taskcore-server" serve &
    pid=$!
    echo "watch: taskcore-server running (pid $pid)"
  else
    echo "watch: build failed; the previous server (if any) keeps running"
  fi
}

trap 'stop_server; exit 0' TERM INT
mkdir -p "$TARGET"
touch "$STAMP"
build_and_restart
while :; do
  sleep "${WATCH_INTERVAL:-2}" &
  wait $!
  changed=$(find . \( -path ./target -o -path ./.git -o -path "./$TARGET" \) -prune -o -newer "$STAMP" -type f \
    \( -name '*.rs' -o -name '*.toml' -o -name Cargo.lock -o -name '*.lua' -o -path '*/ui/*' \) -print 2>/dev/null | head -1)
  if [ -n "$changed" ]; then
    touch "$STAMP"
    echo "watch: $changed changed; rebuilding"
    build_and_restart
  fi
done
