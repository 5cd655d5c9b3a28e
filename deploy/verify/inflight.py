#!/usr/bin/env python3
"""Graceful stop with a request in flight: start a POST /tasks whose body arrives slowly, send
SIGTERM to the container (STOP_CMD, e.g. `podman stop -t 5 NAME`) while the body is half sent,
finish the body after the signal, and require a 201 for it, the container gone within the stop
timeout, and no new connection accepted after the signal.

Usage: inflight.py BASE_URL STOP_CMD [--max-stop-ms 5000]
Prints a JSON summary; exit 1 if the in-flight request failed or the stop took too long.
"""
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request


def main() -> int:
    base, stop_cmd = sys.argv[1].rstrip("/"), sys.argv[2]
    max_ms = int(sys.argv[sys.argv.index("--max-stop-ms") + 1]) if "--max-stop-ms" in sys.argv else 5000
    u = urllib.parse.urlparse(base)
    assert u.hostname in ("127.0.0.1", "localhost", "::1"), "loopback only"
    req = urllib.request.Request(base + "/rooms", data=b'{"username":"inflight"}', method="POST",
                                 headers={"Content-Type": "application/json"})
    code = json.loads(urllib.request.urlopen(req, timeout=5).read())["room_code"]

    body = json.dumps({"title": "in flight during SIGTERM", "description": "x" * 2000}).encode()
    s = socket.create_connection((u.hostname, u.port), timeout=15)
    s.sendall((f"POST /tasks?room={code} HTTP/1.1\r\nHost: {u.netloc}\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode())
    half = len(body) // 2
    s.sendall(body[:half])
    time.sleep(0.3)  # the server has the headers: the handler is running, waiting for the body

    result = {}

    def stop() -> None:
        t0 = time.monotonic()
        p = subprocess.run(stop_cmd, shell=True, capture_output=True, text=True)
        result["stop_ms"] = round((time.monotonic() - t0) * 1000)
        result["stop_rc"] = p.returncode

    stopper = threading.Thread(target=stop)
    stopper.start()
    time.sleep(1.0)  # SIGTERM has been delivered; the server is draining
    try:
        socket.create_connection((u.hostname, u.port), timeout=1).close()
        result["new_connection_after_sigterm"] = "accepted"
    except OSError:
        result["new_connection_after_sigterm"] = "refused"
    s.sendall(body[half:])
    raw = b""
    try:
        while chunk := s.recv(65536):
            raw += chunk
    except OSError as e:
        result["read_error"] = str(e)
    s.close()
    stopper.join()
    status_line = raw.split(b"\r\n", 1)[0].decode(errors="replace")
    result["inflight_status"] = status_line
    result["inflight_body_task"] = b'"title":"in flight during SIGTERM"' in raw
    print(json.dumps(result))
    ok = (status_line.startswith("HTTP/1.1 201") and result["inflight_body_task"]
          and result["stop_rc"] == 0 and result["stop_ms"] < max_ms)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
