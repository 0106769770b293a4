#!/usr/bin/env bash
# `npm run difftest -- --seed N --queries K`: the differential judge (difftest/), built like the
# sqllogictest runner (optimised, panics unwind so it can count them), against SQLite (bundled)
# and a throwaway PostgreSQL cluster. Arguments go to idbsql-difftest (`--help`).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh --postgres
source scripts/env.sh
cargo build --quiet --profile slt -p idbsql-difftest
exec target/slt/idbsql-difftest "$@"
