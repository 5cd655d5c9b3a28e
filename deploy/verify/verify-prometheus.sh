#!/usr/bin/env bash
# A real Prometheus (Debian's) scrapes the running server's /metrics with the project's config
# (taskcore job rewritten to the loopback TARGETS) and rules; then every alert rule is loaded and
# every dashboard/alert expression is evaluated by that Prometheus (valid PromQL, over real data).
# Usage: verify-prometheus.sh REPO TARGET[,TARGET...]   e.g. verify-prometheus.sh . 127.0.0.1:18125
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
R=$(cd "$1" && pwd); TARGETS=$2; PORT=${PROM_PORT:-19090}
PY=${VENV:-/tmp/containers-tools/venv}/bin/python
T=$(mktemp -d /tmp/taskcore-prom.XXXXXX)
"$PY" "$HERE/prom_ci_config.py" "$R/monitoring/prometheus.yml" "$T" "$TARGETS"
promtool check config "$T/prometheus.yml" >/dev/null
prometheus --config.file="$T/prometheus.yml" --storage.tsdb.path="$T/data" \
  --web.listen-address=127.0.0.1:$PORT --log.level=warn > "$T/prom.log" 2>&1 &
PP=$!
trap 'set +e; kill $PP 2>/dev/null; wait $PP 2>/dev/null; rm -rf "$T"' EXIT
API=http://127.0.0.1:$PORT/api/v1
want=$(echo "$TARGETS" | tr ',' '\n' | wc -l)
up=0
for i in $(seq 1 60); do
  sleep 1
  up=$(curl -fsS "$API/targets" 2>/dev/null | "$PY" -c '
import json,sys; print(sum(t["health"]=="up" for t in json.load(sys.stdin)["data"]["activeTargets"] if t["labels"]["job"]=="taskcore"))' 2>/dev/null || echo 0)
  [ "$up" -ge "$want" ] && break
done
[ "$up" -ge "$want" ] || { echo "FAIL prometheus: $up/$want taskcore targets up"; cat "$T/prom.log"; curl -fsS "$API/targets"; exit 1; }
echo "ok   prometheus scrapes $up/$want taskcore targets ($TARGETS) after ${i}s"
# a few more scrapes so that rate() has two points
sleep 3
"$PY" - "$API" "$R" <<'PYEOF'
import json, pathlib, sys, urllib.parse, urllib.request
import yaml
api, repo = sys.argv[1], pathlib.Path(sys.argv[2])
def get(path, **q):
    with urllib.request.urlopen(f"{api}/{path}?{urllib.parse.urlencode(q)}", timeout=10) as r:
        return json.load(r)
rules = get("rules")["data"]["groups"]
loaded = {r["name"] for g in rules for r in g["rules"]}
declared = {r["alert"] for g in yaml.safe_load((repo / "monitoring/alerts.yml").read_text())["groups"] for r in g["rules"]}
bad = 0
if declared - loaded:
    print(f"FAIL alert rules not loaded: {sorted(declared - loaded)}"); bad += 1
else:
    print(f"ok   {len(loaded)} alert rules loaded: {', '.join(sorted(loaded))}")
exprs = []
for d in (repo / "monitoring/grafana/dashboards").glob("*.json"):
    for p in json.loads(d.read_text())["panels"]:
        exprs += [(f"panel '{p['title']}'", t["expr"]) for t in p.get("targets", [])]
for g in yaml.safe_load((repo / "monitoring/alerts.yml").read_text())["groups"]:
    exprs += [(f"alert {r['alert']}", r["expr"]) for r in g["rules"]]
empty = []
for where, e in exprs:
    q = e.replace("$__rate_interval", "1m").replace("$__interval", "15s")
    try:
        res = get("query", query=q)
    except Exception as err:  # HTTP 400: invalid PromQL
        print(f"FAIL {where}: {err}: {q}"); bad += 1; continue
    if res["status"] != "success":
        print(f"FAIL {where}: {res}"); bad += 1
    elif not res["data"]["result"]:
        empty.append(where)
print(f"ok   {len(exprs)} dashboard/alert expressions evaluated by Prometheus ({len(exprs) - len(empty)} with data now; "
      f"empty: {', '.join(empty) or 'none'})" if not bad else f"FAIL {bad} expressions")
up = get("query", query='taskcore_store_up{job="taskcore"}')["data"]["result"]
print(f"     taskcore_store_up as scraped: {[(s['metric']['instance'], s['value'][1]) for s in up]}")
sys.exit(1 if bad or not up else 0)
PYEOF
