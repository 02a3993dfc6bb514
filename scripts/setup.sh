#!/usr/bin/env bash
# Prepare this machine for running or testing the engine. Idempotent and quick
# when everything is already in place.
#
#   scripts/setup.sh [--with-postgres|--without-postgres] [--main]         # called
#   source scripts/setup.sh --with-postgres|--without-postgres [--main]    # sourced: also exports the env defaults
#
# 1. Debian packages (apt, only what is missing): HarfBuzz subset + Pango +
#    DejaVu fonts for WeasyPrint; PostgreSQL 15 with --with-postgres (tests).
# 2. .venv (python3 -m venv) with `pip install -e '.[test]'` (with --main, what
#    the main job needs only: `pip install -e .`, as scripts/run.sh does), redone
#    only when pyproject.toml, the set of top-level packages or the Python
#    changed (stamps: .venv/.installed-test-<sha>, .venv/.installed-main-<sha>;
#    the test install also satisfies the main one). Pip's progress is shown.
# 3. Checks that libharfbuzz-subset is found from the venv Python.
# 4. Exports defaults: PREFECT_HOME=<repo>/var/prefect, no analytics, DO_NOT_TRACK=1.
#
# When sourcing, source it as a plain statement (not `source ... || ...`), so
# that errors stop the setup, and always give an option (--without-postgres is
# the default): bash passes the caller's own arguments to a script sourced
# without any.

_cqp_sourced=0
[[ "${BASH_SOURCE[0]}" != "$0" ]] && _cqp_sourced=1
if [[ $_cqp_sourced == 0 ]]; then
    set -euo pipefail
fi

CQP_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CQP_ROOT

# --- environment defaults for every child process --------------------------------
export PREFECT_SERVER_ANALYTICS_ENABLED="${PREFECT_SERVER_ANALYTICS_ENABLED:-false}"
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="${PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS:-120}"
export PREFECT_HOME="${PREFECT_HOME:-$CQP_ROOT/var/prefect}"
export DO_NOT_TRACK="${DO_NOT_TRACK:-1}"

_cqp_log() { printf '[setup] %s\n' "$*" >&2; }
_cqp_die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }

