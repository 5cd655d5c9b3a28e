#!/usr/bin/env python3
"""Structural assertions on the Redis Cluster option: docker-compose.redis-cluster.yml (merged with
the base and prod files), deploy/k8s/redis-cluster/ (kustomization, StatefulSet, Services, PDB,
init Job, generated secret) and the redis.conf and init script both share.
Usage: check_redis_cluster.py REPO [--compose-json FILE]
  (FILE: `docker compose -f docker-compose.yml -f docker-compose.prod.yml
   -f docker-compose.redis-cluster.yml --profile '*' config --format json`)
Prints one line per check; exit 1 if any failed."""
import json
import pathlib
import re
import sys
import urllib.parse

import yaml

repo = pathlib.Path(sys.argv[1])
compose = None
if "--compose-json" in sys.argv:
    compose = json.loads(pathlib.Path(sys.argv[sys.argv.index("--compose-json") + 1]).read_text())
K = repo / "deploy/k8s/redis-cluster"
fails = 0


def check(cond, what):
    global fails
    print(("ok   " if cond else "FAIL ") + what)
    fails += not cond


def to_bytes(size):
    """Compose / Kubernetes / redis.conf sizes: 536870912, "512M", "512Mi", "300mb", "1g"."""
    m = re.fullmatch(r"(?i)\s*(\d+(?:\.\d+)?)\s*([kmg]?)(?:i|b)?\s*", str(size or ""))
    return int(float(m.group(1)) * 1024 ** " kmg".index(m.group(2).lower() or " ")) if m else 0


def redis_settings(args):
    """redis.conf (the shared file) with `--name value` options given after it on the command line
    applied on top, as redis-server does: {name: value}."""
    conf = {}
    for line in (K / "redis.conf").read_text().splitlines():
        parts = line.split(None, 1)
        if parts and not parts[0].startswith("#"):
            conf[parts[0].lower()] = parts[1].strip() if len(parts) > 1 else ""
    i = 0
    while i < len(args):
        if args[i].startswith("--"):
            conf[args[i][2:].lower()] = args[i + 1] if i + 1 < len(args) else ""
            i += 2
        else:
            i += 1
    return conf


def node_settings(where, nodes):
    """The settings every node must run with; `nodes`: {name: effective settings}."""
    def every(pred):
        return [n for n, s in nodes.items() if not pred(s)]
    bad = every(lambda s: s.get("cluster-enabled") == "yes")
    check(not bad, f"{where}: every node cluster-enabled yes{' (not: ' + ', '.join(bad) + ')' if bad else ''}")
    bad = every(lambda s: s.get("appendonly") == "yes")
    check(not bad, f"{where}: every node appendonly yes (AOF){' (not: ' + ', '.join(bad) + ')' if bad else ''}")
    bad = every(lambda s: s.get("appendfsync") in ("always", "everysec"))
    check(not bad, f"{where}: every node appendfsync always or everysec{' (not: ' + ', '.join(bad) + ')' if bad else ''}")
    bad = every(lambda s: s.get("cluster-node-timeout", "").isdigit() and 1000 <= int(s["cluster-node-timeout"]) <= 15000)
    check(not bad, f"{where}: every node cluster-node-timeout of a few seconds (1-15 s){' (not: ' + ', '.join(bad) + ')' if bad else ''}")
    bad = every(lambda s: s.get("dir") == "/data" and "/" not in s.get("cluster-config-file", "/"))
    check(not bad, f"{where}: every node keeps nodes.conf and the AOF in /data (the volume){' (not: ' + ', '.join(bad) + ')' if bad else ''}")
    bad = every(lambda s: to_bytes(s.get("maxmemory")) > 0 and s.get("maxmemory-policy") == "noeviction")
    check(not bad, f"{where}: every node maxmemory with noeviction{' (not: ' + ', '.join(bad) + ')' if bad else ''}")


def store_url(where, url, seeds_expected, prefix_env=None):
    """The cluster URL the server is given: scheme, seeds, replica_acks, prefix."""
    u = urllib.parse.urlsplit(url or "")
    check(u.scheme == "redis+cluster", f"{where}: store URL scheme redis+cluster ({u.scheme or url!r})")
    q = urllib.parse.parse_qs(u.query)
    acks = (q.get("replica_acks") or ["0"])[-1]
    check(acks.isdigit() and int(acks) >= 1, f"{where}: store URL replica_acks >= 1 (a failover loses no acknowledged write) ({acks})")
    prefix = (q.get("prefix") or [None])[-1]
    check(bool(prefix) and (prefix_env is None or prefix == prefix_env),
          f"{where}: store URL prefix set{' and equal to TASKCORE_REDIS_PREFIX' if prefix_env else ''} ({prefix})")
    hosts = u.netloc.rsplit("@", 1)[-1].split(",") if u.netloc else []
    check(len(hosts) >= 2 and set(hosts) <= set(seeds_expected),
          f"{where}: store URL seeds are cluster nodes ({','.join(hosts)})")


