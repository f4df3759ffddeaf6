#!/usr/bin/env bash
# Fuzzes the HTTP API from its own OpenAPI document (GET /api/openapi.json)
# with Schemathesis, against a real `steadfast serve` on a free port with a
# fresh data folder. Fails on any 5xx, and on any answer that the document
# does not describe (status, content type, headers, body schema), or that
# accepts a request the document says is invalid, or ignores missing auth.
#
# Usage: scripts/fuzz-api.sh [extra `schemathesis run` arguments]
# Environment:
#   STEADFAST_BIN      the binary (default $TARGET_DIR/debug/steadfast, built
#                      with `cargo build -p server` when missing)
#   FUZZ_MAX_EXAMPLES  test cases per operation and phase (default 25)
#   FUZZ_SEED          Hypothesis seed (default fixed, for repeatable runs)
#   FUZZ_VENV          the Python venv (default target/fuzz-venv, reused)
#
# Phase 1 fuzzes every operation except the fault knobs; phase 2 fuzzes the
# fault knobs alone, so that an injected outage or a one-minute latency
# cannot stall the other operations' requests.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

SCHEMATHESIS_VERSION=4.32.5
SPEC_VALIDATOR_VERSION=0.9.0
CHECKS=not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,negative_data_rejection,missing_required_header,unsupported_method,ignored_auth,ensure_resource_availability,use_after_free
MAX_EXAMPLES="${FUZZ_MAX_EXAMPLES:-25}"
SEED="${FUZZ_SEED:-20260601}"
VENV="${FUZZ_VENV:-target/fuzz-venv}"
case "$VENV" in /*) ;; *) VENV="$PWD/$VENV" ;; esac
BIN="${STEADFAST_BIN:-$TARGET_DIR/debug/steadfast}"
OPERATOR_TOKEN=fuzz-operator-token
JWT_SECRET=fuzz-jwt-secret
# The fault knobs: PUT /api/services/{service}/faults, PUT /services/{service}/faults.
FAULTS_REGEX='^/(api/)?services/\{service\}/faults$'

# ---- Python tools, pinned, in a venv of their own ----
want="schemathesis, version $SCHEMATHESIS_VERSION"
if [ "$("$VENV/bin/schemathesis" --version 2>/dev/null || true)" = "$want" ] &&
  "$VENV/bin/python" -c "import openapi_spec_validator" 2>/dev/null &&
  [ "$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("openapi-spec-validator"))')" = "$SPEC_VALIDATOR_VERSION" ]; then
  echo "ok: $want in $VENV"
else
  step "python3 -m venv $VENV; pip install schemathesis==$SCHEMATHESIS_VERSION openapi-spec-validator==$SPEC_VALIDATOR_VERSION"
  if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c "import ensurepip" 2>/dev/null; then
    # Debian's python3 makes venvs only with python3-venv.
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y python3-venv
  fi
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  timed "$VENV/bin/pip" install --quiet --disable-pip-version-check \
    "schemathesis==$SCHEMATHESIS_VERSION" "openapi-spec-validator==$SPEC_VALIDATOR_VERSION"
fi

# GET $1 (to the file $2, if given); fails on a non-2xx answer.
http_get() {
  python3 -c 'import sys, urllib.request
body = urllib.request.urlopen(sys.argv[1], timeout=10).read()
open(sys.argv[2], "wb").write(body) if len(sys.argv) > 2 else None' "$@"
}

# ---- The server ----
if [ ! -x "$BIN" ]; then
  step "cargo build -p server ($BIN is missing)"
  timed cargo build -p server
fi

work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

step "start $BIN serve"
RUST_LOG="${RUST_LOG:-warn}" "$BIN" serve --listen 127.0.0.1:0 --data-dir "$work/data" \
  --operator-token "$OPERATOR_TOKEN" --jwt-secret "$JWT_SECRET" >"$work/server.log" 2>&1 &
server_pid=$!
base=""
for _ in $(seq 150); do
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; echo "the server exited" >&2; exit 1; }
  base="$(sed -n 's|^steadfast listening on \(http://[0-9.:]*\)$|\1|p' "$work/server.log" | head -1)"
  [ -n "$base" ] && http_get "$base/healthz" 2>/dev/null && break
  base=""
  sleep 0.2
done
[ -n "$base" ] || { cat "$work/server.log" >&2; echo "the server did not become healthy in 30s" >&2; exit 1; }
echo "serving at $base"
customer_token="$("$BIN" token --user fuzz --data-dir "$work/data" --jwt-secret "$JWT_SECRET")"

# ---- The document is valid OpenAPI 3.1 ----
http_get "$base/api/openapi.json" "$work/openapi.json"
"$VENV/bin/python" - "$work/openapi.json" <<'EOF'
import json, sys
from openapi_spec_validator import validate
doc = json.load(open(sys.argv[1]))
assert doc["openapi"].startswith("3.1"), doc["openapi"]
validate(doc)
print(f"ok: OpenAPI {doc['openapi']}, {sum(len(v) for v in doc['paths'].values())} operations, valid")
EOF

# ---- Fuzz ----
# Credentials by the document's security schemes: the customer token for
# /api/orders, the operator token for the rest (none where none is needed).
cat >"$work/schemathesis.toml" <<EOF
[auth.openapi.customer]
bearer = "$customer_token"

[auth.openapi.operator]
bearer = "$OPERATOR_TOKEN"
EOF

# run_phase NAME PHASES [schemathesis arguments]
run_phase() {
  local name="$1" phases="$2"
  shift 2
  step "schemathesis: $name ($phases; max $MAX_EXAMPLES examples per operation, seed $SEED)"
  (
    # Hypothesis keeps its files in the working folder: use the temp one.
    cd "$work"
    "$VENV/bin/schemathesis" --config-file "$work/schemathesis.toml" run \
      "$base/api/openapi.json" \
      --checks "$CHECKS" \
      --phases "$phases" \
      --max-examples "$MAX_EXAMPLES" \
      --seed "$SEED" \
      --workers 1 \
      --request-timeout 20 \
      --generation-database none \
      --no-color \
      "$@"
  ) 2>&1 | tee -a "$work/schemathesis.out"
}

status=0
# Stateful: sequences that follow the document's links (a new order, then
# its workflow's describe, history, cancel, retry, signal...).
run_phase all-but-faults examples,coverage,fuzzing,stateful \
  --exclude-path-regex "$FAULTS_REGEX" "$@" || status=1
run_phase faults examples,coverage,fuzzing --include-path-regex "$FAULTS_REGEX" "$@" || status=1

# ---- Summary ----
# Schemathesis ends each run with "N generated, N passed, ..." (or "N found
# N unique failures"); add them up.
summary="$(sed -n 's/^ *\([0-9]*\) generated, \(.*\)$/\1 \2/p' "$work/schemathesis.out" |
  awk '{ cases += $1; if ($0 ~ /unique failure/) failures += $4 } END { printf "%d test cases, %d failures", cases, failures }')"
if grep -q "panicked" "$work/server.log"; then
  echo "the server panicked:" >&2
  grep -A5 "panicked" "$work/server.log" >&2
  status=1
fi
if [ $status -eq 0 ]; then
  echo "fuzz-api.sh: PASSED: $summary; no 5xx, every answer as documented"
else
  echo "fuzz-api.sh: FAILED: $summary (see the schemathesis output above)"
fi
exit $status
