#!/usr/bin/env bash
# npm test: installs what is missing, builds, and runs every test suite:
# native Rust, wasm in Node and headless Chrome, the package from Node (ESM
# and CommonJS), Deno and a browser page, the types, and the packed tarball.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT
step() { printf '\n== %s\n' "$1"; }
# Every runner has a bound: a hang fails the run (exit 124, with the
# runner's name) instead of holding CI. node --test also bounds each test
# (--test-timeout), so a hung test fails with its own name.
bounded() { # seconds, name, command...
  local seconds="$1" name="$2"; shift 2
  timeout --kill-after=30 "$seconds" "$@" || { local rc=$?; [ "$rc" -eq 124 ] && echo "TIMEOUT: $name ran over ${seconds}s" >&2; return "$rc"; }
}
run() { # name, command...: shows output, keeps it for the summary
  local name="$1"; shift
  "$@" 2>&1 | tee "$logs/$name.log"
}

step "format and lints (cargo fmt --check, clippy -D warnings native and wasm32, rustdoc -D warnings)"
cargo fmt --check || { echo "run 'cargo fmt' and commit the result" >&2; exit 1; }
cargo clippy --all-targets --color never -- -D warnings
# missing_docs is on in src/lib.rs: undocumented public items, and broken doc links, fail here.
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --color never --quiet
bash -c '. scripts/wasm-env.sh
  if cargo clippy --version >/dev/null 2>&1; then
    cargo clippy --target wasm32-unknown-unknown --all-targets --color never -- -D warnings
  else
    echo "NOTE: the wasm32 toolchain here (Debian rustc-web) has no clippy: only the native code was linted" >&2
  fi'
echo "format and lints ok"

step "native core (cargo test)"
run cargo bounded 1200 "cargo test" cargo test --color never

step "build"
bash scripts/build.sh

step "wasm in Node (wasm-pack test --node)"
run wasm-node bounded 900 "wasm-pack test --node" bash -c '. scripts/wasm-env.sh && wasm-pack test --mode no-install --node'

step "wasm in headless Chrome (wasm-pack test --headless --chrome)"
run wasm-chrome bounded 900 "wasm-pack test --chrome" bash -c '. scripts/wasm-env.sh && WASM_BINDGEN_USE_BROWSER=1 wasm-pack test --mode no-install --headless --chrome --chromedriver "${CHROMEDRIVER:-/usr/bin/chromedriver}"'

step "JavaScript format and lint (deno fmt --check, deno lint; deno.json)"
bounded 300 "deno fmt" node_modules/.bin/deno fmt --check --quiet
bounded 300 "deno lint" node_modules/.bin/deno lint --quiet
echo "format and lint ok (js/, bin/)"

step "types (tsc --noEmit)"
cp js/index.d.ts js/index.d.cts
bounded 300 tsc node_modules/.bin/tsc -p tests/types/tsconfig.json
bounded 300 tsc node_modules/.bin/tsc -p examples/tsconfig.json --noEmit
# The same programs under Deno's checker (strict, the package's own .d.ts).
bounded 300 "deno check" bash -c 'cd tests/types && ../../node_modules/.bin/deno check --quiet --config deno.json programs.ts'
echo "types ok (tests/types, examples, deno check)"

step "package from Node: ESM, CommonJS, browser page, npm pack"
run node bounded 1500 "node --test" node --test --test-timeout=300000 --test-reporter=spec tests/js/ tests/browser/ tests/pack/

step "package from Deno"
run deno bounded 600 "deno test" bash -c 'cd tests/deno && ../../node_modules/.bin/deno test --unstable-kv --allow-read --allow-env --allow-ffi --config deno.json .'

# One row per runner. It fails when a runner failed a test, ran none, or
# printed a summary that cannot be read, and shows skipped and todo counts.
echo
node scripts/summary.mjs cargo="$logs/cargo.log" wasm-node:wasm="$logs/wasm-node.log" wasm-chrome:wasm="$logs/wasm-chrome.log" node="$logs/node.log" deno="$logs/deno.log"
