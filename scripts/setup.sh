#!/usr/bin/env bash
# Installs everything the build and tests need on a fresh Debian machine, and
# returns within seconds when all of it is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
# --build-only: what building and running the package needs (npm run demo),
# without the test-only Chromium and denokv server.
build_only=""; [ "${1:-}" = "--build-only" ] && build_only=1

cache="${CONNECTOR_STATE_CACHE:-$HOME/.cache/connector-state}"
mkdir -p "$cache"
say() { printf '[setup] %s\n' "$*"; }

apt_updated=""
apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "apt-get install ${missing[*]}"
  local sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  if [ -z "$apt_updated" ]; then $sudo apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

# 0. Node.js 20.19+ (require() of the ES module entry needs it).
node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' \
  || { echo "Node.js 20.19 or newer is required (found $(node --version))" >&2; exit 1; }

# 1. A Rust toolchain that can build wasm32.
if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then export PATH="$HOME/.cargo/bin:$PATH"; fi
command -v cargo >/dev/null 2>&1 || { echo "Rust is required: install it from https://rustup.rs" >&2; exit 1; }
route="${CONNECTOR_STATE_WASM_ROUTE:-$(cat "$cache/wasm-route" 2>/dev/null || true)}"
if [ -z "$route" ]; then
  if rustup target list --installed 2>/dev/null | grep -q '^wasm32-unknown-unknown$'; then
    route=rustup
  elif command -v rustup >/dev/null 2>&1 && timeout 45 rustup target add wasm32-unknown-unknown >/dev/null 2>&1; then
    route=rustup
  else
    route=debian
  fi
fi
if [ "$route" = debian ]; then
  # rustup could not fetch the target: Debian's Rust with its std source.
  apt_install rustc-web cargo-web rust-web-src lld-19
  sysroot="$(/usr/bin/rustc --print sysroot)"
  # wasm-pack refuses to build without this folder; build-std fills the real std.
  if [ ! -d "$sysroot/lib/rustlib/wasm32-unknown-unknown/lib" ]; then
    local_sudo=""; [ "$(id -u)" -ne 0 ] && local_sudo="sudo"
    $local_sudo mkdir -p "$sysroot/lib/rustlib/wasm32-unknown-unknown/lib"
  fi
fi
echo "$route" > "$cache/wasm-route"

# 1b. rustfmt and clippy for the lint gates of npm test.
if command -v rustup >/dev/null 2>&1 && ! { cargo fmt --version && cargo clippy --version; } >/dev/null 2>&1; then
  say "rustup component add rustfmt clippy"
  timeout 120 rustup component add rustfmt clippy >/dev/null 2>&1 || say "could not add rustfmt/clippy"
fi

# 2. Headless Chrome for the browser tests (Debian's, never a download).
[ -n "$build_only" ] || apt_install chromium chromium-driver

# 2b. PostgreSQL and Redis servers for the server-store tests (Debian's;
# the tests start their own, on 127.0.0.1, in temporary folders).
if [ -z "$build_only" ]; then
  command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] || apt_install redis-server
  if ! { command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; }; then
    apt_install postgresql
  fi
fi

# 3. wasm-bindgen-cli at exactly the version Cargo.lock pins, and wasm-pack.
export PATH="$HOME/.cargo/bin:$PATH"
[ -f Cargo.lock ] || cargo generate-lockfile -q
want="$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/[^0-9.]/,""); print; exit}' Cargo.lock)"
have="$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)"
if [ "$have" != "$want" ]; then
  say "cargo install wasm-bindgen-cli $want"
  cargo install -q wasm-bindgen-cli --version "$want" --force
fi
if ! command -v wasm-pack >/dev/null 2>&1; then
  say "cargo install wasm-pack"
  cargo install -q wasm-pack
fi

# 4. The denokv server (self-hosted Deno KV) for the cross-process tests.
if [ -z "$build_only" ] && ! command -v denokv >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/denokv" ]; then
  say "cargo install denokv 0.14.0 (about 4 minutes on 2 cores, once)"
  cargo install -q denokv --version 0.14.0
fi

# 5. npm packages (Deno, @deno/kv, TypeScript, binaryen).
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "npm install"
  npm install --no-audit --no-fund --loglevel=error
fi
say "ready (wasm toolchain: $route)"
