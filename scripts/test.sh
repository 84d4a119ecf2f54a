#!/usr/bin/env bash
# Runs every check of the project on a fresh Debian machine, installing what is missing:
#   redis-server + redis-tools (reference server, redis-cli, redis-benchmark),
#   a Python venv in target/test-env with SecantusDB (a MongoDB-compatible server for the
#   persistence tests; its address is exported as MONGODB_URI),
# then cargo fmt --check, cargo clippy, cargo test --release, Redis's own test suite
# (scripts/redis-suite.sh against tests/redis-suite-expected-failures.txt), the fuzz targets
# of fuzz/ for FUZZ_SECONDS each, two at a time (default 60; nightly Rust and cargo-fuzz are
# installed when missing), scripts/apps.sh (real applications: BullMQ, Celery, RQ, Sidekiq, ...
# against Reddish and redis-server) and scripts/windows-check.sh (beside the fuzz targets).
# Ends with "N passed, N failed" (cargo tests plus the script's own steps); exits non-zero on
# any failure.
#
# Usage: scripts/test.sh [--skip-windows] [--skip-fuzz] [--skip-apps]
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

SECANTUSDB_VERSION=0.7.0b3
# redis-py, the client library tests drive Reddish with (its Lock class runs Lua scripts).
REDIS_PY_VERSION=5.2.1
VENV=target/test-env
LOG_DIR=target/test-logs

SKIP_WINDOWS=0
SKIP_FUZZ=0
SKIP_APPS=0
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
for arg in "$@"; do
    case "$arg" in
    --skip-windows) SKIP_WINDOWS=1 ;;
    --skip-fuzz) SKIP_FUZZ=1 ;;
    --skip-apps) SKIP_APPS=1 ;;
    -h | --help)
        sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *) die "unknown argument: $arg (try --help)" ;;
    esac
done

PASSED=0
FAILED=0
FAILED_NAMES=()

# "name: N s" for each step run, printed again at the end: CI shows only the end of the log.
STEP_TIMES=()

SUMMARY_DONE=0
summary() {
    if [ "${#STEP_TIMES[@]}" -gt 0 ]; then
        log "time by step: ${STEP_TIMES[*]}"
    fi
    if [ "${#FAILED_NAMES[@]}" -gt 0 ]; then
        log "failed: ${FAILED_NAMES[*]}"
    fi
    echo "$PASSED passed, $FAILED failed"
    SUMMARY_DONE=1
}

# step NAME COMMAND...: runs one check, counting it, and carries on whatever the outcome.
step() {
    local name=$1 start=$SECONDS
    shift
    log ""
    log "==> $name"
    if "$@"; then
        PASSED=$((PASSED + 1))
        log "PASS $name ($((SECONDS - start)) s)"
        STEP_TIMES+=("$name: $((SECONDS - start)) s;")
    else
        FAILED=$((FAILED + 1))
        FAILED_NAMES+=("$name")
        log "FAIL $name ($((SECONDS - start)) s)"
        STEP_TIMES+=("$name: $((SECONDS - start)) s (failed);")
    fi
}

# A failure before the checks can run; the exit trap reports it in the summary.
setup_failed() {
    log "FAIL setup: $*"
    exit 1
}

# --- setup -------------------------------------------------------------------------------

ensure_rust() {
    if ! have cargo && [ -x "$HOME/.cargo/bin/cargo" ]; then
        export PATH="$HOME/.cargo/bin:$PATH"
    fi
    if ! have cargo; then
        have curl || apt_install curl ca-certificates
        log "installing Rust with rustup"
        curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs |
            sh -s -- -y --profile minimal --component rustfmt,clippy >&2
        export PATH="$HOME/.cargo/bin:$PATH"
    fi
    if ! cargo fmt --version >/dev/null 2>&1; then
        have rustup || setup_failed "cargo fmt missing and no rustup to add it"
        rustup component add rustfmt >&2
    fi
    if ! cargo clippy --version >/dev/null 2>&1; then
        have rustup || setup_failed "cargo clippy missing and no rustup to add it"
        rustup component add clippy >&2
    fi
    have cc || apt_install gcc libc6-dev
    # `ss` shows the server sockets' keepalive timers to tests/network.rs.
    have ss || apt_install iproute2
    # tests/tls.rs makes its CA and certificates with the openssl CLI.
    have openssl || apt_install openssl
}

# cargo-fuzz builds with nightly Rust (sanitizer flags).
ensure_fuzz() {
    have rustup || { log "no rustup: cannot add the nightly toolchain for fuzzing"; return 1; }
    if ! cargo +nightly --version >/dev/null 2>&1; then
        log "installing the nightly toolchain for cargo-fuzz"
        rustup toolchain install nightly --profile minimal >&2 || return 1
    fi
    if ! cargo fuzz --version >/dev/null 2>&1; then
        log "installing cargo-fuzz"
        cargo install cargo-fuzz --locked >&2 || return 1
    fi
}

