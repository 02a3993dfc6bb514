#!/usr/bin/env bash
# Start the engine on the embedded default (SQLite + local Prefect).
#
#   scripts/run.sh [cqp run args]
#
# Installs what is missing (scripts/setup.sh), then runs `cqp run`: migrate,
# seed the demo on first run, start the API and the flows.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# shellcheck source=scripts/setup.sh
source "$ROOT/scripts/setup.sh" --without-postgres

exec "$ROOT/.venv/bin/cqp" run "$@"