# --- the shared files -----------------------------------------------------------------------------
init_sh = (K / "cluster-init.sh").read_text()
code = [line.split("#", 1)[0] for line in init_sh.splitlines()]
create = next((i for i, line in enumerate(code) if "--cluster create" in line), None)
guard = next((i for i, line in enumerate(code) if "cluster_slots_assigned" in line), None)
exit0 = next((i for i, line in enumerate(code) if guard is not None and i > guard and re.search(r"\bexit 0\b", line)), None)
check(create is not None and guard is not None and exit0 is not None and guard < exit0 < create,
      "cluster-init.sh: idempotence guard (a node with all slots assigned -> exit 0) before `redis-cli --cluster create`")
check(create is not None and "--cluster-yes" in code[create] and "--cluster-replicas" in code[create],
      "cluster-init.sh: `--cluster create … --cluster-replicas N --cluster-yes` (never asks)")

# --- compose ----------------------------------------------------------------------------------------
if compose is not None:
    svcs = compose.get("services", {})
    nodes = {n: s for n, s in svcs.items()
             if any(str(v.get("source", "")).endswith("deploy/k8s/redis-cluster/redis.conf") for v in s.get("volumes", []))}
    check(len(nodes) == 6, f"compose redis-cluster: six nodes on deploy/k8s/redis-cluster/redis.conf ({sorted(nodes)})")
    eff = {}
    for n, s in nodes.items():
        cmd = s.get("command") or []
        conf_at = next((i for i, a in enumerate(cmd) if a.endswith("redis.conf")), None)
        mounted = next((v.get("target") for v in s.get("volumes", []) if str(v.get("source", "")).endswith("redis.conf")), None)
        check(cmd[:1] == ["redis-server"] and conf_at is not None and cmd[conf_at] == mounted,
              f"compose redis-cluster: {n} runs redis-server on the mounted redis.conf")
        eff[n] = redis_settings(cmd[conf_at + 1:] if conf_at is not None else [])
    node_settings("compose redis-cluster", eff)
    nets = set()
    for n, s in nodes.items():
        uid = str(s.get("user", "")).split(":")[0]
        lim = s.get("deploy", {}).get("resources", {}).get("limits", {})
        hard = (uid.isdigit() and int(uid) != 0 and s.get("read_only") is True and s.get("cap_drop") == ["ALL"] and
                any("no-new-privileges" in o for o in s.get("security_opt", [])))
        check(hard, f"compose redis-cluster: {n} non-root numeric user, read_only, cap_drop ALL, no-new-privileges ({s.get('user')})")
        check(to_bytes(lim.get("memory")) > to_bytes(eff[n].get("maxmemory")) > 0 and float(lim.get("cpus") or 0) > 0,
              f"compose redis-cluster: {n} limits (memory above maxmemory {eff[n].get('maxmemory')}) ({lim})")
        hc = " ".join(s.get("healthcheck", {}).get("test", []))
        check("redis-cli" in hc and "ping" in hc and s.get("restart") in ("unless-stopped", "always"),
              f"compose redis-cluster: {n} health check (redis-cli ping) and restart policy")
        data = [v for v in s.get("volumes", []) if v.get("target") == "/data"]
        check(len(data) == 1 and data[0].get("type") == "volume" and data[0].get("source") not in
              {v.get("source") for o, t in nodes.items() if o != n for v in t.get("volumes", []) if v.get("target") == "/data"},
              f"compose redis-cluster: {n} AOF on its own volume at /data")
        addr = {k: (v or {}).get("ipv4_address") for k, v in (s.get("networks") or {}).items()}
        fixed = [a for a in addr.values() if a]
        check(len(fixed) == 1 and eff[n].get("cluster-announce-ip") == fixed[0],
              f"compose redis-cluster: {n} announces its fixed address ({eff[n].get('cluster-announce-ip')} vs {fixed})")
        nets |= {k for k, a in addr.items() if a}
    ips = [eff[n].get("cluster-announce-ip") for n in nodes]
    check(len(set(ips)) == len(ips) == len(nodes), f"compose redis-cluster: the nodes' addresses are distinct ({ips})")
    check(len(nets) == 1, f"compose redis-cluster: the nodes share one network ({sorted(nets)})")
    seeds = {f"{n}:{eff[n].get('port', '6379')}" for n in nodes}

    inits = {n: s for n, s in svcs.items() if any("cluster-init.sh" in str(a) for a in (s.get("entrypoint") or []) + (s.get("command") or []))}
    check(len(inits) == 1, f"compose redis-cluster: one init service running cluster-init.sh ({sorted(inits)})")
    init_name, init = next(iter(inits.items()), ("", {}))
    if init:
        dep = init.get("depends_on") or {}
        check(set(nodes) <= set(dep) and all(dep[n].get("condition") == "service_healthy" for n in nodes),
              f"compose redis-cluster: {init_name} waits for every node to be healthy")
        check(set(init.get("command") or []) == seeds, f"compose redis-cluster: {init_name} is given every node ({init.get('command')})")
        reps = str((init.get("environment") or {}).get("REDIS_CLUSTER_REPLICAS", "1"))
        check(reps == "1" and len(nodes) == 3 * (int(reps) + 1),
              f"compose redis-cluster: 3 masters + 3 replicas ({len(nodes)} nodes, {reps} replica per master)")
        check(init.get("restart") == "no" and not init.get("deploy", {}).get("replicas", 1) > 1,
              f"compose redis-cluster: {init_name} is one-shot (restart \"no\") ({init.get('restart')})")
        mounted = [v for v in init.get("volumes", []) if str(v.get("source", "")).endswith("deploy/k8s/redis-cluster/cluster-init.sh")]
        check(len(mounted) == 1 and mounted[0].get("read_only") is True, f"compose redis-cluster: {init_name} runs the repo's cluster-init.sh, read-only")
        uid = str(init.get("user", "")).split(":")[0]
        check(uid.isdigit() and int(uid) != 0 and init.get("read_only") is True and init.get("cap_drop") == ["ALL"] and
              bool(init.get("deploy", {}).get("resources", {}).get("limits")),
              f"compose redis-cluster: {init_name} non-root, read_only, cap_drop ALL, limits")
        check(bool(nets & set(init.get("networks") or {})), f"compose redis-cluster: {init_name} on the nodes' network")

    t = svcs.get("taskcore", {})
    env = t.get("environment") or {}
    store_url("compose redis-cluster taskcore", env.get("TASKCORE_STORE_URL"), seeds, env.get("TASKCORE_REDIS_PREFIX"))
    check(bool(nets & set(t.get("networks") or {})), "compose redis-cluster: taskcore on the nodes' network")
    tdep = t.get("depends_on") or {}
    check(tdep.get(init_name, {}).get("condition") == "service_completed_successfully" and "redis" not in tdep,
          f"compose redis-cluster: taskcore starts after {init_name or 'the init'} succeeded, not on the single Redis ({sorted(tdep)})")
    check(t.get("deploy", {}).get("replicas", 1) >= 2 and t.get("read_only") is True and t.get("cap_drop") == ["ALL"],
          "compose redis-cluster: the prod replicas' settings are kept (replicas >= 2, read_only, cap_drop ALL)")
    r = svcs.get("redis")
    check(r is None or bool(r.get("profiles")), f"compose redis-cluster: the single Redis is not started by up ({(r or {}).get('profiles')})")
    needs_redis = [n for n, s in svcs.items() if "redis" in (s.get("depends_on") or {}) and not s.get("profiles")]
    check(not needs_redis, f"compose redis-cluster: nothing started by up depends on the single Redis ({needs_redis})")
    bk = svcs.get("backup")
    if bk:
        benv = bk.get("environment") or {}
        check(benv.get("TASKCORE_STORE_URL") == env.get("TASKCORE_STORE_URL") and benv.get("TASKCORE_REDIS_PREFIX") == env.get("TASKCORE_REDIS_PREFIX"),
              f"compose redis-cluster: backup reads the replicas' store ({benv.get('TASKCORE_STORE_URL')})")
        check(bool(nets & set(bk.get("networks") or {})) and "redis" not in (bk.get("depends_on") or {}),
              "compose redis-cluster: backup on the nodes' network, not waiting for the single Redis")

