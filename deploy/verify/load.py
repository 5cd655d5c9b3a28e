#!/usr/bin/env python3
"""Bounded write load through the load balancer while one replica is stopped; proves no failed
request and no lost (or duplicated) task.

Usage: load.py LB_URL --seconds S --workers W --stop-after T --stop-cmd "podman stop -t 5 NAME"
Each request is POST /tasks with its own Idempotency-Key (so the load balancer may safely retry a
request whose connection failed, as Traefik's retry middleware and haproxy's retry-on do); the
client itself never retries, so any error the LB lets through counts as failed. At the end the
room is listed through the LB: the task numbers stored must be exactly the ones acknowledged (201).
At most 9000 requests, only to the loopback URL given. Prints a JSON summary; exit 1 on any failure.
"""
import argparse
import http.client
import json
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid

MAX_REQUESTS = 9000  # the unpaged listing used for the final count returns up to 10,000


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--stop-after", type=float, default=3)
    ap.add_argument("--stop-cmd", default="")
    a = ap.parse_args()
    u = urllib.parse.urlparse(a.url)
    assert u.hostname in ("127.0.0.1", "localhost", "::1"), "loopback only"

    def call(method, path, body=None, headers=None):
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=15)
        try:
            h = {"Content-Type": "application/json", **(headers or {})}
            c.request(method, path, body=json.dumps(body) if body is not None else None, headers=h)
            r = c.getresponse()
            return r.status, r.read(), r.getheader("Idempotent-Replayed")
        finally:
            c.close()

    status, body, _ = call("POST", "/rooms", {"username": "load"})
    assert status == 201, (status, body)
    code = json.loads(body)["room_code"]
    lock = threading.Lock()
    acked, failures, replayed = [], [], 0
    sent = 0
    deadline = time.monotonic() + a.seconds

    def worker(w: int) -> None:
        nonlocal sent, replayed
        i = 0
        while time.monotonic() < deadline:
            with lock:
                if sent >= MAX_REQUESTS:
                    return
                sent += 1
            i += 1
            try:
                st, b, rep = call("POST", f"/tasks?room={code}", {"title": f"w{w}-{i}"},
                                  {"Idempotency-Key": str(uuid.uuid4())})
                with lock:
                    if st == 201:
                        acked.append(json.loads(b)["task"]["id"])
                        replayed += rep == "true"
                    else:
                        failures.append(f"HTTP {st}: {b[:200]!r}")
            except Exception as e:  # noqa: BLE001 - every error is a failed request
                with lock:
                    failures.append(f"{type(e).__name__}: {e}")

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(a.workers)]
    started = time.monotonic()
    for t in threads:
        t.start()
    stop = {}
    if a.stop_cmd:
        time.sleep(a.stop_after)
        s = time.monotonic()
        p = subprocess.run(a.stop_cmd, shell=True, capture_output=True, text=True)
        stop = {"cmd": a.stop_cmd, "rc": p.returncode, "ms": round((time.monotonic() - s) * 1000),
                "at_s": round(s - started, 2)}
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    st, b, _ = call("GET", f"/tasks?room={code}")
    stored = [t["id"] for t in json.loads(b)["tasks"]] if st == 200 else []
    lost = sorted(set(acked) - set(stored))
    extra = sorted(set(stored) - set(acked))
    summary = {"room": code, "requests": sent, "acknowledged": len(acked), "failed": len(failures),
               "replayed": replayed, "stored": len(stored), "lost": len(lost), "unacknowledged_stored": len(extra),
               "duplicate_acks": len(acked) - len(set(acked)), "seconds": round(elapsed, 2),
               "writes_per_s": round(len(acked) / elapsed, 1), "stop": stop, "first_failures": failures[:5]}
    print(json.dumps(summary))
    ok = (not failures and not lost and not extra and len(acked) == len(set(acked)) and len(acked) > 0
          and st == 200 and (not a.stop_cmd or stop["rc"] == 0))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
