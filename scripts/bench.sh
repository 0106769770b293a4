#!/usr/bin/env bash
# `npm run bench`: builds the package, then runs bench/run.js in headless Chromium.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/build.sh
node bench/run.js
