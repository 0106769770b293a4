#!/usr/bin/env bash
# Builds the npm package's files: the wasm crate into pkg/ (a size-optimised release build,
# then wasm-bindgen without the debugging name section), then js/ bundled into dist/ — one
# module for pages and one for the Worker, each a single request instead of three rounds of
# imports (W5, issue 14). dist/ sits beside pkg/, so `../pkg/idbsql_bg.wasm` still resolves.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh
source scripts/env.sh
cargo build --release --target wasm32-unknown-unknown --lib --quiet
rm -rf pkg
wasm-bindgen --target web --out-dir pkg --out-name idbsql \
  --remove-name-section --remove-producers-section --omit-default-module-path \
  target/wasm32-unknown-unknown/release/idbsql.wasm
rm -rf dist
node_modules/.bin/esbuild idbsql=js/index.js worker=js/worker.js \
  --bundle --format=esm --outdir=dist --log-level=warning
# Node's entry (the "node" export condition): its own module, so pages never load it.
node_modules/.bin/esbuild node=js/node.js \
  --bundle --format=esm --platform=node --target=node20 --outdir=dist --log-level=warning
# The query builders' adapters and the framework bindings: their own modules, the builders and
# frameworks left to the user's install (optional peer dependencies), so the raw package's
# pages load nothing more.
node_modules/.bin/esbuild kysely=js/kysely.js drizzle=js/drizzle.js react=js/react.js vue=js/vue.js \
  --bundle --format=esm --outdir=dist --log-level=warning \
  --external:kysely --external:drizzle-orm --external:react --external:vue
cp js/index.d.ts dist/idbsql.d.ts
cp js/node.d.ts dist/node.d.ts
for module in kysely drizzle react vue; do cp "js/$module.d.ts" "dist/$module.d.ts"; done
