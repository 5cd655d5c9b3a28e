#!/usr/bin/env bash
# The dev loop of docker-compose.dev.yml (deploy/dev/watch.sh), run on the host with the same
# toolchain the dev image carries: it serves, rebuilds + restarts after a source change, keeps the
# old server when a change does not compile, and stops the server on SIGTERM.
# Works on a copy of the repo. Usage: verify-dev-watch.sh REPO   (--deep only: a debug build, minutes cold)
set -uo pipefail
R=$(cd "$1" && pwd)
T=$(mktemp -d /tmp/taskcore-devwatch.XXXXXX)
export CARGO_TARGET_DIR=${DEV_TARGET:-/var/tmp/taskcore-deploy-devtarget}
export TASKCORE_BIND=127.0.0.1:18150 TASKCORE_STORE_URL=memory: WATCH_INTERVAL=1 WATCH_STAMP=$T/stamp
(cd "$R" && tar --exclude=./target --exclude=./.git -cf - .) | tar -C "$T" -xf -
cd "$T"
sh deploy/dev/watch.sh > "$T/watch.log" 2>&1 & W=$!
trap 'kill -TERM $W 2>/dev/null; wait $W 2>/dev/null; rm -rf "$T"' EXIT
fail=0
pids() { grep -o 'running (pid [0-9]*)' "$T/watch.log" | grep -o '[0-9]*'; }
wait_for() { for _ in $(seq 1 "$2"); do eval "$1" && return 0; sleep 1; done; return 1; }
if wait_for 'curl -fsS -o /dev/null http://127.0.0.1:18150/health 2>/dev/null' 900; then
  echo "ok   watch.sh built and serves /health"
else echo "FAIL watch.sh never served"; tail -20 "$T/watch.log"; exit 1; fi
first=$(pids | tail -1)
echo "// changed by verify-dev-watch" >> taskcore-http/src/lib.rs
if wait_for '[ "$(pids | wc -l)" -ge 2 ] && curl -fsS -o /dev/null http://127.0.0.1:18150/health 2>/dev/null' 600; then
  echo "ok   a source change rebuilt and restarted the server (pid $first -> $(pids | tail -1))"
else echo "FAIL no restart after a source change"; tail -20 "$T/watch.log"; fail=1; fi
n=$(pids | wc -l)
echo "this does not compile" >> taskcore-http/src/lib.rs
if wait_for 'grep -q "build failed" "$T/watch.log"' 600 && curl -fsS -o /dev/null http://127.0.0.1:18150/health && [ "$(pids | wc -l)" -eq "$n" ]; then
  echo "ok   a change that does not compile keeps the previous server serving"
else echo "FAIL broken change handling"; tail -20 "$T/watch.log"; fail=1; fi
kill -TERM $W; wait $W 2>/dev/null
if ! curl -fsS -o /dev/null http://127.0.0.1:18150/health 2>/dev/null; then echo "ok   SIGTERM stops the loop and the server"
else echo "FAIL server still up after SIGTERM"; fail=1; fi
exit $fail