# --- Kubernetes ---------------------------------------------------------------------------------------
kz = yaml.safe_load((K / "kustomization.yaml").read_text())
base = yaml.safe_load((repo / "deploy/k8s/kustomization.yaml").read_text())
check(not any("redis-cluster" in str(r) for r in base.get("resources", [])),
      "k8s redis-cluster: not in the default kustomization (kubectl apply -k deploy/k8s is unchanged)")
docs = {}
for r in kz.get("resources", []):
    for d in yaml.safe_load_all((K / r).read_text()):
        if d:
            docs[(d["kind"], d["metadata"]["name"])] = d
check({"StatefulSet", "Service", "PodDisruptionBudget", "Job"} <= {k for k, _ in docs},
      f"k8s redis-cluster: kustomization has StatefulSet, Service, PodDisruptionBudget, Job ({sorted(k for k, _ in docs)})")
gens = {g["name"]: g for g in kz.get("configMapGenerator", [])}
sts = next((d for (k, _), d in docs.items() if k == "StatefulSet"), {})
spec = sts.get("spec", {})
pod = spec.get("template", {}).get("spec", {})
c = (pod.get("containers") or [{}])[0]
labels = spec.get("template", {}).get("metadata", {}).get("labels", {})
check(spec.get("replicas") == 6, f"k8s redis-cluster: StatefulSet of 6 nodes ({spec.get('replicas')})")
svc = docs.get(("Service", spec.get("serviceName")), {}).get("spec", {})
check(svc.get("clusterIP") == "None" and svc.get("publishNotReadyAddresses") is True and
      bool(svc.get("selector")) and all(labels.get(k) == v for k, v in svc.get("selector", {}).items()),
      f"k8s redis-cluster: headless Service {spec.get('serviceName')} selects the nodes and publishes not-ready addresses")
