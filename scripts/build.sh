#!/usr/bin/env bash
# Builds the wasm crate into pkg/ (ES module + .wasm + .d.ts) for the npm package.
# IDBSQL_WASM_OPT=1 also shrinks the module with wasm-opt from the npm `binaryen` package.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh
source scripts/env.sh
wasm-pack build --release --target web --out-dir pkg --out-name idbsql --no-pack --quiet
rm -f pkg/.gitignore
if [ "${IDBSQL_WASM_OPT:-0}" = 1 ]; then
  node_modules/.bin/wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
    --enable-sign-ext --enable-mutable-globals pkg/idbsql_bg.wasm -o pkg/idbsql_bg.wasm
fi
