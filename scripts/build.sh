#!/usr/bin/env bash
# Builds the dashboard site and the server binary:
#   target/site/pkg/steadfast.js, steadfast_bg.wasm  (frontend, wasm-bindgen)
#   target/site/pkg/steadfast.css                     (style/main.css)
#   target/{debug,release}/steadfast                  (server)
# Usage: scripts/build.sh [--release]   (run scripts/setup.sh once before)
set -euo pipefail
source "$(dirname "$0")/lib.sh"

release=false
case "${1:-}" in
  "") ;;
  --release) release=true ;;
  *) echo "usage: $0 [--release]" >&2; exit 2 ;;
esac

if $release; then
  wasm_profile=wasm-release wasm_dir=wasm-release server_args=(--release)
else
  wasm_profile=dev wasm_dir=debug server_args=()
fi

if [ "$(wasm-bindgen --version 2>/dev/null || true)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
  echo "wasm-bindgen $WASM_BINDGEN_VERSION is needed (found: $(wasm-bindgen --version 2>&1 || true)); run scripts/setup.sh" >&2
  exit 1
fi

step "frontend -> wasm32 ($wasm_profile)"
timed cargo build -p frontend --lib --target wasm32-unknown-unknown --profile "$wasm_profile"

step "wasm-bindgen -> $SITE_PKG"
mkdir -p "$SITE_PKG"
timed wasm-bindgen --target web --no-typescript --out-dir "$SITE_PKG" --out-name "$OUTPUT_NAME" \
  "$TARGET_DIR/wasm32-unknown-unknown/$wasm_dir/frontend.wasm"
cp style/main.css "$SITE_PKG/$OUTPUT_NAME.css"

step "server ($($release && echo release || echo debug))"
timed cargo build -p server ${server_args[@]+"${server_args[@]}"}

ls -l "$SITE_PKG"
