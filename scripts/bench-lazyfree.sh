#!/usr/bin/env bash
# Measures what deleting one very large value costs the other clients: a set of N members
# (default 10 million) is deleted with DEL, then (filled again) with UNLINK, while
# redis-benchmark runs GETs from 50 clients; the slowest GET and the p99 are what the
# other clients felt. Runs against Reddish and a real redis-server in the same run; prints a
# Markdown table on stdout (progress on stderr). Servers start on ephemeral loopback ports.
#
# Usage: scripts/bench-lazyfree.sh [--members N] [--reddish-bin PATH] [--redis-bin PATH]
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

MEMBERS=10000000
REDDISH_BIN=""
REDIS_BIN=redis-server
while [ $# -gt 0 ]; do
    case "$1" in
    --members) MEMBERS=${2:?--members needs a value}; shift ;;
    --reddish-bin) REDDISH_BIN=${2:?--reddish-bin needs a value}; shift ;;
    --redis-bin) REDIS_BIN=${2:?--redis-bin needs a value}; shift ;;
    -h | --help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (try --help)" ;;
    esac
    shift
done

have redis-benchmark && have "$REDIS_BIN" || ensure_redis_tools
have python3 || die "python3 is needed to generate the set"
if [ -z "$REDDISH_BIN" ]; then
    log "cargo build --release"
    cargo build --release >&2
    REDDISH_BIN=target/release/reddish
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/reddish-lazyfree.XXXXXX")
SERVER_PID=""
cleanup() {
    [ -n "$SERVER_PID" ] && stop_pid "$SERVER_PID"
    rm -rf "$WORK"
}
trap cleanup EXIT

log "generating SADD commands for $MEMBERS members"
python3 - "$MEMBERS" >"$WORK/sadd.resp" <<'PY'
import sys
n, batch, out = int(sys.argv[1]), 1000, sys.stdout.buffer
for start in range(0, n, batch):
    parts = [b"SADD", b"big"] + [b"m%d" % i for i in range(start, min(n, start + batch))]
    out.write(b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts))
PY

# measure SERVER-NAME BINARY COMMAND: one row of the table.
measure() {
    local name=$1 bin=$2 command=$3 port
    port=$(free_port)
    "$bin" --port "$port" --save "" --appendonly no >"$WORK/$name.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 200); do port_open "$port" && break; sleep 0.05; done
    redis-cli -p "$port" --pipe <"$WORK/sadd.resp" >/dev/null
    redis-cli -p "$port" SET foo bar >/dev/null
    local members
    members=$(redis-cli -p "$port" SCARD big)
    redis-benchmark -p "$port" -c 50 -n 600000 -t get --csv >"$WORK/bench.csv" 2>&1 &
    local bench=$!
    sleep 1.5
    local start end
    start=$(date +%s%N)
    redis-cli -p "$port" "$command" big >/dev/null
    end=$(date +%s%N)
    wait "$bench"
    # "GET","rps","avg","min","p50","p95","p99","max"
    local row
    row=$(grep '^"GET"' "$WORK/bench.csv" | tr -d '"')
    printf '| %s | %s | %s | %s | %s | %s |\n' "$name" "$command" "$members" \
        "$(((end - start) / 1000000))" "$(cut -d, -f7 <<<"$row")" "$(cut -d, -f8 <<<"$row")"
    redis-cli -p "$port" SHUTDOWN NOSAVE >/dev/null 2>&1 || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}

echo "Command: \`scripts/bench-lazyfree.sh --members $MEMBERS\`; $(date -u '+%Y-%m-%d %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| server | delete | members | delete reply (ms) | GET p99 (ms) | slowest GET (ms) |"
echo "| --- | --- | ---: | ---: | ---: | ---: |"
for command in DEL UNLINK; do
    log "reddish $command"
    measure reddish "$REDDISH_BIN" "$command"
    log "redis $command"
    measure redis "$REDIS_BIN" "$command"
done
