# Sourced by the build and test scripts: points cargo at a toolchain that can
# build wasm32. setup.sh records which route works on this machine.
export PATH="$HOME/.cargo/bin:$PATH"
route_file="${CONNECTOR_STATE_CACHE:-$HOME/.cache/connector-state}/wasm-route"
if [ "$(cat "$route_file" 2>/dev/null)" = "debian" ]; then
  # Debian's rustc-web builds the wasm32 std from source (rustup could not
  # download the target). /usr/bin goes first so its cargo and rustc win
  # over rustup's; wasm-pack and wasm-bindgen stay reachable in ~/.cargo/bin.
  export PATH="/usr/bin:$PATH"
  # build-std is a nightly feature; RUSTC_BOOTSTRAP unlocks it on stable.
  export RUSTC_BOOTSTRAP=1
  export CARGO_UNSTABLE_BUILD_STD=std,panic_abort
  export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld-19
  # Keep these artifacts apart from rustup-built ones: another compiler.
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target/wasm-debian}"
fi
[ -x /usr/bin/chromedriver ] && export CHROMEDRIVER=/usr/bin/chromedriver
true
