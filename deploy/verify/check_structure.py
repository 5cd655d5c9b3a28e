#!/usr/bin/env python3
"""Structural assertions the schema validators cannot make: what the issue requires of the
Dockerfile's final stage, the merged compose files, the Grafana provisioning and the Kubernetes
manifests. Usage: check_structure.py REPO [--compose-json NAME=FILE ...]
  (run.sh passes the JSON of `docker compose config --format json` for each file combination)
Prints one line per check; exit 1 if any failed."""
import json
import pathlib
import re
import sys

import yaml

repo = pathlib.Path(sys.argv[1])
composed = {}
if "--compose-json" in sys.argv:
    for arg in sys.argv[sys.argv.index("--compose-json") + 1:]:
        name, path = arg.split("=", 1)
        composed[name] = json.loads(pathlib.Path(path).read_text())
fails = 0


def check(cond, what):
    global fails
    print(("ok   " if cond else "FAIL ") + what)
    fails += not cond


# --- Dockerfile: the last stage is what runs ---------------------------------------------------
df = (repo / "Dockerfile").read_text()
df = re.sub(r"\\\n", " ", df)
stages = re.split(r"(?im)^FROM\s+", df)[1:]
last = stages[-1] if stages else ""
lines = [line.strip() for line in last.splitlines() if line.strip() and not line.strip().startswith("#")]
def instr(name):
    return [line for line in lines if line.upper().startswith(name + " ")]
user = instr("USER")
uid = user[-1].split()[1].split(":")[0] if user else ""
check(bool(user) and uid.isdigit() and int(uid) != 0, f"Dockerfile final stage USER is a numeric non-root uid ({uid or 'none'})")
hc = instr("HEALTHCHECK")
check(bool(hc) and "healthcheck" in hc[-1] and "curl" not in hc[-1] and "NONE" not in hc[-1].upper().split(),
      "Dockerfile final stage HEALTHCHECK runs `taskcore-server healthcheck` (no curl)")
check(any("5125" in x for x in instr("EXPOSE")), "Dockerfile EXPOSE 5125")
check(any("SIGTERM" in x for x in instr("STOPSIGNAL")), "Dockerfile STOPSIGNAL SIGTERM")
check(any("/data" in x for x in instr("VOLUME")), "Dockerfile VOLUME /data")
labels = " ".join(instr("LABEL"))
check(all(f"org.opencontainers.image.{k}" in labels for k in ("version", "source", "revision")),
      "Dockerfile OCI labels version, source, revision")
check(re.search(r"(?im)^ARG\s+FEATURES=", df) is not None, "Dockerfile ARG FEATURES")
check(last.split()[0] == "scratch" or "distroless" in last.split()[0], f"runtime stage base is {last.split()[0]}")

# --- compose ------------------------------------------------------------------------------------
def svc(cfg, name):
    return cfg.get("services", {}).get(name, {})


def to_bytes(size):
    """Compose sizes: bytes as a number or string ("536870912"), or "512M", "512m", "1g"."""
    m = re.fullmatch(r"(?i)\s*(\d+(?:\.\d+)?)\s*([kmg]?)b?\s*", str(size or ""))
    return int(float(m.group(1)) * 1024 ** " kmg".index(m.group(2).lower() or " ")) if m else 0

if "base" in composed:
    b = svc(composed["base"], "taskcore")
    check(any(v.get("target") == "/data" for v in b.get("volumes", [])), "compose base: volume at /data")
    check(b.get("healthcheck", {}).get("test", [])[1:3] == ["/taskcore-server", "healthcheck"], "compose base: healthcheck")
    check(b.get("restart") in ("unless-stopped", "always"), "compose base: restart policy")
    check(b.get("read_only") is True and "ALL" in b.get("cap_drop", []), "compose base: read_only, cap_drop ALL")
if "dev" in composed:
    d = svc(composed["dev"], "taskcore")
    check(d.get("build", {}).get("target") == "dev", "compose dev: builds the toolchain (dev) target")
    check(any(v.get("target") == "/src" and v.get("type") == "bind" for v in d.get("volumes", [])), "compose dev: source mounted at /src")
    check("watch.sh" in " ".join(d.get("command") or []), "compose dev: rebuild loop (deploy/dev/watch.sh)")
    check("debug" in d.get("environment", {}).get("TASKCORE_LOG", ""), "compose dev: debug logs")
    profiles = {p for s in composed["dev"]["services"].values() for p in s.get("profiles", [])}
    check({"redis", "postgres"} <= profiles, f"compose dev: optional redis and postgres profiles ({sorted(profiles)})")
