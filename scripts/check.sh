#!/usr/bin/env bash
# Static checks of the tree, configured in pyproject.toml; run by scripts/test.sh before the tests
# (so by .ci/run):
#   ruff check      lint (pycodestyle, pyflakes, bugbear, pyupgrade)
#   ruff format     the formatter's layout, checked on the folders already formatted
#                   (FORMATTED below; pyproject.toml says why not yet the others)
#   lint-imports    the layers: certification imports neither api, flows, fastapi nor prefect;
#                   documents and notifications neither api nor flows; flows not api
#   mypy            certification/ and flows/, untyped definitions refused
# Uses the tools of .venv (scripts/setup.sh installs them with the test extras). Runs every check,
# then exits non-zero when any failed.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BIN="$ROOT/.venv/bin"

failed=()
run_check() {
    local name=$1
    shift
    echo "== check: $name =="
    "$@" || failed+=("$name")
}

# the folders whose layout is the formatter's; the others join as their repeated shapes are
# factored out (see [tool.ruff.lint] in pyproject.toml)
FORMATTED=(
    flows documents notifications bench
    certification/*.py certification/appeals certification/reporting certification/schemas certification/data
    api/__init__.py api/app.py api/certification_schemas.py api/cli.py api/cli_referentiels.py api/contract.py
    api/deps.py api/dossier.py api/errors.py api/flow_helpers.py api/listing.py api/maintenance.py api/metrics.py
    api/pagination.py api/personal_data.py api/prefect_server.py api/public_templates.py api/reads.py api/routes.py
    api/schemas.py api/security.py api/throttle.py api/types.py api/uploads.py api/reporting api/backup.py
    api/idempotency.py
    tests/conftest.py tests/probes.py tests/smtp.py tests/statements.py tests/texts.py tests/test_*.py
    tests/agrement tests/api tests/cpf tests/documents tests/flows tests/notifications tests/reporting tests/scaleout
    tests/training tests/appeals tests/candidates tests/certification tests/reliability tests/jury tests/credentials
    tests/referentiels tests/security
)

run_check ruff "$BIN/ruff" check .
run_check ruff-format "$BIN/ruff" format --check "${FORMATTED[@]}"
run_check import-linter "$BIN/lint-imports" --no-cache --no-logo
run_check mypy "$BIN/mypy"

if [[ ${#failed[@]} -gt 0 ]]; then
    echo "check.sh: FAILED: ${failed[*]}" >&2
    exit 1
fi
echo "check.sh: ruff (lint, format), import-linter and mypy passed"
