#!/usr/bin/env bash
# Start the engine on the embedded default (SQLite + local Prefect).
#
#   scripts/run.sh [cqp run args]
#
# Installs what the main job needs (scripts/setup.sh --main: not the test
# extras), then runs `cqp run`: migrate, start the API at once and a local
# Prefect server with its UI in the background, seed the demo on first run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# shellcheck source=scripts/setup.sh
source "$ROOT/scripts/setup.sh" --without-postgres --main

exec "$ROOT/.venv/bin/cqp" run "$@"
