#!/usr/bin/env python3
"""Write a copy of monitoring/prometheus.yml for a throw-away Prometheus on loopback: the taskcore
job's service discovery (compose DNS) becomes static loopback targets, other jobs are dropped,
intervals shortened; rule files are copied beside it unchanged.
Usage: prom_ci_config.py SRC_PROMETHEUS_YML DEST_DIR TARGET[,TARGET...]"""
import pathlib
import shutil
import sys

import yaml

src, dest, targets = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3].split(",")
cfg = yaml.safe_load(src.read_text())
jobs = [j for j in cfg["scrape_configs"] if j["job_name"] == "taskcore"]
if len(jobs) != 1:
    sys.exit("prometheus.yml has no (single) job 'taskcore'")
job = jobs[0]
for k in [k for k in job if k.endswith("_sd_configs") or k == "static_configs"]:
    del job[k]
job["static_configs"] = [{"targets": targets}]
job["scrape_interval"] = "1s"
cfg["scrape_configs"] = [job]
cfg["global"]["evaluation_interval"] = "1s"
dest.mkdir(parents=True, exist_ok=True)
for rf in cfg.get("rule_files", []):
    shutil.copy(src.parent / rf, dest / rf)
(dest / "prometheus.yml").write_text(yaml.safe_dump(cfg, sort_keys=False))
