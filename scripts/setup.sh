#!/usr/bin/env bash
# Installs what building and testing Steadfast needs, skipping what is there:
# the wasm32 target, the wasm-bindgen CLI matching the library, Debian's
# Chromium for the browser tests, and the end2end node packages.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

if rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  echo "ok: rust target wasm32-unknown-unknown"
else
  step "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

if [ "$(wasm-bindgen --version 2>/dev/null || true)" = "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
  echo "ok: wasm-bindgen $WASM_BINDGEN_VERSION"
else
  # No --locked: the CLI's own lockfile wants crate versions this registry lacks.
  step "cargo install wasm-bindgen-cli --version $WASM_BINDGEN_VERSION (about 4 minutes)"
  timed cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

if [ -x /usr/bin/chromium ]; then
  echo "ok: /usr/bin/chromium"
else
  step "apt-get install chromium"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y chromium
fi

# Playwright drives /usr/bin/chromium: it must download no browser of its own.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
stamp=end2end/node_modules/.installed-from-lock
if [ -f end2end/package-lock.json ] && cmp -s end2end/package-lock.json "$stamp"; then
  echo "ok: end2end node packages"
elif [ -f end2end/package-lock.json ]; then
  step "npm ci (end2end)"
  (cd end2end && npm ci --no-audit --no-fund)
  cp end2end/package-lock.json "$stamp"
else
  step "npm install (end2end)"
  (cd end2end && npm install --no-audit --no-fund)
fi
