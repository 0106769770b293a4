#!/usr/bin/env bash
# `npm run bench`: builds the package, then runs bench/run.js in headless Chromium, then the Node
# and sync benches. `BENCH_BROWSER=firefox|webkit npm run bench` runs only the browser workloads,
# in that engine.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/build.sh
bash scripts/setup.sh --postgres
node bench/run.js
if [ "${BENCH_BROWSER:-chromium}" != chromium ]; then exit 0; fi
# The same workloads in Node, memory and file storage.
node bench/node.js
# Sync: latency, throughput with 50 clients and catch-up, through the real server on loopback,
# on redb and on a throwaway PostgreSQL cluster with 1 and 3 instances.
source scripts/env.sh
cargo run --quiet --profile server -p idbsql-server --example sync_bench
