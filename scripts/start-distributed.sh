#!/usr/bin/env bash
# Distributed mode on one machine, against NATS JetStream, PostgreSQL and Redis that are already running
# (defaults: 127.0.0.1:4222, postgres://postgres@127.0.0.1:5432/test, redis://127.0.0.1:6379).
# Starts ingest, PRIVACY_PROCESSES privacy processes (default 2; each runs PRIVACY_REPLICAS model threads),
# ANALYTICS_PROCESSES analytics processes (default 1; tracking + standing queries, one camera partition each)
# and the web process; Ctrl-C stops them all.
set -euo pipefail
cd "$(dirname "$0")/.."
export MODE=distributed
replicas="${PRIVACY_PROCESSES:-2}"
partitions="${ANALYTICS_PROCESSES:-1}"
[ -f web/build/handler.js ] || npm run build
pids=()
cleanup() { kill -TERM "${pids[@]}" 2>/dev/null || true; wait || true; }
trap cleanup EXIT INT TERM
node --import tsx web/server/main.ts & pids+=($!)
node --import tsx media-server/src/main.ts & pids+=($!)
for i in $(seq 1 "$replicas"); do
  node --import tsx pipeline/src/privacy/main.ts & pids+=($!)
done
for i in $(seq 0 $((partitions - 1))); do
  ANALYTICS_PARTITION="$i/$partitions" node --import tsx pipeline/src/analytics/main.ts & pids+=($!)
done
wait -n
