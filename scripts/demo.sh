#!/usr/bin/env bash
# `npm run demo`: builds the package and the server, then serves the demo page and the sync
# endpoint from idbsql-server on 127.0.0.1 (prints the URL).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/build.sh
source scripts/env.sh
cargo build -p idbsql-server --quiet
exec node scripts/demo.js
