#!/usr/bin/env bash
# Builds the wasm module and its JS glue into pkg/ (one .wasm for every runtime).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/wasm-env.sh
wasm-pack build --quiet --mode no-install --release --target web --out-dir pkg --out-name connector_state --no-pack >/dev/null
rm -f pkg/.gitignore pkg/package.json pkg/README.md
cp js/index.d.ts js/index.d.cts
echo "[build] pkg/connector_state_bg.wasm: $(wc -c < pkg/connector_state_bg.wasm) bytes"