if "prod" in composed:
    c = composed["prod"]
    t = svc(c, "taskcore")
    dep = t.get("deploy", {})
    lim, res = dep.get("resources", {}).get("limits", {}), dep.get("resources", {}).get("reservations", {})
    check(dep.get("replicas", 1) >= 2, f"compose prod: replicas >= 2 ({dep.get('replicas')})")
    check(str(lim.get("memory")) in ("536870912", "512M", "512m") and float(lim.get("cpus", 0)) == 0.5,
          f"compose prod: limits 512M / 0.5 CPU ({lim})")
    check(bool(res.get("memory")) and bool(res.get("cpus")), f"compose prod: reservations ({res})")
    check(bool(dep.get("restart_policy")) and bool(t.get("restart")), "compose prod: restart policies")
    check(dep.get("update_config", {}).get("failure_action") == "rollback" and bool(dep.get("rollback_config")),
          "compose prod: rolling update with rollback")
    check(t.get("read_only") is True and t.get("cap_drop") == ["ALL"] and
          any("no-new-privileges" in s for s in t.get("security_opt", [])), "compose prod: read_only, cap_drop ALL, no-new-privileges")
    check(not t.get("ports"), "compose prod: replicas publish no host port (Traefik routes)")
    store = t.get("environment", {}).get("TASKCORE_STORE_URL", "")
    check(store.startswith(("redis://", "postgres://")), f"compose prod: shared store ({store})")
    r = svc(c, "redis")
    check("--appendonly" in r.get("command", []) and r["command"][r["command"].index("--appendonly") + 1] == "yes",
          "compose prod: Redis AOF on")
    check(any(v.get("target") == "/data" for v in r.get("volumes", [])), "compose prod: Redis data on a volume")
    lab = t.get("labels", {})
    check(lab.get("traefik.enable") == "true" and lab.get("traefik.http.services.taskcore.loadbalancer.server.port") == "5125",
          "compose prod: Traefik labels route to port 5125")
    check(lab.get("traefik.http.services.taskcore.loadbalancer.healthcheck.path") == "/readyz",
          "compose prod: Traefik health check on /readyz (healthy replicas only)")
    tr = svc(c, "traefik")
    check("--providers.docker.exposedbydefault=false" in tr.get("command", []), "compose prod: Traefik exposes labelled services only")
    # issue 16: TLS at Traefik, HTTP redirected, a rate limit, /metrics never routed, real clients
    tcmd = tr.get("command", [])
    check("--entrypoints.websecure.address=:443" in tcmd and "--entrypoints.websecure.http.tls=true" in tcmd,
          "compose prod: Traefik websecure entry point with TLS on :443")
    check("--entrypoints.web.http.redirections.entrypoint.to=websecure" in tcmd and
          "--entrypoints.web.http.redirections.entrypoint.scheme=https" in tcmd, "compose prod: HTTP redirected to HTTPS")
    check(any(a.startswith("--providers.file.") for a in tcmd) or any(".acme." in a for a in tcmd),
          "compose prod: certificates from a mounted file or ACME")
    tls_file = repo / "deploy/traefik/dynamic/tls.yml"
    tls_cfg = yaml.safe_load(tls_file.read_text()) if tls_file.exists() else {}
    cert = tls_cfg.get("tls", {}).get("stores", {}).get("default", {}).get("defaultCertificate", {})
    check(bool(cert.get("certFile")) and bool(cert.get("keyFile")), "compose prod: Traefik default certificate configured")
    check(lab.get("traefik.http.routers.taskcore.entrypoints") == "websecure" and lab.get("traefik.http.routers.taskcore.tls") == "true",
          "compose prod: the taskcore router serves HTTPS only")
    chain = (lab.get("traefik.http.routers.taskcore.middlewares") or "").split(",")
    limited = [m for m in chain if lab.get(f"traefik.http.middlewares.{m}.ratelimit.average")]
    check(bool(limited), f"compose prod: a rate-limit middleware on the router ({chain})")
    check("!PathPrefix(`/metrics`)" in (lab.get("traefik.http.routers.taskcore.rule") or "") and
          not any(k.startswith("traefik.http.routers.") and k.endswith(".rule") and "/metrics" in v and "!" not in v
                  for k, v in lab.items()), "compose prod: /metrics is not routed publicly")
    env = t.get("environment", {})
    check(env.get("TASKCORE_ROOM_CODE_LENGTH") == "10", f"compose prod: room codes of 10 ({env.get('TASKCORE_ROOM_CODE_LENGTH')})")
    edge_ip = (tr.get("networks", {}).get("edge") or {}).get("ipv4_address")
    check(bool(edge_ip) and env.get("TASKCORE_TRUSTED_PROXIES") == edge_ip,
          f"compose prod: the replicas trust exactly Traefik's address ({env.get('TASKCORE_TRUSTED_PROXIES')} vs {edge_ip})")
    rcmd = r.get("command", [])
    check("--maxmemory" in rcmd and rcmd[rcmd.index("--maxmemory-policy") + 1] == "noeviction" if "--maxmemory-policy" in rcmd else False,
          "compose prod: Redis maxmemory with noeviction (writes fail clearly, reads go on)")
    # the backup service (profile backup): a one-off export run from the host's scheduler, not a
    # replica; "the taskcore service" above is looked up by name, so the backup never stands in for it
    bk = svc(c, "backup")
    check(bool(bk), "compose prod: a backup service (with all profiles on)")
    if bk:
        check(bk.get("profiles") == ["backup"], f"compose prod: backup only in profile backup, never started by up ({bk.get('profiles')})")
        check(bk.get("image") == t.get("image") and not bk.get("build"), f"compose prod: backup runs the replicas' image ({bk.get('image')})")
        benv, tenv = bk.get("environment") or {}, t.get("environment") or {}
        same = ("TASKCORE_STORE_URL", "TASKCORE_REDIS_PREFIX", "TASKCORE_POSTGRES_SCHEMA")
        differ = [f"{k}: {benv.get(k)} vs {tenv.get(k)}" for k in same if benv.get(k) != tenv.get(k)]
        check(not differ and bool(benv.get("TASKCORE_STORE_URL")),
              f"compose prod: backup reads the replicas' store ({'; '.join(differ) or benv.get('TASKCORE_STORE_URL')})")
        store_host = re.sub(r"^[a-z+]+://(?:[^@/]*@)?([^:/?]+).*$", r"\1", benv.get("TASKCORE_STORE_URL", ""))
        bnets, tnets = set(bk.get("networks") or {"default": None}), set(t.get("networks") or {"default": None})
        check(bnets <= tnets and bool(bnets & set(svc(c, store_host).get("networks") or {"default": None})),
              f"compose prod: backup on the replicas' network with the store {store_host} ({sorted(bnets)})")
        cmd = bk.get("command") or []
        out = cmd[cmd.index("--output") + 1] if "--output" in cmd[:-1] else (cmd[cmd.index("-o") + 1] if "-o" in cmd[:-1] else "")
        mounts = {v.get("target"): v for v in bk.get("volumes", [])}
        check(cmd[:1] == ["export"] and out in mounts, f"compose prod: backup runs `export --output DIR` into a mount ({cmd})")
        m = mounts.get(out, {})
        check(m.get("type") in ("volume", "bind") and not m.get("read_only") and
              (m.get("type") != "bind" or m.get("bind", {}).get("create_host_path") is False),
              f"compose prod: backup directory is a writable volume or an existing host directory ({m.get('type')} {m.get('source')})")
        check(bk.get("read_only") is True and bk.get("cap_drop") == ["ALL"] and
              any("no-new-privileges" in o for o in bk.get("security_opt", [])), "compose prod: backup read_only, cap_drop ALL, no-new-privileges")
        buid = str(bk.get("user", "")).split(":")[0]
        check(buid.isdigit() and int(buid) != 0 and bk.get("user") == t.get("user"),
              f"compose prod: backup runs as the replicas' numeric non-root user ({bk.get('user')})")
        check(bk.get("restart") == "no", f"compose prod: backup restart \"no\" ({bk.get('restart')})")
        blim = bk.get("deploy", {}).get("resources", {}).get("limits", {})
        check(0 < to_bytes(blim.get("memory")) <= to_bytes(lim.get("memory")) and 0 < float(blim.get("cpus", 0)) <= float(lim.get("cpus", 0)),
              f"compose prod: backup limits no larger than a replica's ({blim})")
        check(not bk.get("ports") and not (bk.get("labels") or {}).get("traefik.enable") and
              bk.get("deploy", {}).get("replicas", 1) <= 1, "compose prod: backup is not a replica (no port, no Traefik route, one container)")
    mon = {n for n, s in c["services"].items() if "monitoring" in s.get("profiles", [])}
    check({"prometheus", "grafana"} <= mon, f"compose prod: monitoring profile has {sorted(mon)}")
    g = svc(c, "grafana")
    check(not any("PASSWORD" in k and not k.endswith("__FILE") for k in g.get("environment", {})),
          "compose prod: no Grafana password in the file (read from a secret file)")
    for name, s in c["services"].items():
        for k, v in (s.get("environment") or {}).items():
            if re.search(r"(?i)password|secret|token", k) and not k.endswith("__FILE") and v not in ("trust", None, ""):
                check(False, f"compose prod: {name} sets {k} inline")

