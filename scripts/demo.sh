#!/usr/bin/env bash
# `npm run demo`: builds the package and serves the demo page on 127.0.0.1 (prints its URL).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/build.sh
exec node scripts/serve.js
