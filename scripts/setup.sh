#!/usr/bin/env bash
# Installs everything the build and tests need, idempotently: quiet when nothing is missing.
# Order: system packages, wasm32 std, wasm-bindgen-cli (Cargo.lock's version), wasm-pack,
# geckodriver, npm deps.
# `--postgres` (tests, bench) also installs Debian's PostgreSQL, Firefox ESR, WebKitGTK's driver,
# Xvfb and geckodriver; `npm run demo` needs none of them.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
WASM_PACK_VERSION=0.13.1
GECKODRIVER_VERSION=0.37.1
LOG="${TMPDIR:-/tmp}/idbsql-setup.log"
say() { echo "setup: $*" >&2; }
run_logged() { "$@" >>"$LOG" 2>&1 || { say "failed: $* (log: $LOG)"; tail -40 "$LOG" >&2; exit 1; }; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else say "need root for: $*"; exit 1; fi; }

# shellcheck source=env.sh
source "$ROOT/scripts/env.sh"

apt_missing=()
apt_need() { dpkg -s "$1" >/dev/null 2>&1 || apt_missing+=("$1"); }

# 1. Browser for the tests; Debian packages when this is a Debian machine.
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  apt_need chromium; apt_need chromium-driver
fi
# Firefox ESR and WebKitGTK (its WebDriver and MiniBrowser, run under Xvfb): the browser tests
# run in all three engines (tests/browser/engines.js says how each is driven); the demo needs none.
if [ "${1:-}" = "--postgres" ]; then
  [ -x /usr/bin/firefox-esr ] || apt_need firefox-esr
  [ -x /usr/bin/WebKitWebDriver ] || apt_need webkit2gtk-driver
  command -v Xvfb >/dev/null || apt_need xvfb
fi
# PostgreSQL server binaries (initdb, pg_ctl) for the multi-instance tests' throwaway clusters.
if [ "${1:-}" = "--postgres" ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  apt_need postgresql
fi
# 2. wasm32 std: present already, or rustup can add it, or Debian's matched compiler + std source.
if ! wasm_std_present rustc; then
  if command -v rustup >/dev/null && timeout 30 rustup target add wasm32-unknown-unknown >>"$LOG" 2>&1 && wasm_std_present rustc; then
    say "added wasm32 target with rustup"
  elif ! { [ -x /usr/bin/rustc ] && wasm_std_present /usr/bin/rustc; }; then
    apt_need rustc-web; apt_need cargo-web; apt_need rust-web-src; apt_need lld-22
  fi
fi
if [ ${#apt_missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${apt_missing[*]}"
  run_logged as_root apt-get update -qq
  run_logged as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_missing[@]}"
fi
if ! wasm_std_present rustc && ! wasm_std_present /usr/bin/rustc; then
  say "building the wasm32 standard library from Debian's rust-web-src (about a minute)"
  work="$(mktemp -d)"
  mkdir -p "$work/src"
  printf '[package]\nname = "stdbuild"\nversion = "0.0.0"\nedition = "2021"\n[lib]\ncrate-type = ["cdylib"]\n' >"$work/Cargo.toml"
  : >"$work/src/lib.rs"
  (cd "$work" && PATH="/usr/bin:$PATH" RUSTFLAGS=-Cembed-bitcode=yes RUSTC_BOOTSTRAP=1 \
    run_logged /usr/bin/cargo build --release --target wasm32-unknown-unknown \
      -Zbuild-std=std,panic_abort,panic_unwind,test,proc_macro)
  dest="$(/usr/bin/rustc --print sysroot)/lib/rustlib/wasm32-unknown-unknown/lib"
  as_root mkdir -p "$dest"
  find "$work/target/wasm32-unknown-unknown/release/deps" -name '*.rlib' ! -name 'libstdbuild*' -exec cp {} "$dest/" \;
  rm -rf "$work" "$ROOT/target/wasm32-unknown-unknown"
  source "$ROOT/scripts/env.sh"
fi

# 3. wasm-bindgen-cli must match the wasm-bindgen in Cargo.lock exactly.
bindgen_version="$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/[^0-9.]/,""); print; exit}' Cargo.lock)"
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$bindgen_version" ]; then
  say "installing wasm-bindgen-cli $bindgen_version (about 3 minutes)"
  run_logged cargo install -q wasm-bindgen-cli --version "=$bindgen_version" --force
fi
if [ "$(wasm-pack --version 2>/dev/null | awk '{print $2}')" != "$WASM_PACK_VERSION" ]; then
  say "installing wasm-pack $WASM_PACK_VERSION (about 2 minutes)"
  run_logged cargo install -q wasm-pack --version "=$WASM_PACK_VERSION" --force
fi

# geckodriver for `wasm-pack test --firefox` (crates.io; Debian has no package of it).
if [ "${1:-}" = "--postgres" ] && [ "$(geckodriver --version 2>/dev/null | awk 'NR==1{print $2}')" != "$GECKODRIVER_VERSION" ]; then
  say "installing geckodriver $GECKODRIVER_VERSION (about 2 minutes)"
  run_logged cargo install -q geckodriver --version "=$GECKODRIVER_VERSION" --locked --force
fi

# 4. npm dependencies at the committed lockfile's versions, only when it changed. `npm ci`
# refuses this lockfile: the registry mirror here has only linux-x64 builds of rollup's
# optional platform packages, so the lockfile cannot list the others; `npm install` skips them.
if [ -f package-lock.json ] && { [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; }; then
  say "installing npm dependencies"
  run_logged npm install --no-audit --no-fund --no-save --loglevel=error
fi
