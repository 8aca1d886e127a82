#!/usr/bin/env bash
# npm run mutants: mutation testing of the Rust core with cargo-mutants.
# Each mutant (an operator flipped, a body replaced by a default) is built
# and the native tests run against it; a mutant no test fails "survived".
# The property tests are skipped (they would take hours over every mutant).
#   npm run mutants                      # the core files the locks, files, keys, store and checkpoints live in
#   npm run mutants -- src/retry.rs      # other files
# Results: mutants.out/ (caught.txt, missed.txt, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
if ! command -v cargo-mutants >/dev/null 2>&1; then
  echo "[mutants] cargo install cargo-mutants (once, a few minutes)"
  cargo install -q --locked cargo-mutants
fi
files=("$@")
[ ${#files[@]} -gt 0 ] || files=(src/locks.rs src/files.rs src/keys.rs src/store.rs src/checkpoint/manifest.rs src/checkpoint/protocol.rs)
args=()
for f in "${files[@]}"; do args+=(--file "$f"); done
status=0
if command -v cargo-nextest >/dev/null 2>&1; then
  # nextest runs the tests of each mutant on both cores at once.
  cargo mutants --test-tool nextest --no-shuffle --timeout 60 "${args[@]}" -- -E "not test(/^properties::/)" || status=$?
else
  cargo mutants --no-shuffle --timeout 120 "${args[@]}" -- -- --skip properties || status=$?
fi
# Exit codes: 0 all caught, 2 some missed, 3 timeouts; report either way.
echo
for f in "${files[@]}"; do
  caught=$(grep -c "^$f:" mutants.out/caught.txt 2>/dev/null || true)
  missed=$(grep -c "^$f:" mutants.out/missed.txt 2>/dev/null || true)
  timeout=$(grep -c "^$f:" mutants.out/timeout.txt 2>/dev/null || true)
  total=$((caught + missed + timeout))
  [ "$total" -gt 0 ] && echo "[mutants] $f: $((caught + timeout)) of $total viable mutants caught ($(( (caught + timeout) * 100 / total ))%), $missed missed"
done
[ "$status" -eq 0 ] || [ "$status" -eq 2 ] || [ "$status" -eq 3 ] || exit "$status"
