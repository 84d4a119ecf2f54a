#!/usr/bin/env bash
# Runs the applications people run on Redis against Reddish and against redis-server 7.0.15,
# and compares what each application observed. Installs what is missing, every version pinned:
#   Python libraries (tests/apps/requirements.txt) into the test venv target/test-env,
#   Node libraries (tests/apps/package.json + package-lock.json) with `npm ci` into
#   target/apps-node, Ruby's Sidekiq from Debian's ruby-sidekiq, node and npm from Debian.
# Each workload is a program under tests/apps/ given HOST:PORT (and a phase, below); it prints
# its observations on stdout and exits non-zero when the library broke a promise it makes. A
# workload passes when it succeeds against both servers with the same observations.
# Every workload also runs once more against a Reddish keeping its data in MongoDB
# (MONGODB_URI, else a SecantusDB of its own) and restarted in its middle: phase "before"
# (jobs enqueued, some done), SIGTERM, Reddish started again on the same data, phase "after"
# (the rest done); the observations must equal those of both phases run against redis-server
# without a restart, so no job was lost. Workloads marked "live" also run phase "live", where
# the restart comes while the application is connected and working (it asks for it by
# creating the file $APP_RESTART_REQUEST and goes on at $APP_RESTART_DONE); redis-server then
# keeps its data in an append-only file.
# Prints one line per workload and ends with "N passed, N failed"; exits non-zero on any failure.
#
# Usage: scripts/apps.sh [--reddish-bin PATH] [--only NAME,...] [--skip-persistence]
#   --reddish-bin  the server to test (default: target/release/reddish, built when missing)
#   --only         run only these workloads (names as printed, without "+restart")
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

SECANTUSDB_VERSION=${SECANTUSDB_VERSION:-0.7.0b3}
VENV=target/test-env
NODE_DIR=target/apps-node
APPS_DIR=tests/apps
LOG_DIR=target/apps-logs
# One workload gets this long per phase against one server before it counts as failed.
WORKLOAD_TIMEOUT=${WORKLOAD_TIMEOUT:-120}

REDDISH_BIN=""
ONLY=""
SKIP_PERSISTENCE=0
while [ $# -gt 0 ]; do
    case "$1" in
    --reddish-bin)
        REDDISH_BIN=${2:?--reddish-bin needs a path}
        shift 2
        ;;
    --only)
        ONLY=${2:?--only needs names}
        shift 2
        ;;
    --skip-persistence)
        SKIP_PERSISTENCE=1
        shift
        ;;
    -h | --help)
        sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *) die "unknown argument: $1 (try --help)" ;;
    esac
done

# name|interpreter|program|restarts: "phases" runs the workload also as two phases with a
# restart between them, "live" also with a restart it asks for while connected.
WORKLOADS=(
    "redis-py|python|redis_py.py|phases"
    "rq|python|rq_jobs.py|phases"
    "bullmq|node|bullmq.js|phases,live"
    "bull|node|bull.js|phases,live"
    "bull-v3|node|bull-v3.js|phases,live"
    "celery|python|celery_jobs.py|phases"
    "redlock+rate-limiter-flexible|node|locks.js|phases"
    "django-cache|python|django_cache.py|phases"
    "socket.io-redis-adapter|node|socketio.js|live"
    "sidekiq|ruby|sidekiq_jobs.rb|phases"
)

PASSED=0
FAILED=0
PIDS=()
TMP_DIRS=()
SECANTUS_PID=""

