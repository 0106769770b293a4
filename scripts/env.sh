# Chooses the Rust toolchain that can build for wasm32 and exports it on PATH.
# Sourced by every script; prints nothing and changes nothing on disk.
wasm_std_present() {
  local sysroot
  sysroot="$("$1" --print sysroot 2>/dev/null)" || return 1
  compgen -G "$sysroot/lib/rustlib/wasm32-unknown-unknown/lib/libstd-*.rlib" >/dev/null
}
export PATH="$HOME/.cargo/bin:$PATH"
# Debian's matched rustc-web + self-built std is preferred only when rustup's toolchain lacks wasm32.
if ! wasm_std_present rustc && [ -x /usr/bin/rustc ] && wasm_std_present /usr/bin/rustc; then
  export PATH="/usr/bin:$PATH"
fi
export CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}"
export CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