_cqp_apt_packages() {
    local with_pg=$1
    local wanted=(libharfbuzz-subset0 libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core)
    # The test set-up also needs a PostgreSQL server and Chromium (browser tests of the back-office).
    [[ $with_pg == 1 ]] && wanted+=(postgresql chromium)

    if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
        _cqp_log "no dpkg/apt here: make sure these (or their equivalents) are installed: ${wanted[*]}"
        return 0
    fi

    local missing=() pkg status
    for pkg in "${wanted[@]}"; do
        status="$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)"
        [[ $status == installed ]] || missing+=("$pkg")
    done
    [[ ${#missing[@]} -eq 0 ]] && return 0

    local sudo=()
    if [[ $(id -u) -ne 0 ]]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo=(sudo)
        else
            _cqp_die "missing system packages: ${missing[*]}. Not root and no sudo: ask an administrator to run
    apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
        fi
    fi

    _cqp_log "installing system packages: ${missing[*]}"
    local apt_opts=(-o DPkg::Lock::Timeout=300 -o Dpkg::Use-Pty=0)
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" -qq update
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" -qq install -y \
        --no-install-recommends "${missing[@]}" >/dev/null
    for pkg in "${missing[@]}"; do
        status="$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)"
        [[ $status == installed ]] || _cqp_die "package $pkg is still not installed"
    done
}

_cqp_pick_python() {
    local candidate
    for candidate in "${CQP_PYTHON:-}" python3 python3.13 python3.12 python3.11; do
        [[ -n $candidate ]] || continue
        command -v "$candidate" >/dev/null 2>&1 || continue
        if "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    _cqp_die "Python >= 3.11 not found (set CQP_PYTHON to its path)"
}

_cqp_venv() {
    local main_only=$1
    local venv="$CQP_ROOT/.venv" py
    # A venv whose interpreter no longer runs (Python removed or upgraded) is rebuilt.
    if [[ -e $venv ]] && ! "$venv/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; then
        _cqp_log "$venv is broken or too old: recreating it"
        rm -rf "$venv"
    fi
    if [[ ! -x $venv/bin/python ]]; then
        py="$(_cqp_pick_python)"
        _cqp_log "creating $venv with $($py -c 'import sys; print(sys.executable, sys.version.split()[0])')"
        "$py" -m venv "$venv"
    fi

    # What the install depends on: pyproject.toml, the top-level packages (the
    # editable finder only maps the packages that existed at install time) and the
    # interpreter.
    local sha
    sha="$(
        cd "$CQP_ROOT"
        {
            cat pyproject.toml
            ls -d -- */__init__.py 2>/dev/null || true
            "$venv/bin/python" -c 'import sys; print(sys.version)'
        } | sha256sum | cut -c1-16
    )"
    local test_stamp="$venv/.installed-test-$sha" main_stamp="$venv/.installed-main-$sha"
    local target="." stamp="$test_stamp"
    if [[ $main_only == 1 ]]; then
        [[ -e $test_stamp || -e $main_stamp ]] && return 0
        stamp="$main_stamp"
    else
        [[ -e $test_stamp ]] && return 0
        target=".[test]"
    fi
    _cqp_log "installing the project into .venv (pip install -e '$target'); the first time takes a few minutes"
    rm -f "$venv"/.installed-*
    # Progress: pip's "Collecting"/"Installing" lines; the full output goes to a log, shown on failure.
    local pip_log="$venv/pip-install.log" rc=0
    (cd "$CQP_ROOT" && "$venv/bin/python" -m pip install --disable-pip-version-check --progress-bar off \
        -e "$target") 2>&1 | tee "$pip_log" \
        | { grep --line-buffered -E '^(Collecting|Installing collected|Successfully installed)' || true; } \
        | sed -u -e 's/^/[setup]   /' -e 's/^\(.\{110\}\).*/\1…/' >&2 || rc=$?
    if [[ $rc -ne 0 ]] || ! grep -q '^Successfully installed' "$pip_log"; then
        grep -v 'is ignored: it is neither a file nor a directory' "$pip_log" | tail -n 60 >&2 || true
        _cqp_die "pip install -e '$target' failed (full log: $pip_log)"
    fi
    touch "$stamp"
}

_cqp_check_harfbuzz() {
    if ! "$CQP_ROOT/.venv/bin/python" -c \
        "import ctypes.util, sys; sys.exit(0 if ctypes.util.find_library('harfbuzz-subset') else 1)"; then
        cat >&2 <<'EOF'
[setup] ##########################################################################
[setup] WARNING: libharfbuzz-subset is NOT found by ctypes.util.find_library.
[setup] WeasyPrint will still work but renders PDFs about 5x slower.
[setup] Install it: apt-get install -y --no-install-recommends libharfbuzz-subset0
[setup] ##########################################################################
EOF
    fi
}

_cqp_setup() {
    local with_pg=0 main_only=0 arg
    for arg in "$@"; do
        case $arg in
            --with-postgres) with_pg=1 ;;
            --without-postgres) with_pg=0 ;;
            --main) main_only=1 ;;
            -h | --help)
                sed -n '2,21p' "$CQP_ROOT/scripts/setup.sh" | sed 's/^# \{0,1\}//'
                return 0
                ;;
            *) _cqp_die "unknown option: $arg (expected --with-postgres, --without-postgres or --main)" ;;
        esac
    done
    _cqp_apt_packages "$with_pg"
    _cqp_venv "$main_only"
    _cqp_check_harfbuzz
    mkdir -p "$PREFECT_HOME"
}

if [[ $_cqp_sourced == 1 ]]; then
    # Run the work in a subshell with strict mode, so sourcing does not change the
    # caller's shell options; a failure stops a caller running with `set -e`.
    ( set -euo pipefail; _cqp_setup "$@" )
    _cqp_rc=$?
    unset _cqp_sourced
    [[ $_cqp_rc == 0 ]] || return "$_cqp_rc"
    unset _cqp_rc
else
    _cqp_setup "$@"
fi