on_exit() {
    local pid dir
    for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
    [ -n "$SECANTUS_PID" ] && stop_pid "$SECANTUS_PID"
    for dir in "${TMP_DIRS[@]}"; do rm -rf "$dir"; done
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- setup -------------------------------------------------------------------------------

# The venv test.sh makes (SecantusDB, redis-py) plus tests/apps/requirements.txt; a stamp
# named after the requirements' checksum says they are in.
ensure_python_libs() {
    local sum stamp python
    sum=$(cksum <"$APPS_DIR/requirements.txt" | cut -d' ' -f1)
    stamp="$VENV/.apps-$sum"
    if [ -f "$stamp" ] && "$VENV/bin/python" -c '' 2>/dev/null && [ -x "$VENV/bin/secantusd-py" ]; then
        return 0
    fi
    if ! "$VENV/bin/python" -c '' 2>/dev/null; then
        python=$(command -v python3) || { apt_install python3 python3-venv python3-pip && python=python3; }
        rm -rf "$VENV"
        "$python" -m venv "$VENV" >&2 || {
            apt_install python3-venv
            "$python" -m venv "$VENV" >&2
        }
    fi
    log "installing $APPS_DIR/requirements.txt and secantusdb==$SECANTUSDB_VERSION into $VENV"
    "$VENV/bin/python" -m pip install --quiet "secantusdb==$SECANTUSDB_VERSION" \
        -r "$APPS_DIR/requirements.txt" >&2
    rm -f "$VENV"/.apps-*
    touch "$stamp"
}

ensure_node_libs() {
    have node && have npm || apt_install nodejs npm
    if [ -f "$NODE_DIR/.installed" ] &&
        cmp -s "$APPS_DIR/package-lock.json" "$NODE_DIR/package-lock.json"; then
        return 0
    fi
    log "installing the Node libraries of $APPS_DIR/package-lock.json into $NODE_DIR"
    rm -rf "$NODE_DIR"
    mkdir -p "$NODE_DIR"
    cp "$APPS_DIR/package.json" "$APPS_DIR/package-lock.json" "$NODE_DIR/"
    npm ci --prefix "$NODE_DIR" --no-audit --no-fund >&2
    touch "$NODE_DIR/.installed"
}

ensure_sidekiq() {
    if ! have ruby || ! ruby -e 'require "sidekiq"' 2>/dev/null; then
        apt_install ruby ruby-sidekiq
    fi
}

ensure_reddish() {
    if [ -z "$REDDISH_BIN" ]; then
        REDDISH_BIN=target/release/reddish
        [ -x "$REDDISH_BIN" ] || cargo build --release >&2
    fi
    [ -x "$REDDISH_BIN" ] || die "no Reddish binary at $REDDISH_BIN"
    REDDISH_BIN=$(cd "$(dirname "$REDDISH_BIN")" && pwd)/$(basename "$REDDISH_BIN")
}

# Starts SecantusDB on a kernel-chosen port and sets MONGODB_URI.
start_secantusdb() {
    local dir port="" _ server_bin="$PWD/$VENV/bin/secantusd-py"
    dir=$(mktemp -d)
    TMP_DIRS+=("$dir")
    : >"$dir/secantusd.toml"
    (cd "$dir" && exec "$server_bin" --config "$dir/secantusd.toml" \
        --host 127.0.0.1 --port 0 --standalone --storage-path "$dir/data") >"$dir/server.log" 2>&1 &
    SECANTUS_PID=$!
    for _ in $(seq 1 1200); do
        kill -0 "$SECANTUS_PID" 2>/dev/null || break
        port=$(grep -oE 'listening on [^ ]*:[0-9]+' "$dir/server.log" 2>/dev/null |
            head -n 1 | grep -oE '[0-9]+$' || true)
        [ -n "$port" ] && port_open "$port" && break
        port=""
        sleep 0.05
    done
    if [ -z "$port" ]; then
        cat "$dir/server.log" >&2
        return 1
    fi
    MONGODB_URI="mongodb://127.0.0.1:$port"
}

# --- servers -------------------------------------------------------------------------------

SERVER_PID=""
SERVER_PORT=""
# When set, redis-server keeps its data there (an append-only file) across a restart.
REDIS_DATA_DIR=""

# start_server KIND LOGFILE [REDDISH ARGS...]: KIND is redis or reddish; sets SERVER_PID and
# SERVER_PORT (a new ephemeral port unless SERVER_PORT is already set).
start_server() {
    local kind=$1 logfile=$2 try dir
    shift 2
    for try in 1 2 3; do
        [ -n "$SERVER_PORT" ] || SERVER_PORT=$(free_port)
        if [ "$kind" = redis ]; then
            if [ -n "$REDIS_DATA_DIR" ]; then
                # Kept across a restart: every write in the append-only file at once.
                /usr/bin/redis-server --port "$SERVER_PORT" --bind 127.0.0.1 --save "" \
                    --appendonly yes --appendfsync always --dir "$REDIS_DATA_DIR" \
                    >>"$logfile" 2>&1 &
            else
                dir=$(mktemp -d)
                TMP_DIRS+=("$dir")
                /usr/bin/redis-server --port "$SERVER_PORT" --bind 127.0.0.1 --save "" \
                    --appendonly no --dir "$dir" >>"$logfile" 2>&1 &
            fi
        else
            "$REDDISH_BIN" --port "$SERVER_PORT" --bind 127.0.0.1 "$@" >>"$logfile" 2>&1 &
        fi
        SERVER_PID=$!
        PIDS+=("$SERVER_PID")
        wait_port "$SERVER_PORT" "$SERVER_PID" 60 && return 0
        stop_pid "$SERVER_PID"
        log "$kind did not start on port $SERVER_PORT (try $try)"
        SERVER_PORT=""
    done
    return 1
}

# run_phase INTERPRETER PROGRAM PORT PHASE OUTFILE LOGFILE
run_phase() {
    local interpreter=$1 program=$2 port=$3 phase=$4 out=$5 logfile=$6 cmd
    case "$interpreter" in
    python) cmd=("$PWD/$VENV/bin/python" "$APPS_DIR/$program") ;;
    node) cmd=(env NODE_PATH="$PWD/$NODE_DIR/node_modules" node "$APPS_DIR/$program") ;;
    ruby) cmd=(ruby "$APPS_DIR/$program") ;;
    esac
    echo "--- phase $phase" >>"$logfile"
    timeout --kill-after=5 "$WORKLOAD_TIMEOUT" "${cmd[@]}" "127.0.0.1:$port" "$phase" \
        >>"$out" 2>>"$logfile"
}