# Runs one fuzz target for FUZZ_SECONDS, niced so that the Windows check beside it keeps its
# share of the CPU (the run is bounded in time, not in executions).
fuzz_one() {
    (cd fuzz && nice -n 10 cargo +nightly fuzz run "$1" -- -max_total_time="$FUZZ_SECONDS" \
        >"../$LOG_DIR/fuzz-$1.log" 2>&1) || {
        log "fuzz target $1 failed: see $LOG_DIR/fuzz-$1.log"
        return 1
    }
}

# Runs every fuzz target of fuzz/ for FUZZ_SECONDS; a crash (or a failed build) fails it. The
# targets are built in one cargo run, then run two at a time: libFuzzer uses one core.
run_fuzz() {
    ensure_fuzz || return 1
    local status=0 first second
    log "building the fuzz targets"
    local build_start=$SECONDS
    (cd fuzz && cargo +nightly fuzz build >"../$LOG_DIR/fuzz-build.log" 2>&1) || {
        log "the fuzz targets do not build: see $LOG_DIR/fuzz-build.log"
        return 1
    }
    STEP_TIMES+=("fuzz build: $((SECONDS - build_start)) s;")
    set -- $(cd fuzz && cargo +nightly fuzz list)
    while [ $# -gt 0 ]; do
        first=$1
        second=${2:-}
        log "fuzzing $first${second:+ and $second} for $FUZZ_SECONDS s"
        fuzz_one "$first" &
        local first_pid=$!
        if [ -n "$second" ]; then
            fuzz_one "$second" || status=1
        fi
        wait "$first_pid" || status=1
        shift
        [ -n "$second" ] && shift
    done
    return "$status"
}

# Prints the first Python >= 3.10 found.
find_python() {
    local candidate
    for candidate in python3.13 python3.12 python3.11 python3.10 python3; do
        if have "$candidate" &&
            "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

# The venv is reused across runs; a stamp file records the installed versions.
ensure_secantusdb() {
    local stamp="$VENV/.secantusdb-$SECANTUSDB_VERSION-redis-py-$REDIS_PY_VERSION"
    if [ -f "$stamp" ] && [ -x "$VENV/bin/secantusd-py" ] && "$VENV/bin/python" -c '' 2>/dev/null; then
        return 0
    fi
    local python
    if ! python=$(find_python); then
        apt_install python3 python3-venv python3-pip
        python=$(find_python) || setup_failed "no Python >= 3.10 available"
    fi
    rm -rf "$VENV"
    if ! "$python" -m venv "$VENV" >&2; then
        # Debian ships the venv module separately.
        rm -rf "$VENV"
        apt_install python3-venv
        "$python" -m venv "$VENV" >&2 || setup_failed "cannot create a venv with $python"
    fi
    log "installing secantusdb==$SECANTUSDB_VERSION and redis==$REDIS_PY_VERSION into $VENV"
    "$VENV/bin/python" -m pip install --quiet "secantusdb==$SECANTUSDB_VERSION" \
        "redis==$REDIS_PY_VERSION" >&2 ||
        setup_failed "pip install secantusdb==$SECANTUSDB_VERSION redis==$REDIS_PY_VERSION failed"
    touch "$stamp"
}

SECANTUS_PID=""
SECANTUS_DIR=""
# The Windows check while it runs in the background (see main).
WINDOWS_PID=""
WINDOWS_START=0

# Stops SecantusDB and, when the run ended early (setup failure, die, interrupt), still prints
# the summary line with that failure counted.
on_exit() {
    local status=$?
    if [ -n "$WINDOWS_PID" ]; then
        kill -- "$WINDOWS_PID" 2>/dev/null || true
        WINDOWS_PID=""
    fi
    if [ -n "$SECANTUS_PID" ]; then
        stop_pid "$SECANTUS_PID"
        SECANTUS_PID=""
    fi
    if [ -n "$SECANTUS_DIR" ]; then
        rm -rf "$SECANTUS_DIR"
        SECANTUS_DIR=""
    fi
    if [ "$SUMMARY_DONE" -eq 0 ]; then
        FAILED=$((FAILED + 1))
        FAILED_NAMES+=("setup (or interrupted)")
        summary
    fi
    exit "$status"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Starts SecantusDB on a kernel-chosen port and exports MONGODB_URI.
start_secantusdb() {
    local server_bin="$PWD/$VENV/bin/secantusd-py"
    SECANTUS_DIR=$(mktemp -d "$PWD/$VENV/run.XXXXXX")
    # An explicit (empty) config file turns off the search for secantusd.toml in the working
    # directory and the home directory, so the run does not depend on this machine.
    : >"$SECANTUS_DIR/secantusd.toml"
    (
        cd "$SECANTUS_DIR"
        exec "$server_bin" --config "$SECANTUS_DIR/secantusd.toml" \
            --host 127.0.0.1 --port 0 --standalone --storage-path "$SECANTUS_DIR/data"
    ) >"$SECANTUS_DIR/server.log" 2>&1 &
    SECANTUS_PID=$!
    local port="" _
    for _ in $(seq 1 1200); do
        if ! kill -0 "$SECANTUS_PID" 2>/dev/null; then
            cat "$SECANTUS_DIR/server.log" >&2
            setup_failed "SecantusDB exited during start-up (log above)"
        fi
        # The start-up line reads "... listening on 127.0.0.1:PORT".
        port=$(grep -oE 'listening on [^ ]*:[0-9]+' "$SECANTUS_DIR/server.log" 2>/dev/null |
            head -n 1 | grep -oE '[0-9]+$' || true)
        if [ -n "$port" ] && port_open "$port"; then
            break
        fi
        port=""
        sleep 0.05
    done
    if [ -z "$port" ]; then
        cat "$SECANTUS_DIR/server.log" >&2
        setup_failed "SecantusDB did not accept connections within 60 s (log above)"
    fi
    export MONGODB_URI="mongodb://127.0.0.1:$port"
    log "SecantusDB (pid $SECANTUS_PID) at $MONGODB_URI"
}

# --- checks --------------------------------------------------------------------------------

TEST_PASSED=0
TEST_FAILED=0

# cargo test --release (the release profile: heavy tests run fast and the build is shared
# with bench.sh), counting the "test result:" lines.
run_cargo_tests() {
    local log_file="$LOG_DIR/cargo-test.log" status=0
    cargo test --release --no-fail-fast 2>&1 | tee "$log_file" || status=$?
    local counts
    counts=$(sed -nE 's/^test result: [A-Za-z]+\. ([0-9]+) passed; ([0-9]+) failed.*/\1 \2/p' "$log_file" |
        awk '{ p += $1; f += $2 } END { print p + 0, f + 0 }')
    TEST_PASSED=${counts% *}
    TEST_FAILED=${counts#* }
    log "cargo test: $TEST_PASSED passed, $TEST_FAILED failed (log: $log_file)"
    [ "$status" -eq 0 ] && [ "$TEST_FAILED" -eq 0 ]
}

# wait_for_log PID LOG: waits for a background check, shows its output, returns its status.
wait_for_log() {
    local status=0
    wait "$1" || status=$?
    cat "$2" >&2
    return "$status"
}

main() {
    local start=$SECONDS
    mkdir -p "$LOG_DIR"

    log "==> setup"
    ensure_redis_tools
    ensure_rust
    ensure_secantusdb
    start_secantusdb
    # Tests that drive Reddish through real client libraries run this Python.
    export REDDISH_TEST_PYTHON="$PWD/$VENV/bin/python"
    PASSED=$((PASSED + 1))
    log "PASS setup ($((SECONDS - start)) s)"
    STEP_TIMES+=("setup: $((SECONDS - start)) s;")

    step "cargo fmt --check" cargo fmt --all -- --check
    # In the release profile, as the tests build: the build scripts' output (ring's and Lua's C)
    # and the proc macros are built once for both.
    step "cargo clippy" cargo clippy --release --all-targets -- -D warnings
    step "cargo test --release" run_cargo_tests
    PASSED=$((PASSED + TEST_PASSED))
    FAILED=$((FAILED + TEST_FAILED))

    # Redis's own test suite, against the binary cargo test built: every failure must be in
    # the expected-failures list and every listed test must still fail.
    step "Redis 7.0.15 test suite" bash scripts/redis-suite.sh \
        --reddish-bin target/release/reddish --clients 1 --timeout 300 \
        --expected tests/redis-suite-expected-failures.txt

    # The applications people run on Redis, against the same binary and this SecantusDB.
    if [ "$SKIP_APPS" -eq 1 ]; then
        log ""
        log "SKIP applications: --skip-apps given"
    else
        step "applications (scripts/apps.sh)" bash scripts/apps.sh --reddish-bin target/release/reddish
    fi

    # The Windows check (a cross build, then mostly waiting on Wine) runs beside the fuzz
    # targets (niced, for FUZZ_SECONDS each): together they take about the time of the
    # longer one. The toolchains are installed first, so the two never run rustup at once;
    # its output is shown when it ends.
    local windows_log="$LOG_DIR/windows-check.log"
    if [ "$SKIP_FUZZ" -eq 0 ]; then
        step "fuzzing tools (nightly Rust, cargo-fuzz)" ensure_fuzz
    fi
    if [ "$SKIP_WINDOWS" -eq 1 ]; then
        log ""
        log "SKIP windows check: --skip-windows given"
    elif [ -f scripts/windows-check.sh ]; then
        bash scripts/windows-check.sh >"$windows_log" 2>&1 &
        WINDOWS_PID=$!
        WINDOWS_START=$SECONDS
    else
        log ""
        log "SKIP windows check: scripts/windows-check.sh not found"
    fi

    if [ "$SKIP_FUZZ" -eq 1 ]; then
        log ""
        log "SKIP fuzzing: --skip-fuzz given"
    else
        step "fuzz targets ($FUZZ_SECONDS s each)" run_fuzz
    fi

    if [ -n "$WINDOWS_PID" ]; then
        step "windows check" wait_for_log "$WINDOWS_PID" "$windows_log"
        STEP_TIMES+=("windows check from its start: $((SECONDS - WINDOWS_START)) s;")
        WINDOWS_PID=""
    fi

    log ""
    log "total time: $((SECONDS - start)) s"
    summary
    [ "$FAILED" -eq 0 ]
}

main