check(spec.get("podManagementPolicy") == "Parallel", "k8s redis-cluster: podManagementPolicy Parallel (no node is ready before the cluster exists)")
claims = {t["metadata"]["name"] for t in spec.get("volumeClaimTemplates", [])}
mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
check(mounts.get("/data") in claims, f"k8s redis-cluster: /data on a PersistentVolumeClaim per node ({mounts.get('/data')})")
vols = {v["name"]: v for v in pod.get("volumes", [])}
cfg_dir = next((p for p, n in mounts.items() if vols.get(n, {}).get("configMap", {}).get("name") in gens), None)
cfg_gen = gens.get(vols.get(mounts.get(cfg_dir), {}).get("configMap", {}).get("name"), {})
check({"redis.conf", "start-node.sh"} <= set(cfg_gen.get("files", [])),
      f"k8s redis-cluster: redis.conf and start-node.sh from a generated ConfigMap at {cfg_dir}")
cmd, args = c.get("command") or [], c.get("args") or []
check(f"{cfg_dir}/start-node.sh" in cmd, f"k8s redis-cluster: nodes start through start-node.sh (refreshes moved peers' IPs) ({cmd})")
eff = redis_settings(args)
check(eff.get("cluster-announce-hostname", "").endswith(f".{spec.get('serviceName')}") and
      eff.get("cluster-announce-hostname", "").startswith("$(POD_NAME)") and eff.get("cluster-preferred-endpoint-type") == "hostname",
      f"k8s redis-cluster: nodes announce their DNS name to clients ({eff.get('cluster-announce-hostname')}, {eff.get('cluster-preferred-endpoint-type')})")
node_settings("k8s redis-cluster", {f"{sts.get('metadata', {}).get('name')}-{i}": eff for i in range(spec.get("replicas") or 0)} or {"(none)": {}})
psc, csc = pod.get("securityContext", {}), c.get("securityContext", {})
check(psc.get("runAsNonRoot") is True and isinstance(psc.get("runAsUser"), int) and psc.get("runAsUser") != 0 and
      psc.get("seccompProfile", {}).get("type") == "RuntimeDefault" and pod.get("automountServiceAccountToken") is False and
      csc.get("runAsNonRoot") is True and csc.get("readOnlyRootFilesystem") is True and csc.get("capabilities", {}).get("drop") == ["ALL"] and
      csc.get("allowPrivilegeEscalation") is False,
      f"k8s redis-cluster: nodes securityContext runAsNonRoot (uid {psc.get('runAsUser')}), readOnlyRootFilesystem, drop ALL, "
      "no privilege escalation, RuntimeDefault, no SA token")
res = c.get("resources", {})
check(to_bytes(res.get("limits", {}).get("memory")) > to_bytes(eff.get("maxmemory")) > 0 and bool(res.get("requests", {}).get("cpu")),
      f"k8s redis-cluster: nodes' requests and limits (memory above maxmemory) ({res})")
