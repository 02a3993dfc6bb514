#!/usr/bin/env bash
# Run the static checks, then the whole test suite on SQLite then on PostgreSQL.
#
#   scripts/test.sh [pytest args]
#
# Installs what is missing (scripts/setup.sh --with-postgres), runs scripts/check.sh (ruff,
# import-linter, mypy; a failure fails the run, after the tests), then runs
# `.venv/bin/python -m pytest -q -p no:cacheprovider [args]` once per backend:
#   sqlite    CQP_TEST_DATABASE_URL unset
#   postgres  CQP_TEST_DATABASE_URL=$(scripts/pg.sh url), on a throwaway cluster
#             started here and stopped at exit (unless it was already running)
# CQP_TEST_BACKENDS=sqlite or postgres (or "sqlite,postgres", the default) picks them.
# Exits non-zero when any run fails, including pytest's exit 5 (no test collected).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

backends=()
IFS=', ' read -r -a requested <<<"${CQP_TEST_BACKENDS:-sqlite,postgres}"
for b in "${requested[@]}"; do
    case "$b" in
        "") ;;
        sqlite) backends+=(sqlite) ;;
        postgres | postgresql | pg) backends+=(postgres) ;;
        *)
            echo "test.sh: unknown backend '$b' in CQP_TEST_BACKENDS (use sqlite and/or postgres)" >&2
            exit 2
            ;;
    esac
done
[[ ${#backends[@]} -gt 0 ]] || { echo "test.sh: CQP_TEST_BACKENDS selects no backend" >&2; exit 2; }

with_pg=--without-postgres
[[ " ${backends[*]} " == *" postgres "* ]] && with_pg=--with-postgres

# shellcheck source=scripts/setup.sh
source "$ROOT/scripts/setup.sh" "$with_pg"

PY="$ROOT/.venv/bin/python"
PYTEST=("$PY" -m pytest -q -p no:cacheprovider "$@")

pg_started=0
cleanup() {
    if [[ $pg_started == 1 ]]; then
        "$ROOT/scripts/pg.sh" stop >/dev/null 2>&1 || true
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

run_pytest() {
    local name=$1 rc=0
    shift
    "$@" || rc=$?
    if [[ $rc == 5 ]]; then
        echo "test.sh: no test was collected on $name (pytest exit 5): counted as a failure" >&2
    fi
    return "$rc"
}

failed=()
echo "== static checks (scripts/check.sh) =="
"$ROOT/scripts/check.sh" || failed+=("static checks")

for backend in "${backends[@]}"; do
    case $backend in
        sqlite)
            echo "== tests on SQLite =="
            run_pytest SQLite env -u CQP_TEST_DATABASE_URL "${PYTEST[@]}" || failed+=("SQLite (exit $?)")
            ;;
        postgres)
            echo "== tests on PostgreSQL =="
            if ! "$ROOT/scripts/pg.sh" status; then
                pg_started=1
            fi
            "$ROOT/scripts/pg.sh" start
            url="$("$ROOT/scripts/pg.sh" url)"
            run_pytest PostgreSQL env CQP_TEST_DATABASE_URL="$url" "${PYTEST[@]}" ||
                failed+=("PostgreSQL (exit $?)")
            ;;
    esac
done

if [[ ${#failed[@]} -gt 0 ]]; then
    echo "test.sh: FAILED on: ${failed[*]}" >&2
    exit 1
fi
