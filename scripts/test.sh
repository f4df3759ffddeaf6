#!/usr/bin/env bash
# Runs every test of Steadfast, as CI does (.ci/run):
#   setup, ONE debug build (scripts/build.sh) shared by the later stages,
#   then the checks and test suites, each a named stage below.
# Usage: scripts/test.sh [STAGE...]   (default: all stages, in order)
# The checks after `build` all run even when one fails; the script exits
# non-zero if any stage failed and ends with a one-line summary.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

# ---- Stages: one function each; add new ones here and to STAGES. ----

stage_setup() { bash scripts/setup.sh; }

stage_build() { bash scripts/build.sh; }

stage_fmt() { cargo fmt --all -- --check; }

stage_clippy() { cargo clippy --workspace --all-targets -- -D warnings; }

# The browser half of the app (feature `hydrate`) compiles for wasm32 only.
stage_clippy_wasm() {
  cargo clippy -p frontend --lib --target wasm32-unknown-unknown -- -D warnings
}

stage_cargo_test() { cargo test --workspace; }

# Playwright + Debian's Chromium against the debug binary of the build stage.
stage_end2end() {
  (
    cd end2end
    STEADFAST_BIN="${STEADFAST_BIN:-$TARGET_DIR/debug/steadfast}" \
      npx --no-install playwright test
  )
}

STAGES=(setup build fmt clippy clippy_wasm cargo_test end2end)
# Stages whose failure makes the rest pointless.
PREREQUISITES=" setup build "

# ---- Runner ----

selected=("$@")
[ ${#selected[@]} -gt 0 ] || selected=("${STAGES[@]}")
for s in "${selected[@]}"; do
  declare -F "stage_$s" >/dev/null || { echo "unknown stage '$s'; stages: ${STAGES[*]}" >&2; exit 2; }
done

passed=() failed=() report=()
total_start=$SECONDS
for s in "${selected[@]}"; do
  printf '\n======== stage %s ========\n' "$s"
  start=$SECONDS
  # A subshell outside any `if`, so that `set -e` holds inside the stage.
  set +e
  (
    set -euo pipefail
    "stage_$s"
  )
  rc=$?
  set -e
  if [ $rc -eq 0 ]; then
    passed+=("$s"); report+=("$(printf '  %-12s ok      %4ss' "$s" "$((SECONDS - start))")")
  else
    failed+=("$s"); report+=("$(printf '  %-12s FAILED  %4ss' "$s" "$((SECONDS - start))")")
    if [[ "$PREREQUISITES" == *" $s "* ]]; then
      echo "stage $s failed: stopping here" >&2
      break
    fi
  fi
done

printf '\n======== summary ========\n'
printf '%s\n' "${report[@]}"
elapsed=$((SECONDS - total_start))
if [ ${#failed[@]} -eq 0 ]; then
  echo "test.sh: PASSED, all ${#passed[@]} stages (${passed[*]}) in ${elapsed}s"
else
  echo "test.sh: FAILED stages: ${failed[*]} (${#passed[@]} of ${#selected[@]} passed) in ${elapsed}s"
  exit 1
fi
