#!/usr/bin/env bash
# Fuzzes the frame and change-set decoders (fuzz/fuzz_targets/decode_frame.rs) for a bounded
# time: `bash scripts/fuzz.sh [seconds]` (default 60). Installs cargo-fuzz if missing.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/env.sh
command -v cargo-fuzz >/dev/null || cargo install -q cargo-fuzz --version =0.13.2
cd fuzz
# cargo-fuzz needs unstable sanitizer flags; RUSTC_BOOTSTRAP lets a stable compiler take them.
# Inputs up to a frame (1 MiB), not only the default 4 KiB: deep nesting needs room.
RUSTC_BOOTSTRAP=1 cargo fuzz run decode_frame -- -max_total_time="${1:-60}" -max_len=1048576
