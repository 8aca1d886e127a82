# Sourced by the build and test scripts: points cargo at a toolchain that can
# build wasm32. setup.sh records which route works on this machine.
route_file="${CONNECTOR_STATE_CACHE:-$HOME/.cache/connector-state}/wasm-route"
if [ "$(cat "$route_file" 2>/dev/null)" = "debian" ]; then
  # Debian's rustc-web builds the wasm32 std from source (rustup could not
  # download the target here). build-std needs nightly features on stable.
  export PATH="/usr/bin:$PATH"
  export RUSTC_BOOTSTRAP=1
  export CARGO_UNSTABLE_BUILD_STD=std,panic_abort
  export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld-19
  # Keep wasm artifacts apart from native ones: different compiler.
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target/wasm}"
fi
export PATH="$HOME/.cargo/bin:$PATH:$HOME/.cargo/bin"
[ -x /usr/bin/chromedriver ] && export CHROMEDRIVER=/usr/bin/chromedriver
true
