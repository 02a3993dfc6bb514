#!/usr/bin/env bash
# Throwaway PostgreSQL 15 cluster for the tests.
#
#   scripts/pg.sh start    # initdb once, start on 127.0.0.1, create database cqp_test (no-op if running)
#   scripts/pg.sh stop     # stop it (the data directory is kept for the next start)
#   scripts/pg.sh url      # print the SQLAlchemy URL: postgresql+psycopg://postgres@127.0.0.1:<port>/cqp_test
#   scripts/pg.sh status   # exit 0 when running
#   scripts/pg.sh reset    # stop and delete the data directory
#
# Environment:
#   CQP_PG_PORT  port to use (default 54329; when the default is busy the next free
#                port up to 54399 is taken, an explicit CQP_PG_PORT must be free)
#   CQP_PG_DIR   base directory (default /tmp/cqp-pg-<hash of the repo path>)
#   CQP_PG_BIN   PostgreSQL binaries (default /usr/lib/postgresql/15/bin)
#
# Run as root, the server runs as the `postgres` system user (PostgreSQL refuses
# root); otherwise it runs as the current user. Auth is `trust`, listening on
# 127.0.0.1 only, with fsync off: for tests only.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KEY="$(printf '%s' "$ROOT" | sha256sum | cut -c1-8)"
BASE="${CQP_PG_DIR:-/tmp/cqp-pg-$KEY}"
DATA="$BASE/data"
LOG="$BASE/postgres.log"
PORT_FILE="$BASE/port"
DEFAULT_PORT=54329
DB=cqp_test
PGBIN="${CQP_PG_BIN:-/usr/lib/postgresql/15/bin}"

log() { printf '[pg] %s\n' "$*" >&2; }
die() { printf '[pg] ERROR: %s\n' "$*" >&2; exit 1; }

# Run a PostgreSQL binary as the cluster owner.
if [[ $(id -u) -eq 0 ]]; then
    OWNER=postgres
    as_owner() { runuser -u "$OWNER" -- "$@"; }
else
    OWNER="$(id -un)"
    as_owner() { "$@"; }
fi

need_binaries() {
    [[ -x $PGBIN/initdb && -x $PGBIN/pg_ctl ]] ||
        die "PostgreSQL binaries not found in $PGBIN: run scripts/setup.sh --with-postgres (or set CQP_PG_BIN)"
    if [[ $OWNER == postgres ]] && ! id postgres >/dev/null 2>&1; then
        die "no 'postgres' system user: run scripts/setup.sh --with-postgres"
    fi
}

is_running() {
    [[ -f $DATA/postmaster.pid ]] || return 1
    as_owner "$PGBIN/pg_ctl" status -D "$DATA" >/dev/null 2>&1
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

current_port() {
    if [[ -f $DATA/postmaster.pid ]] && is_running; then
        # Line 4 of postmaster.pid is the port.
        sed -n 4p "$DATA/postmaster.pid"
    elif [[ -s $PORT_FILE ]]; then
        cat "$PORT_FILE"
    else
        echo "${CQP_PG_PORT:-$DEFAULT_PORT}"
    fi
}

choose_port() {
    if [[ -n ${CQP_PG_PORT:-} ]]; then
        port_in_use "$CQP_PG_PORT" && die "port $CQP_PG_PORT (CQP_PG_PORT) is already in use"
        echo "$CQP_PG_PORT"
        return
    fi
    local p
    for ((p = DEFAULT_PORT; p <= 54399; p++)); do
        if ! port_in_use "$p"; then
            echo "$p"
            return
        fi
    done
    die "no free port in $DEFAULT_PORT..54399 (set CQP_PG_PORT)"
}

prepare_dirs() {
    mkdir -p "$BASE"
    if [[ $OWNER == postgres ]]; then
        chown postgres:postgres "$BASE"
    fi
    chmod 755 "$BASE"
    as_owner test -w "$BASE" ||
        die "$BASE is not writable by user $OWNER (a parent directory may not be accessible): set CQP_PG_DIR"
}

wait_ready() {
    local port=$1 i
    for ((i = 0; i < 120; i++)); do
        if "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$port" -d postgres; then
            return 0
        fi
        sleep 0.5
    done
    tail -n 30 "$LOG" >&2 || true
    die "PostgreSQL on 127.0.0.1:$port is not ready after 60 s (log: $LOG)"
}

psql_q() {
    local port=$1
    shift
    "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d postgres -tA "$@"
}

ensure_database() {
    local port=$1
    # initdb -U postgres made the superuser role; make sure of it and of the database.
    if [[ $(psql_q "$port" -c "select 1 from pg_roles where rolname = 'postgres'") != 1 ]]; then
        psql_q "$port" -c "create role postgres superuser login"
    fi
    if [[ $(psql_q "$port" -c "select 1 from pg_database where datname = '$DB'") != 1 ]]; then
        psql_q "$port" -c "create database $DB owner postgres"
        log "created database $DB"
    fi
}

start() {
    need_binaries
    local port
    if is_running; then
        port="$(current_port)"
        wait_ready "$port"
        ensure_database "$port"
        return 0
    fi
    prepare_dirs
    if [[ ! -f $DATA/PG_VERSION ]]; then
        rm -rf "$DATA"
        log "initdb in $DATA"
        as_owner "$PGBIN/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
            >"$BASE/initdb.log" 2>&1 || { cat "$BASE/initdb.log" >&2; die "initdb failed"; }
    fi
    port="$(choose_port)"
    echo "$port" >"$PORT_FILE"
    chmod 644 "$PORT_FILE"
    as_owner touch "$LOG"
    log "starting PostgreSQL on 127.0.0.1:$port (data: $DATA)"
    # 9>&-: the server must not inherit the lock (see with_lock).
    as_owner "$PGBIN/pg_ctl" start -D "$DATA" -l "$LOG" -w -t 60 -s -o "\
-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$BASE \
-c fsync=off -c synchronous_commit=off -c full_page_writes=off \
-c max_connections=200 -c shared_buffers=128MB" 9>&- ||
        { tail -n 30 "$LOG" >&2 || true; die "pg_ctl start failed (log: $LOG)"; }
    wait_ready "$port"
    ensure_database "$port"
}

stop() {
    [[ -x $PGBIN/pg_ctl ]] || return 0
    if is_running; then
        as_owner "$PGBIN/pg_ctl" stop -D "$DATA" -m fast -w -t 60 -s
        log "stopped"
    fi
}

with_lock() {
    mkdir -p "$(dirname "$BASE")"
    exec 9>"$BASE.lock"
    flock -w 120 9 || die "could not lock $BASE.lock"
    "$@"
}

case "${1:-}" in
    start) with_lock start ;;
    stop) with_lock stop ;;
    url)
        # Only the URL of this checkout's own running cluster: a default port may be another's.
        is_running || die "this checkout's cluster is not running ($BASE): run scripts/pg.sh start first"
        echo "postgresql+psycopg://postgres@127.0.0.1:$(current_port)/$DB"
        ;;
    status) is_running ;;
    reset)
        with_lock stop
        rm -rf "$BASE"
        log "removed $BASE"
        ;;
    *)
        sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//' >&2
        exit 2
        ;;
esac
