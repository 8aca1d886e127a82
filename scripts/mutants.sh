#!/usr/bin/env bash
# npm run mutants: mutation testing of both halves.
#   Rust: cargo-mutants over the core (each mutant built, the native tests
#         run against it; the property tests are skipped: hours over every mutant).
#   JS:   StrykerJS (stryker/*.config.mjs) over js/ and bin/: the tap runner
#         runs node:test files, only those that reach a mutant.
# A mutant no test fails "survived"; one whose tests ran past the time limit
# "timed out" and is reported as that, apart from the caught ones and never
# counted as caught. The command fails when a threshold is missed:
#   Rust: caught / (caught + missed + timed out) >= MUTANTS_RUST_MIN (85) per file
#   JS:   each Stryker run's `break` threshold (90 on leases, stores, servers and the
#         Versori path; 80 on the CLI), Stryker's own score (timeouts counted
#         as detected there, which Stryker reports in their own column)
#
#   npm run mutants                    # both halves, default files
#   npm run mutants -- rust [files…]   # the Rust half (default: src/locks.rs)
#   npm run mutants -- js [runs…]      # StrykerJS runs: leases stores servers versori cli
# Results: mutants.out/ (cargo-mutants' caught.txt, missed.txt, timeout.txt,
# and stryker-<run>.json).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
side="${1:-all}"
[ $# -gt 0 ] && shift
failed=0

rust() {
  if ! command -v cargo-mutants >/dev/null 2>&1; then
    echo "[mutants] cargo install cargo-mutants (once, a few minutes)"
    cargo install -q --locked cargo-mutants
  fi
  local files=("$@")
  [ ${#files[@]} -gt 0 ] || files=(src/locks.rs)
  local args=()
  for f in "${files[@]}"; do args+=(--file "$f"); done
  local status=0
  if command -v cargo-nextest >/dev/null 2>&1; then
    # nextest runs the tests of each mutant on both cores at once.
    cargo mutants --test-tool nextest --no-shuffle --timeout 60 "${args[@]}" -- -E "not test(/^properties::/)" || status=$?
  else
    cargo mutants --no-shuffle --timeout 120 "${args[@]}" -- -- --skip properties || status=$?
  fi
  # cargo-mutants: 0 all caught, 2 some missed, 3 some timed out; anything
  # else is a failure of the run itself.
  if [ "$status" -ne 0 ] && [ "$status" -ne 2 ] && [ "$status" -ne 3 ]; then return "$status"; fi
  local min="${MUTANTS_RUST_MIN:-85}" worst=0
  echo
  for f in "${files[@]}"; do
    local caught missed timeout total score
    caught=$(grep -c "^$f:" mutants.out/caught.txt 2>/dev/null || true)
    missed=$(grep -c "^$f:" mutants.out/missed.txt 2>/dev/null || true)
    timeout=$(grep -c "^$f:" mutants.out/timeout.txt 2>/dev/null || true)
    total=$((caught + missed + timeout))
    [ "$total" -gt 0 ] || continue
    score=$((caught * 100 / total))
    echo "[mutants] $f: $caught caught, $missed missed, $timeout timed out of $total viable: ${score}% (threshold ${min}%)"
    [ "$score" -ge "$min" ] || worst=1
  done
  return "$worst"
}

js() {
  local runs=("$@")
  [ ${#runs[@]} -gt 0 ] || runs=(leases stores servers versori cli)
  [ -f pkg/connector_state_bg.wasm ] || bash scripts/build.sh
  local worst=0
  for run in "${runs[@]}"; do
    echo "[mutants] StrykerJS: $run (stryker/$run.config.mjs)"
    # Stryker exits non-zero when the score is below the run's break threshold.
    # The CLI tests run the command line in their own process for Stryker
    # (tests/js/cli-process.mjs): it cannot see coverage in child processes.
    CONNECTOR_STATE_CLI_IN_PROCESS=1 npx stryker run "stryker/$run.config.mjs" || worst=1
    node scripts/stryker-summary.mjs "mutants.out/stryker-$run.json" || true
  done
  return "$worst"
}

case "$side" in
  rust) rust "$@" || failed=1 ;;
  js) js "$@" || failed=1 ;;
  all) rust || failed=1; js || failed=1 ;;
  *) echo "usage: npm run mutants [-- rust [files…] | js [runs…]]" >&2; exit 2 ;;
esac
[ "$failed" -eq 0 ] || { echo "[mutants] a threshold was missed (see above)" >&2; exit 1; }
