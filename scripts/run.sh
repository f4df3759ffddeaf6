#!/usr/bin/env bash
# Runs Steadfast: installs what is missing, builds in release mode, and serves
# the dashboard at http://127.0.0.1:3000 with its data in ./data.
# Extra arguments are passed on to `steadfast serve`.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

bash scripts/setup.sh
bash scripts/build.sh --release

step "steadfast serve (Ctrl-C stops it)"
exec "$TARGET_DIR/release/steadfast" serve --listen 127.0.0.1:3000 --data-dir ./data "$@"
