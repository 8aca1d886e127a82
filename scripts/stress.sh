#!/usr/bin/env bash
# npm run test:stress: the package's tests (Node and Deno suites; with
# --full, the whole npm test) run RUNS times while BUSY busy loops compete
# for the CPU, to show no test depends on the machine being idle.
#   RUNS=10 BUSY=16 npm run test:stress [-- --full]
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${RUNS:-10}"; busy="${BUSY:-16}"; full=""
[ "${1:-}" = "--full" ] && full=1

bash scripts/setup.sh >/dev/null
bash scripts/build.sh >/dev/null
pids=()
stop() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap stop EXIT
for _ in $(seq "$busy"); do
  # Each loop ends by itself after an hour even if this script is killed.
  timeout 3600 sh -c 'while :; do :; done' &
  pids+=("$!")
done
echo "[stress] $busy busy loops on $(nproc) cores; $runs runs"
logs="$(mktemp -d)"
failed=0
for i in $(seq "$runs"); do
  started=$(date +%s)
  if [ -n "$full" ]; then
    cmd=(bash scripts/test.sh)
  else
    cmd=(bash -c 'node --test --test-reporter=spec tests/js/ tests/browser/ > "$0/node.log" 2>&1; n=$?;
      (cd tests/deno && ../../node_modules/.bin/deno test --unstable-kv --allow-read --allow-env --allow-ffi --config deno.json . > "$0/deno.log" 2>&1); d=$?;
      node scripts/summary.mjs node="$0/node.log" deno="$0/deno.log" && [ $n -eq 0 ] && [ $d -eq 0 ]' "$logs")
  fi
  if "${cmd[@]}" > "$logs/run-$i.log" 2>&1; then
    echo "[stress] run $i: passed in $(( $(date +%s) - started )) s"
  else
    failed=$((failed + 1))
    echo "[stress] run $i: FAILED in $(( $(date +%s) - started )) s; failing tests:"
    keep="stress-failures/run-$i"; mkdir -p "$keep"; cp "$logs"/*.log "$keep"/
    grep -hE '^\s*✖|FAILED|not ok' "$keep"/*.log | sort -u | head -20 || true
    echo "[stress] its logs: $keep/" 
  fi
done
rm -rf "$logs"
echo "[stress] $((runs - failed)) of $runs runs passed under $busy busy loops"
[ "$failed" -eq 0 ]