# --- Grafana provisioning -----------------------------------------------------------------------
gp = repo / "monitoring/grafana"
ds = yaml.safe_load((gp / "provisioning/datasources/prometheus.yml").read_text())["datasources"]
uids = {d.get("uid") for d in ds}
check(all(d.get("url") and d.get("type") == "prometheus" for d in ds), "grafana: prometheus datasource with url")
prov = yaml.safe_load((gp / "provisioning/dashboards/taskcore.yml").read_text())["providers"]
check(all(p.get("options", {}).get("path") for p in prov), "grafana: dashboard provider with a path")
for dash in gp.glob("dashboards/*.json"):
    d = json.loads(dash.read_text())
    used = {t.get("datasource", {}).get("uid") for p in d["panels"] for t in p.get("targets", [])} | \
           {p.get("datasource", {}).get("uid") for p in d["panels"]}
    check(used <= uids, f"grafana: {dash.name} uses only provisioned datasources ({sorted(used)})")
    titles = " | ".join(p["title"].lower() for p in d["panels"])
    for want in ("request rate", "error rate", "latency", "in flight", "storage latency", "tasks created"):
        check(want in titles, f"grafana: {dash.name} has a '{want}' panel")

# --- Kubernetes -----------------------------------------------------------------------------------
docs = [d for f in sorted((repo / "deploy/k8s").glob("*.yaml")) for d in yaml.safe_load_all(f.read_text()) if d]
kinds = {d["kind"]: d for d in docs}
check({"Deployment", "Service", "PodDisruptionBudget"} <= set(kinds), f"k8s: kinds {sorted(kinds)}")
if "Deployment" in kinds:
    dep = kinds["Deployment"]
    pod = dep["spec"]["template"]["spec"]
    c = pod["containers"][0]
    check(c.get("livenessProbe", {}).get("httpGet", {}).get("path") == "/livez", "k8s: liveness probe on /livez")
    check(c.get("readinessProbe", {}).get("httpGet", {}).get("path") == "/readyz", "k8s: readiness probe on /readyz")
    r = c.get("resources", {})
    check(bool(r.get("limits", {}).get("memory")) and bool(r.get("requests", {}).get("cpu")), "k8s: resources requests and limits")
    sc = c.get("securityContext", {})
    check(sc.get("runAsNonRoot") is True and sc.get("readOnlyRootFilesystem") is True and
          sc.get("capabilities", {}).get("drop") == ["ALL"] and sc.get("allowPrivilegeEscalation") is False,
          "k8s: securityContext runAsNonRoot, readOnlyRootFilesystem, drop ALL, no privilege escalation")
    check(dep["spec"].get("replicas", 1) >= 2, "k8s: replicas >= 2")
    kenv = {e["name"]: e.get("value") for e in c.get("env", [])}
    check(kenv.get("TASKCORE_ROOM_CODE_LENGTH") == "10", f"k8s: room codes of 10 ({kenv.get('TASKCORE_ROOM_CODE_LENGTH')})")
    sel = dep["spec"]["selector"]["matchLabels"]
    labels = dep["spec"]["template"]["metadata"]["labels"]
    check(all(labels.get(k) == v for k, v in sel.items()), "k8s: Deployment selector matches its pod labels")
    for kind in ("Service", "PodDisruptionBudget"):
        if kind in kinds:
            s = kinds[kind]["spec"]["selector"]
            s = s.get("matchLabels", s)
            check(all(labels.get(k) == v for k, v in s.items()), f"k8s: {kind} selector matches the pods")
    ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
    check(ports.get("http") == 5125, "k8s: container port http = 5125")
    grace = pod.get("terminationGracePeriodSeconds", 30)
    env = {e["name"]: e.get("value") for e in c.get("env", [])}
    pre = c.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
    check(int(env.get("TASKCORE_SHUTDOWN_GRACE") or 10) + pre < grace,
          f"k8s: preStop ({pre}s) + shutdown grace fit in terminationGracePeriodSeconds ({grace}s)")
