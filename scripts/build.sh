#!/usr/bin/env bash
# Builds the wasm crate into pkg/ (ES module glue + .wasm + .d.ts) for the npm package:
# a size-optimised release build, then wasm-bindgen without the debugging name section.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh
source scripts/env.sh
cargo build --release --target wasm32-unknown-unknown --lib --quiet
rm -rf pkg
wasm-bindgen --target web --out-dir pkg --out-name idbsql \
  --remove-name-section --remove-producers-section \
  target/wasm32-unknown-unknown/release/idbsql.wasm
