# Shared by the scripts in this folder: `source "$(dirname "$0")/lib.sh"`.
# Moves to the repository root and puts cargo-installed tools on PATH.

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

# Build layout; the same names are in [[workspace.metadata.leptos]] of Cargo.toml.
OUTPUT_NAME=steadfast
SITE_PKG=target/site/pkg
TARGET_DIR="${CARGO_TARGET_DIR:-target}"

# The wasm-bindgen CLI must be exactly the version of the library: read the
# `wasm-bindgen = "=X.Y.Z"` pin of the root Cargo.toml.
WASM_BINDGEN_VERSION="$(sed -n 's/^wasm-bindgen = "=\([0-9.]*\)".*/\1/p' Cargo.toml)"
[ -n "$WASM_BINDGEN_VERSION" ] || { echo 'no wasm-bindgen = "=X.Y.Z" pin in Cargo.toml' >&2; exit 1; }

step() { printf '\n==> %s\n' "$*"; }

# Runs a command and prints how long it took.
timed() {
  local start=$SECONDS
  "$@"
  printf '    (%ss: %s)\n' "$((SECONDS - start))" "$*"
}