# the optional backup set (kubectl apply -f deploy/k8s/backup-pvc.yaml -f deploy/k8s/backup-cronjob.yaml)
check({"CronJob", "PersistentVolumeClaim"} <= set(kinds), "k8s: backup CronJob and its PersistentVolumeClaim")
if "CronJob" in kinds and "Deployment" in kinds:
    cj = kinds["CronJob"]
    spec = cj["spec"]
    job = spec.get("jobTemplate", {}).get("spec", {})
    bpod = job.get("template", {}).get("spec", {})
    bc = (bpod.get("containers") or [{}])[0]
    dpod = kinds["Deployment"]["spec"]["template"]["spec"]
    dc = dpod["containers"][0]
    sched = str(spec.get("schedule", "")).split()
    check(spec.get("schedule") in ("@daily", "@midnight") or
          (len(sched) == 5 and all(f.isdigit() for f in sched[:2]) and sched[2:] == ["*", "*", "*"]),
          f"k8s: backup CronJob runs daily ({spec.get('schedule')})")
    check(spec.get("concurrencyPolicy") == "Forbid", f"k8s: backup CronJob concurrencyPolicy Forbid ({spec.get('concurrencyPolicy')})")
    check(all(isinstance(spec.get(k), int) for k in ("successfulJobsHistoryLimit", "failedJobsHistoryLimit")) and
          all(isinstance(job.get(k), int) for k in ("backoffLimit", "activeDeadlineSeconds")),
          "k8s: backup CronJob history limits, backoffLimit, activeDeadlineSeconds")
    psc, csc = bpod.get("securityContext", {}), bc.get("securityContext", {})
    check(psc == dpod.get("securityContext") and psc.get("runAsNonRoot") is True and psc.get("runAsUser") == 65532 and
          psc.get("runAsGroup") == 65532 and psc.get("seccompProfile", {}).get("type") == "RuntimeDefault" and
          bpod.get("automountServiceAccountToken") is False,
          "k8s: backup securityContext (pod) as the Deployment's: runAsNonRoot, 65532, RuntimeDefault seccomp, no SA token")
    check(csc == dc.get("securityContext") and csc.get("runAsNonRoot") is True and csc.get("readOnlyRootFilesystem") is True and
          csc.get("capabilities", {}).get("drop") == ["ALL"] and csc.get("allowPrivilegeEscalation") is False,
          "k8s: backup securityContext (container) as the Deployment's: readOnlyRootFilesystem, drop ALL, no privilege escalation")
    def store_ref(container):
        return next((e.get("valueFrom", {}).get("secretKeyRef") for e in container.get("env", []) if e["name"] == "TASKCORE_STORE_URL"), None)
    check(store_ref(bc) == store_ref(dc) == {"name": "taskcore-store", "key": "url"},
          f"k8s: backup reads TASKCORE_STORE_URL from the Deployment's secret ({store_ref(bc)})")
    check(bc.get("image") == dc.get("image"), f"k8s: backup runs the Deployment's image ({bc.get('image')})")
    args = bc.get("args") or []
    out = args[args.index("--output") + 1] if "--output" in args[:-1] else ""
    mount = next((v for v in bc.get("volumeMounts", []) if v.get("mountPath") == out), {})
    vol = next((v for v in bpod.get("volumes", []) if v.get("name") == mount.get("name")), {})
    claim = vol.get("persistentVolumeClaim", {}).get("claimName")
    pvcs = {d["metadata"]["name"] for d in docs if d["kind"] == "PersistentVolumeClaim"}
    check(args[:1] == ["export"] and bool(mount) and not mount.get("readOnly") and claim in pvcs,
          f"k8s: backup runs `export --output DIR` onto the claim {claim} ({args})")
    r = bc.get("resources", {})
    check(bool(r.get("limits", {}).get("memory")) and bool(r.get("requests", {}).get("cpu")), "k8s: backup resources requests and limits")
    check(bpod.get("restartPolicy") in ("Never", "OnFailure"), f"k8s: backup pod restartPolicy ({bpod.get('restartPolicy')})")
    blabels = job.get("template", {}).get("metadata", {}).get("labels", {})
    for kind in ("Service", "PodDisruptionBudget"):
        if kind in kinds:
            s = kinds[kind]["spec"]["selector"]
            s = s.get("matchLabels", s)
            check(not all(blabels.get(k) == v for k, v in s.items()), f"k8s: the {kind} does not select the backup pods")
print(f"structure: {fails} failed")
sys.exit(1 if fails else 0)
