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

# The engine suite and the server's database tests again on PostgreSQL
# (127.0.0.1:5432, user postgres, trust auth), plus the scale-out tests with
# real processes. CI must run them: there, no server is a failure; on a
# developer's machine without PostgreSQL the stage says so and passes.
stage_postgres() {
  if ! postgres_reachable; then
    if [ "${CI:-}" = "true" ]; then
      echo "PostgreSQL is not reachable at 127.0.0.1:5432: the PostgreSQL suite cannot run" >&2
      return 1
    fi
    echo "PostgreSQL suite SKIPPED: no server at 127.0.0.1:5432."
    echo "  To run it, start PostgreSQL (user postgres, trust auth), e.g."
    echo "  pg_ctlcluster --skip-systemctl-redirect \$(ls /etc/postgresql) main start"
    return 0
  fi
  STEADFAST_TEST_BACKEND=postgres cargo test -p engine
  STEADFAST_TEST_BACKEND=postgres cargo test -p server --test orders --test services \
    --test scale_out --test postgres_restart
}

# Whether PostgreSQL answers; starts the local cluster if it is installed but down.
postgres_reachable() {
  pg_ready() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }
  pg_ready && return 0
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
    for _ in $(seq 1 30); do pg_ready && return 0; sleep 1; done
  fi
  return 1
}

# Schemathesis against /api/openapi.json of the debug binary.
stage_fuzz_api() { STEADFAST_BIN="$TARGET_DIR/debug/steadfast" bash scripts/fuzz-api.sh; }

# Playwright + Debian's Chromium against the debug binary of the build stage.
stage_end2end() {
  (
    cd end2end
    STEADFAST_BIN="${STEADFAST_BIN:-$TARGET_DIR/debug/steadfast}" \
      npx --no-install playwright test
  )
}

STAGES=(setup build fmt clippy clippy_wasm cargo_test postgres fuzz_api end2end)
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
