#!/usr/bin/env bash
# Starts the local services the test suites talk to, when they are not already answering.
# The rust-svc machines start PostgreSQL and Redis before a session; this covers a machine
# where they stopped. It only starts services; it never stops one.
set -euo pipefail

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if port_open 6379; then
  echo "redis: answering on 127.0.0.1:6379"
elif command -v redis-server >/dev/null; then
  echo "redis: starting"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
else
  echo "redis: not installed (apt-get install redis-server); Redis tests will fail with a message" >&2
fi

if port_open 5432; then
  echo "postgres: answering on 127.0.0.1:5432"
elif command -v pg_ctlcluster >/dev/null; then
  echo "postgres: starting"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
else
  echo "postgres: not installed; PostgreSQL tests will fail with a message" >&2
fi

for _ in $(seq 1 30); do
  port_open 6379 && port_open 5432 && exit 0
  sleep 1
done
echo "warning: a service did not come up within 30 s" >&2