live = " ".join(c.get("livenessProbe", {}).get("exec", {}).get("command", []))
ready = " ".join(c.get("readinessProbe", {}).get("exec", {}).get("command", []))
check("ping" in live and "cluster_state:ok" in ready,
      "k8s redis-cluster: alive = answers PING, ready = cluster_state:ok (a rolling update waits for the node to rejoin)")
pdb = next((d for (k, _), d in docs.items() if k == "PodDisruptionBudget"), {}).get("spec", {})
sel = pdb.get("selector", {}).get("matchLabels", {})
check(pdb.get("maxUnavailable") == 1 and bool(sel) and all(labels.get(k) == v for k, v in sel.items()),
      f"k8s redis-cluster: PodDisruptionBudget maxUnavailable 1 on the nodes ({pdb.get('maxUnavailable')})")
pods = [f"{sts.get('metadata', {}).get('name')}-{i}.{spec.get('serviceName')}:{eff.get('port', '6379')}" for i in range(spec.get("replicas") or 0)]

job = next((d for (k, _), d in docs.items() if k == "Job"), {}).get("spec", {})
jpod = job.get("template", {}).get("spec", {})
jc = (jpod.get("containers") or [{}])[0]
jmounts = {m["mountPath"]: m["name"] for m in jc.get("volumeMounts", [])}
jvols = {v["name"]: v for v in jpod.get("volumes", [])}
jdir = next((p for p, n in jmounts.items() if "cluster-init.sh" in gens.get(jvols.get(n, {}).get("configMap", {}).get("name"), {}).get("files", [])), None)
check(jdir is not None and f"{jdir}/cluster-init.sh" in " ".join(jc.get("command") or []),
      f"k8s redis-cluster: init Job runs cluster-init.sh from its generated ConfigMap ({jc.get('command')})")
check(set(jc.get("args") or []) == set(pods) and len(pods) == 6, f"k8s redis-cluster: init Job is given every node ({jc.get('args')})")
jenv = {e["name"]: e.get("value") for e in jc.get("env", [])}
reps = jenv.get("REDIS_CLUSTER_REPLICAS", "1")
check(reps == "1" and len(pods) == 3 * (int(reps) + 1), f"k8s redis-cluster: 3 masters + 3 replicas ({len(pods)} nodes, {reps} replica per master)")
check(jpod.get("restartPolicy") in ("Never", "OnFailure") and all(isinstance(job.get(k), int) for k in ("backoffLimit", "activeDeadlineSeconds")),
      "k8s redis-cluster: init Job restartPolicy, backoffLimit, activeDeadlineSeconds")
jpsc, jcsc = jpod.get("securityContext", {}), jc.get("securityContext", {})
check(jpsc.get("runAsNonRoot") is True and jpsc.get("runAsUser") not in (None, 0) and jpod.get("automountServiceAccountToken") is False and
      jcsc.get("readOnlyRootFilesystem") is True and jcsc.get("capabilities", {}).get("drop") == ["ALL"] and jcsc.get("allowPrivilegeEscalation") is False and
      bool(jc.get("resources", {}).get("limits")),
      "k8s redis-cluster: init Job non-root, readOnlyRootFilesystem, drop ALL, no privilege escalation, limits")
jlabels = job.get("template", {}).get("metadata", {}).get("labels", {})
check(not all(jlabels.get(k) == v for k, v in {**svc.get("selector", {}), **sel}.items()),
      "k8s redis-cluster: the node Service and PDB do not select the init Job's pod")

sec = next((g for g in kz.get("secretGenerator", []) if g.get("name") == "taskcore-store"), {})
lits = dict(x.split("=", 1) for x in sec.get("literals", []))
dep = yaml.safe_load((repo / "deploy/k8s/deployment.yaml").read_text())
ref = next((e.get("valueFrom", {}).get("secretKeyRef") for e in dep["spec"]["template"]["spec"]["containers"][0].get("env", [])
            if e["name"] == "TASKCORE_STORE_URL"), {})
check(bool(sec) and ref.get("name") == sec.get("name") and ref.get("key") in lits and
      sec.get("options", {}).get("disableNameSuffixHash") is True,
      f"k8s redis-cluster: the generated secret is the one the Deployment reads ({ref}), under its fixed name")
store_url("k8s redis-cluster secret", lits.get(ref.get("key", "url")), pods)

print(f"redis-cluster structure: {fails} failed")
sys.exit(1 if fails else 0)