# observe KIND NAME INTERPRETER PROGRAM OUTFILE: both phases in one go against a fresh server.
observe() {
    local kind=$1 name=$2 interpreter=$3 program=$4 out=$5 status=0
    local logfile="$LOG_DIR/$name.$kind.log"
    : >"$logfile"
    SERVER_PORT=""
    start_server "$kind" "$logfile" || return 1
    run_phase "$interpreter" "$program" "$SERVER_PORT" all "$out" "$logfile" || status=$?
    stop_pid "$SERVER_PID"
    return "$status"
}

# observe_restart NAME INTERPRETER PROGRAM OUTFILE: phase before, SIGTERM, Reddish started
# again on the same MongoDB data (and port), phase after.
observe_restart() {
    local name=$1 interpreter=$2 program=$3 out=$4 status=0
    local logfile="$LOG_DIR/$name.reddish-restart.log" database
    database="apps_$(echo "$name" | tr -c 'a-z0-9\n' '_')"
    : >"$logfile"
    SERVER_PORT=""
    local args=(--mongodb-uri "$MONGODB_URI" --mongodb-database "$database")
    start_server reddish "$logfile" "${args[@]}" || return 1
    run_phase "$interpreter" "$program" "$SERVER_PORT" before "$out" "$logfile" || status=$?
    stop_pid "$SERVER_PID"
    [ "$status" -eq 0 ] || return "$status"
    start_server reddish "$logfile" "${args[@]}" || return 1
    run_phase "$interpreter" "$program" "$SERVER_PORT" after "$out" "$logfile" || status=$?
    stop_pid "$SERVER_PID"
    return "$status"
}

# run_live INTERPRETER PROGRAM OUTFILE LOGFILE KIND [REDDISH ARGS...]: phase "live", whose
# program asks for a restart in its middle by creating the file APP_RESTART_REQUEST; the server
# is then stopped (SIGTERM) and started again on the same port (and data), and the file
# APP_RESTART_DONE tells the program to go on.
run_live() {
    local interpreter=$1 program=$2 out=$3 logfile=$4 kind=$5 dir pid status=0
    shift 5
    dir=$(mktemp -d)
    TMP_DIRS+=("$dir")
    APP_RESTART_REQUEST="$dir/request" APP_RESTART_DONE="$dir/done" \
        run_phase "$interpreter" "$program" "$SERVER_PORT" live "$out" "$logfile" &
    pid=$!
    while kill -0 "$pid" 2>/dev/null; do
        if [ -e "$dir/request" ] && [ ! -e "$dir/done" ]; then
            echo "--- restart" >>"$logfile"
            stop_pid "$SERVER_PID"
            start_server "$kind" "$logfile" "$@" || break
            touch "$dir/done"
        fi
        sleep 0.05
    done
    wait "$pid" || status=$?
    stop_pid "$SERVER_PID"
    return "$status"
}

# observe_live_restart KIND NAME INTERPRETER PROGRAM OUTFILE: phase "live" with a restart in
# its middle, the application connected; Reddish keeps its data in MongoDB, redis-server in an
# append-only file.
observe_live_restart() {
    local kind=$1 name=$2 interpreter=$3 program=$4 out=$5 args=() status=0
    local logfile="$LOG_DIR/$name.$kind-live.log"
    : >"$logfile"
    SERVER_PORT=""
    if [ "$kind" = reddish ]; then
        args=(--mongodb-uri "$MONGODB_URI" --mongodb-database "apps_live_$(echo "$name" | tr -c 'a-z0-9\n' '_')")
    else
        REDIS_DATA_DIR=$(mktemp -d)
        TMP_DIRS+=("$REDIS_DATA_DIR")
    fi
    start_server "$kind" "$logfile" "${args[@]}" || return 1
    run_live "$interpreter" "$program" "$out" "$logfile" "$kind" "${args[@]}" || status=$?
    REDIS_DATA_DIR=""
    return "$status"
}

