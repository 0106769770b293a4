#!/usr/bin/env bash
# Runs every test: formatting and lints, native cargo tests (store, GlueSQL suites, database,
# codec, sync server and replicas), the sqllogictest corpus, the differential judge (difftest/),
# wasm-bindgen tests in headless Chromium and Firefox, and the JS API, the packed npm package
# (plain ESM, Vite, esbuild; React, Vue), demo, sync and a browser crash end to end in Chromium,
# Firefox ESR and WebKitGTK with the real idbsql-server, and the package in Node (memory and
# file storage).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh --postgres
source scripts/env.sh

step() { echo; echo "=== $*"; }

step "cargo fmt --check"
cargo fmt --all -- --check
step "cargo clippy (native and wasm32)"
cargo clippy --quiet --workspace --all-targets -- -D warnings
cargo clippy --quiet --target wasm32-unknown-unknown --all-targets -- -D warnings
step "cargo test (native)"
cargo test --quiet --workspace
step "sqllogictest: tests/slt and SQLite's corpus, judged against tests/slt/known-failures.txt"
bash scripts/slt.sh --quiet --check tests/slt/known-failures.txt
step "sqllogictest: our files marked '# answers: PostgreSQL' give the same answers on PostgreSQL"
bash scripts/slt.sh --postgres
step "difftest: random queries judged against SQLite and PostgreSQL (a wrong answer, panic or timeout fails)"
cargo build --quiet --profile slt -p idbsql-difftest
target/slt/idbsql-difftest --seed 1 --queries 6000 --show 3 --min-kept 5000 --strict
step "build the package (cargo + wasm-bindgen, release)"
bash scripts/build.sh
step "wasm-pack test --headless --chrome and --firefox (real IndexedDB)"
wasm-pack test --headless --chrome --test web
wasm-pack test --headless --firefox --test web
step "build idbsql-server for the end-to-end tests"
cargo build --quiet -p idbsql-server
step "Node: the package's Node entry, file storage, SIGKILL, sync, README's node --test and Vitest examples"
node --test --test-concurrency=1 tests/node/
# Every browser test in each engine (tests/browser/engines.js: how each is driven); a test that
# cannot run in one names the engine and the API it lacks.
for engine in chromium firefox webkit; do
  step "JS API, npm package, demo, sync and a crash in $engine (node --test)"
  IDBSQL_BROWSER="$engine" node --test --test-concurrency=1 tests/browser/
done
