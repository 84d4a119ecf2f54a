# Shared helpers for scripts/*.sh. Source it; it defines functions and changes nothing else.
# shellcheck shell=bash

# Messages go to stderr so that stdout stays clean for results (bench.sh prints a table there).
log() { printf '%s\n' "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}

have() { command -v "$1" >/dev/null 2>&1; }

# Runs a command as root: directly when we are root, else through sudo.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif have sudo; then
        sudo "$@"
    else
        die "need root or sudo to run: $*"
    fi
}

# apt-get install, with a single `apt-get update` per script run.
APT_UPDATED=0
apt_install() {
    have apt-get || die "apt-get not found: install these by hand: $*"
    if [ "$APT_UPDATED" -eq 0 ]; then
        log "apt-get update"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        APT_UPDATED=1
    fi
    log "apt-get install $*"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

# Installs the Redis server and tools (redis-cli, redis-benchmark) when any is missing.
ensure_redis_tools() {
    if ! have redis-server || ! have redis-cli || ! have redis-benchmark; then
        apt_install redis-server redis-tools
    fi
    if ! have redis-server || ! have redis-cli || ! have redis-benchmark; then
        die "redis-server/redis-cli/redis-benchmark still missing after install"
    fi
}

# True when something accepts TCP connections on 127.0.0.1:$1.
port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Prints a loopback port that was free a moment ago.
free_port() {
    if have python3; then
        python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
        return
    fi
    local port tries
    for tries in $(seq 1 100); do
        port=$((20000 + RANDOM % 30000))
        if ! port_open "$port"; then
            echo "$port"
            return
        fi
    done
    die "no free port found after $tries tries"
}

# wait_port PORT PID SECONDS: waits until the port accepts connections; fails early when the
# process PID exits.
wait_port() {
    local port=$1 pid=$2 seconds=$3 _
    for _ in $(seq 1 $((seconds * 20))); do
        kill -0 "$pid" 2>/dev/null || return 1
        port_open "$port" && return 0
        sleep 0.05
    done
    return 1
}

# stop_pid PID: SIGTERM, wait up to 10 s, then SIGKILL. Only for processes this script started.
stop_pid() {
    local pid=$1 _
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}