# observe_phases_on_redis NAME INTERPRETER PROGRAM OUTFILE: the same two phases, no restart.
observe_phases_on_redis() {
    local name=$1 interpreter=$2 program=$3 out=$4 status=0
    local logfile="$LOG_DIR/$name.redis-phases.log"
    : >"$logfile"
    SERVER_PORT=""
    start_server redis "$logfile" || return 1
    run_phase "$interpreter" "$program" "$SERVER_PORT" before "$out" "$logfile" || status=$?
    [ "$status" -eq 0 ] &&
        { run_phase "$interpreter" "$program" "$SERVER_PORT" after "$out" "$logfile" || status=$?; }
    stop_pid "$SERVER_PID"
    return "$status"
}

# report NAME START REDIS_STATUS REDIS_OUT REDDISH_STATUS REDDISH_OUT
report() {
    local name=$1 start=$2 redis_status=$3 redis_out=$4 reddish_status=$5 reddish_out=$6
    local took=$((SECONDS - start)) reason=""
    if [ "$redis_status" -ne 0 ]; then
        reason="failed against redis-server (exit $redis_status)"
    elif [ "$reddish_status" -ne 0 ]; then
        reason="failed against Reddish (exit $reddish_status)"
    elif ! cmp -s "$redis_out" "$reddish_out"; then
        reason="Reddish observed otherwise than redis-server"
    fi
    if [ -z "$reason" ]; then
        PASSED=$((PASSED + 1))
        echo "PASS $name ($(wc -l <"$reddish_out") observations, ${took} s)"
    else
        FAILED=$((FAILED + 1))
        echo "FAIL $name: $reason (${took} s; logs: $LOG_DIR/$name.*)"
        diff "$redis_out" "$reddish_out" | head -n 20 >&2 || true
    fi
}

selected() {
    [ -z "$ONLY" ] && return 0
    case ",$ONLY," in *",$1,"*) return 0 ;; esac
    return 1
}

# Dies on a name given to --only that no workload has.
check_only() {
    local wanted entry known
    [ -n "$ONLY" ] || return 0
    for wanted in ${ONLY//,/ }; do
        known=0
        for entry in "${WORKLOADS[@]}"; do
            [ "${entry%%|*}" = "$wanted" ] && known=1
        done
        [ "$known" -eq 1 ] || die "no workload named $wanted (see the list in $0)"
    done
}

main() {
    local start=$SECONDS entry name interpreter program phases begin
    local redis_status reddish_status
    check_only
    mkdir -p "$LOG_DIR"
    ensure_redis_tools
    ensure_reddish
    ensure_python_libs
    ensure_node_libs
    ensure_sidekiq
    # scripts/test.sh lends its SecantusDB through MONGODB_URI.
    if [ "$SKIP_PERSISTENCE" -eq 0 ] && [ -z "${MONGODB_URI:-}" ]; then
        start_secantusdb || die "SecantusDB did not start (log above)"
    fi
    log "setup done in $((SECONDS - start)) s"

    for entry in "${WORKLOADS[@]}"; do
        IFS='|' read -r name interpreter program phases <<<"$entry"
        selected "$name" || continue
        begin=$SECONDS
        rm -f "$LOG_DIR/$name".*
        redis_status=0
        reddish_status=0
        observe redis "$name" "$interpreter" "$program" "$LOG_DIR/$name.redis.out" || redis_status=$?
        observe reddish "$name" "$interpreter" "$program" "$LOG_DIR/$name.reddish.out" ||
            reddish_status=$?
        report "$name" "$begin" "$redis_status" "$LOG_DIR/$name.redis.out" \
            "$reddish_status" "$LOG_DIR/$name.reddish.out"

        if [[ ",$phases," == *,live,* ]] && [ "$SKIP_PERSISTENCE" -eq 0 ]; then
            begin=$SECONDS
            redis_status=0
            reddish_status=0
            observe_live_restart redis "$name" "$interpreter" "$program" \
                "$LOG_DIR/$name.redis-live.out" || redis_status=$?
            observe_live_restart reddish "$name" "$interpreter" "$program" \
                "$LOG_DIR/$name.reddish-live.out" || reddish_status=$?
            report "$name+live-restart" "$begin" "$redis_status" "$LOG_DIR/$name.redis-live.out" \
                "$reddish_status" "$LOG_DIR/$name.reddish-live.out"
        fi
        if [[ ",$phases," == *,phases,* ]] && [ "$SKIP_PERSISTENCE" -eq 0 ]; then
            begin=$SECONDS
            redis_status=0
            reddish_status=0
            observe_phases_on_redis "$name" "$interpreter" "$program" \
                "$LOG_DIR/$name.redis-phases.out" || redis_status=$?
            observe_restart "$name" "$interpreter" "$program" \
                "$LOG_DIR/$name.reddish-restart.out" || reddish_status=$?
            report "$name+restart" "$begin" "$redis_status" "$LOG_DIR/$name.redis-phases.out" \
                "$reddish_status" "$LOG_DIR/$name.reddish-restart.out"
        fi
    done

    log "total time: $((SECONDS - start)) s"
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
}

main
