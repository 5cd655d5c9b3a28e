#!/usr/bin/env python3
"""Every metric name used by the Grafana dashboard and the Prometheus alert rules must exist in
the server's real /metrics output (histograms may be used as NAME_bucket/_sum/_count).

Usage: check_metric_names.py BASE_URL [--repo DIR]
Drives a little traffic first (room, task, completion, health, readiness) so that every metric the
server registers lazily has been touched, then scrapes BASE_URL/metrics and compares.
Also fails when a name of taskcore-http's ALL_METRICS is not exported after that traffic.
Exit 1 with the missing names listed. Standard library + PyYAML only.
"""
import json
import pathlib
import re
import sys
import urllib.request

import yaml

# PromQL words that look like metric names but are not
FUNCTIONS_AND_KEYWORDS = {
    "sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk", "bottomk", "quantile", "count_values",
    "group", "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless",
    "offset", "rate", "irate", "increase", "delta", "idelta", "deriv", "histogram_quantile", "abs", "absent",
    "absent_over_time", "ceil", "floor", "round", "clamp_min", "clamp_max", "clamp", "label_replace",
    "label_join", "vector", "scalar", "time", "timestamp", "sort", "sort_desc", "changes", "resets",
    "avg_over_time", "max_over_time", "min_over_time", "sum_over_time", "count_over_time", "last_over_time",
    "quantile_over_time", "predict_linear", "inf", "nan", "le", "atan2",
}
# series Prometheus itself makes, not the server
SYNTHETIC = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}


def metric_names_in(expr: str) -> set[str]:
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)          # string literals (label values)
    e = re.sub(r"\{[^}]*\}", "", e)                          # label matchers
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)  # label lists
    e = re.sub(r"\[[^\]]*\]", "", e)                         # range selectors
    e = re.sub(r"\$\{?\w+\}?", "", e)                        # Grafana variables
    names = set()
    for m in re.finditer(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\()?", e):
        word, call = m.group(1), m.group(2)
        if call or word in FUNCTIONS_AND_KEYWORDS:
            continue
        names.add(word)
    return names


def exprs_in(repo: pathlib.Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for dash in sorted((repo / "monitoring/grafana/dashboards").glob("*.json")):
        d = json.loads(dash.read_text())
        for panel in d.get("panels", []):
            for t in panel.get("targets", []):
                if "expr" in t:
                    found.setdefault(f"{dash.name}: {panel.get('title')}", []).append(t["expr"])
    for rules in sorted((repo / "monitoring").glob("alerts*.yml")):
        d = yaml.safe_load(rules.read_text())
        for g in d["groups"]:
            for r in g["rules"]:
                found.setdefault(f"{rules.name}: {r.get('alert') or r.get('record')}", []).append(r["expr"])
    return found


def request(base: str, method: str, path: str, body=None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"} if data else {})
    with urllib.request.urlopen(req, timeout=10) as r:
        raw = r.read()
        return json.loads(raw) if raw and r.headers.get_content_type() == "application/json" else {}


def exported_names(text: str) -> set[str]:
    names = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            names.add(line.split()[2])
        elif line and not line.startswith("#"):
            names.add(re.split(r"[{\s]", line, maxsplit=1)[0])
    return names


def all_metrics_in_source(repo: pathlib.Path) -> set[str]:
    src = (repo / "taskcore-http/src/metrics.rs").read_text()
    consts = dict(re.findall(r'pub const (\w+): &str = "([^"]+)"', src))
    block = re.search(r"ALL_METRICS: &\[&str\] = &\[(.*?)\];", src, re.S).group(1)
    return {consts[c] for c in re.findall(r"\w+", block)}


def main() -> int:
    base = sys.argv[1].rstrip("/")
    repo = pathlib.Path(sys.argv[sys.argv.index("--repo") + 1] if "--repo" in sys.argv else ".")
    # traffic that touches every lazily registered metric
    code = request(base, "POST", "/rooms", {"username": "metrics-check"})["room_code"]
    number = request(base, "POST", f"/tasks?room={code}", {"title": "metric names"})["task"]["id"]
    request(base, "POST", f"/tasks/{number}/complete?room={code}", {})
    request(base, "GET", f"/tasks?room={code}")
    request(base, "GET", "/health")
    request(base, "GET", "/readyz")
    with urllib.request.urlopen(base + "/metrics", timeout=10) as r:
        exported = exported_names(r.read().decode())

    def exists(name: str) -> bool:
        if name in exported or name in SYNTHETIC:
            return True
        return any(name == f"{h}{s}" for h in exported for s in ("_bucket", "_sum", "_count")) or \
            any(f"{name}{s}" in exported for s in ("_bucket", "_sum", "_count"))

    missing, used = [], set()
    for where, exprs in exprs_in(repo).items():
        for expr in exprs:
            for name in sorted(metric_names_in(expr)):
                used.add(name)
                if not exists(name):
                    missing.append(f"{where}: '{name}' is not in /metrics")
    # ALL_METRICS is the server's own list: a name there that /metrics never shows is a server bug.
    source = all_metrics_in_source(repo)
    for name in sorted(source):
        if not exists(name):
            missing.append(f"taskcore-http ALL_METRICS: '{name}' is not in /metrics after traffic")
    print(f"metric names used by dashboard + alerts: {', '.join(sorted(used))}")
    print(f"names exported by /metrics: {len(exported)}; ALL_METRICS: {len(source)}")
    if not used:
        missing.append("no metric name found in the dashboard and rules (parser broken?)")
    for m in missing:
        print("MISSING", m)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
