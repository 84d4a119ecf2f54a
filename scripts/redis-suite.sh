#!/usr/bin/env bash
# Runs Redis 7.0.15's own TCL unit tests (tests/unit/*.tcl and tests/unit/type/*.tcl, the
# cluster and module folders aside) against Reddish, one file at a time with a per-file timeout,
# and prints a table: unit, passed, failed, skipped, status (done / aborted / timed out), then
# the totals.
#
# The Redis source tree comes from Debian's source package (a private deb-src list, so the
# machine's apt sources are untouched) and is cached in target/redis-suite/. As in Redis's own
# CI, the harness starts the server itself: the tree's src/redis-server is a link to the server
# under test, src/redis-cli and src/redis-benchmark to Debian's tools.
#
# Usage: scripts/redis-suite.sh [options] [UNIT...]
#   --reddish-bin PATH  server under test (default target/release/reddish)
#   --reference         run against Debian's real /usr/bin/redis-server instead
#   --compare           run real Redis, then Reddish, on each unit: one table, both columns
#   --host H --port P   external mode: test an already running server, start none
#   --clients N         parallel test clients of the harness (default 2)
#   --timeout S         seconds one unit file may take before it is stopped (default 600)
#   --out FILE          also write the table to FILE
#   --expected FILE     after the run, compare Reddish's failures with FILE (lines "unit | test
#                       name | reason"); exit non-zero on a failed test not listed, a listed test
#                       that passed or did not run, or a unit file that did not run to its end
#   --no-durable        stop each file at its first exception (the harness's default), to see
#                       where a file stops rather than how many of its tests pass
#   UNIT...             run only these units (e.g. keyspace type/list); default all
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

REDIS_VERSION=7.0.15
WORK=$PWD/target/redis-suite
TREE=$WORK/redis-$REDIS_VERSION

SERVER_BIN=$PWD/target/release/reddish
REFERENCE=0
COMPARE=0
HOST=""
PORT=""
CLIENTS=2
UNIT_TIMEOUT=600
OUT=""
DURABLE=1
EXPECTED=""
UNITS=()
while [ $# -gt 0 ]; do
    case "$1" in
    --reddish-bin)
        SERVER_BIN=$(realpath "$2")
        shift
        ;;
    --reference) REFERENCE=1 ;;
    --no-durable) DURABLE=0 ;;
    --expected)
        EXPECTED=$(realpath "$2")
        shift
        ;;
    --compare) COMPARE=1 ;;
    --host)
        HOST=$2
        shift
        ;;
    --port)
        PORT=$2
        shift
        ;;
    --clients)
        CLIENTS=$2
        shift
        ;;
    --timeout)
        UNIT_TIMEOUT=$2
        shift
        ;;
    --out)
        OUT=$2
        shift
        ;;
    -h | --help)
        sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    --*) die "unknown argument: $1 (try --help)" ;;
    *) UNITS+=("$1") ;;
    esac
    shift
done
if [ -n "$HOST" ] || [ -n "$PORT" ]; then
    [ -n "$HOST" ] && [ -n "$PORT" ] || die "external mode needs both --host and --port"
fi

# Downloads and unpacks Debian's source package of Redis through apt with a private
# configuration: its own deb-src list, package lists and cache, all under $WORK/apt.
fetch_tree() {
    [ -f "$TREE/tests/test_helper.tcl" ] && return 0
    have dpkg-source || apt_install dpkg-dev
    local apt=$WORK/apt codename
    codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
    mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/sources.list.d"
    printf 'deb-src http://deb.debian.org/debian %s main\n' "$codename" >"$apt/sources.list"
    local options=(
        -o "Dir::Etc::SourceList=$apt/sources.list"
        -o "Dir::Etc::SourceParts=$apt/sources.list.d"
        -o "Dir::State::Lists=$apt/lists"
        -o "Dir::Cache=$apt/cache"
        -o "APT::Sandbox::User=root"
    )
    log "fetching Debian's redis source package"
    apt-get "${options[@]}" update -qq
    (cd "$WORK" && apt-get "${options[@]}" source --download-only "redis=5:$REDIS_VERSION*" ||
        apt-get "${options[@]}" source --download-only redis)
    local dsc
    dsc=$(ls "$WORK"/redis_"$REDIS_VERSION"*.dsc 2>/dev/null | head -n1)
    [ -n "$dsc" ] || die "no redis $REDIS_VERSION source package found"
    (cd "$WORK" && dpkg-source --no-check -x "$(basename "$dsc")" "redis-$REDIS_VERSION")
    [ -f "$TREE/tests/test_helper.tcl" ] || die "the unpacked tree has no tests/test_helper.tcl"
}

mkdir -p "$WORK"
fetch_tree

# prepare_run_dir NAME SERVER: a private copy of the harness for one server, so that a Reddish
# run and a reference run never share links or temporary files.
prepare_run_dir() {
    local dir=$WORK/run-$1 server=$2
    rm -rf "$dir"
    mkdir -p "$dir/src"
    cp -R "$TREE/tests" "$TREE/runtest" "$dir/"
    ln -s "$server" "$dir/src/redis-server"
    ln -s "$(command -v redis-cli)" "$dir/src/redis-cli"
    ln -s "$(command -v redis-benchmark)" "$dir/src/redis-benchmark"
    echo "$dir"
}

# Tests tagged with these are not run (the harness prints them as [ignore]), for both servers:
#   repl, needs:repl  they start replicas (REPLICAOF, PSYNC): Reddish keeps its data safe by
#                     write-behind to MongoDB and has no replication.
EXCLUDED_TAGS=(repl needs:repl)

# Single tests not run, each with its reason (lines "unit | test name | reason"): they test
# what Reddish does differently by design, not a missing feature.
SKIPPED_TESTS=$PWD/tests/redis-suite-skipped.txt

# list_names FILE UNIT: the test names FILE lists for UNIT.
list_names() {
    [ -f "$1" ] || return 0
    awk -F' [|] ' -v unit="$2" '!/^[ \t]*(#|$)/ && $1 == unit { print $2 }' "$1"
}

# Unit files not run by default, each with its reason (name them on the command line to run
# them anyway). The first ones test a feature another issue builds: without it their tests wait
# for replies that never come until the unit is killed; each leaves the list when its feature
# is built.
declare -A SKIPPED_UNITS=(
    # Not features to build: what these units test is not part of Reddish's design.
    [unit/aofrw]="AOF rewriting: Reddish writes no AOF, its changes go to MongoDB"
    [unit/cluster]="cluster mode: Reddish runs as a single node"
    [unit/cluster-scripting]="cluster mode: Reddish runs as a single node"
    [unit/wait]="WAIT counts replicas: Reddish has no replication"
    [unit/pendingquerybuf]="its one test measures a replica's query buffer: Reddish has no replication"
)

# Ports the harness may use for one unit: its control port just below the base, the servers
# it starts above it.
PORT_RANGE=1000

# free_port_range: a base port such that nothing listens from 32 below it to PORT_RANGE above
# it, so that runs side by side (another checkout's suite) do not take each other's ports.
free_port_range() {
    local base listening
    listening=$(ss -Hltn 2>/dev/null | awk '{ n = split($4, a, ":"); print a[n] }' || true)
    # Below 32768: the kernel hands out ephemeral ports above it.
    for base in $(seq 21111 1500 30111); do
        if ! awk -v lo=$((base - 32)) -v hi=$((base + PORT_RANGE)) \
            '$1 >= lo && $1 < hi { found = 1 } END { exit !found }' <<<"$listening"; then
            echo "$base"
            return 0
        fi
    done
    echo 21111
}

# Every unit file, as runtest names it (unit/NAME, unit/type/NAME); list-common.tcl is not a
# unit but a helper that the list units source.
all_units() {
    (cd "$TREE/tests" && ls unit/*.tcl unit/type/*.tcl) | sed 's/\.tcl$//' |
        grep -vx 'unit/type/list-common'
}

# count LOG TAG: how many test results of one kind ([ok], [err], [skip]) the log holds.
count() {
    grep -c "^\[$2\]: " "$1" || true
}

# run_unit DIR UNIT LOG: runs one unit file, prints "passed failed skipped status".
run_unit() {
    local dir=$1 unit=$2 log=$3 rc=0
    local args=(--single "$unit" --clients "$CLIENTS" --timeout "$UNIT_TIMEOUT")
    args+=(--baseport "$(free_port_range)" --portcount "$PORT_RANGE")
    local tag name
    for tag in "${EXCLUDED_TAGS[@]}"; do
        args+=(--tags "-$tag")
    done
    while IFS= read -r name; do
        args+=(--skiptest "$name")
    done < <(list_names "$SKIPPED_TESTS" "${unit#unit/}")
    if [ -n "$HOST" ]; then
        args+=(--host "$HOST" --port "$PORT")
    fi
    # --durable: an error reply the test did not expect (a command not built yet) fails that test
    # instead of ending the whole file, so the file's other tests still run and count.
    if [ "$DURABLE" -eq 1 ]; then
        args+=(--durable)
    fi
    # timeout signals its whole process group, so servers the harness started go too.
    (cd "$dir" && timeout -k 10 "$UNIT_TIMEOUT" ./runtest "${args[@]}") </dev/null >"$log" 2>&1 || rc=$?
    sed -i 's/\x1b\[[0-9;]*m//g' "$log"
    local status
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] || grep -q '^\[TIMEOUT\]' "$log"; then
        status="timed out"
    elif grep -q 'The End' "$log"; then
        status=done
    else
        status=aborted
    fi
    echo "$(count "$log" ok) $(count "$log" err) $(($(count "$log" skip) + $(count "$log" ignore))) $status"
}

# The servers to test, as label=binary; --compare runs real Redis first, then Reddish, unit by
# unit, so both columns come from the same run.
SERVERS=()
if [ -n "$HOST" ]; then
    SERVERS=("external=/usr/bin/redis-server")
elif [ "$COMPARE" -eq 1 ]; then
    SERVERS=("redis=$(command -v redis-server || echo /usr/bin/redis-server)" "reddish=$SERVER_BIN")
elif [ "$REFERENCE" -eq 1 ]; then
    SERVERS=("redis=$(command -v redis-server || echo /usr/bin/redis-server)")
else
    SERVERS=("reddish=$SERVER_BIN")
fi
have tclsh || apt_install tcl
ensure_redis_tools
declare -A RUN_DIRS=() TOTAL_OK=() TOTAL_ERR=() TOTAL_SKIP=() UNITS_DONE=()
for entry in "${SERVERS[@]}"; do
    label=${entry%%=*} server=${entry#*=}
    [ -x "$server" ] || die "no server binary at '$server' (build it: cargo build --release)"
    RUN_DIRS[$label]=$(prepare_run_dir "$label" "$server")
    rm -rf "$WORK/logs-$label"
    mkdir -p "$WORK/logs-$label"
    TOTAL_OK[$label]=0 TOTAL_ERR[$label]=0 TOTAL_SKIP[$label]=0 UNITS_DONE[$label]=0
done
if [ "${#UNITS[@]}" -eq 0 ]; then
    for unit in $(all_units); do
        if [ -n "${SKIPPED_UNITS[$unit]:-}" ]; then
            log "skipping $unit: ${SKIPPED_UNITS[$unit]}"
        else
            UNITS+=("$unit")
        fi
    done
fi

TABLE=$(mktemp)
trap 'rm -f "$TABLE"' EXIT
header="| unit |" rule="| --- |"
for entry in "${SERVERS[@]}"; do
    label=${entry%%=*}
    header+=" $label passed | failed | skipped | status |"
    rule+=" ---: | ---: | ---: | --- |"
done
echo "$header" >"$TABLE"
echo "$rule" >>"$TABLE"

log "running ${#UNITS[@]} unit files against: ${SERVERS[*]}; logs in $WORK/logs-*"
for unit in "${UNITS[@]}"; do
    unit=${unit#unit/}
    unit=unit/${unit%.tcl}
    row="| ${unit#unit/} |"
    for entry in "${SERVERS[@]}"; do
        label=${entry%%=*}
        started=$SECONDS
        read -r ok err skip status < <(run_unit "${RUN_DIRS[$label]}" "$unit" \
            "$WORK/logs-$label/${unit//\//_}.log")
        log "$label $unit: $ok passed, $err failed, $skip skipped, $status ($((SECONDS - started)) s)"
        row+=" $ok | $err | $skip | $status |"
        TOTAL_OK[$label]=$((TOTAL_OK[$label] + ok))
        TOTAL_ERR[$label]=$((TOTAL_ERR[$label] + err))
        TOTAL_SKIP[$label]=$((TOTAL_SKIP[$label] + skip))
        if [ "$status" = done ]; then
            UNITS_DONE[$label]=$((UNITS_DONE[$label] + 1))
        fi
    done
    echo "$row" >>"$TABLE"
done
row="| total (${#UNITS[@]} units) |"
for entry in "${SERVERS[@]}"; do
    label=${entry%%=*}
    row+=" ${TOTAL_OK[$label]} | ${TOTAL_ERR[$label]} | ${TOTAL_SKIP[$label]} | ${UNITS_DONE[$label]} done |"
done
echo "$row" >>"$TABLE"
if [ -n "$OUT" ]; then
    cp "$TABLE" "$OUT"
fi
cat "$TABLE"
for entry in "${SERVERS[@]}"; do
    label=${entry%%=*}
    echo "$label: ${TOTAL_OK[$label]} passed, ${TOTAL_ERR[$label]} failed, ${TOTAL_SKIP[$label]} skipped"
done

# check_expected LIST LOG_DIR: compares the failures in the unit logs with the expected-failures
# list; prints every difference and returns non-zero if there is one.
check_expected() {
    local list=$1 logs=$2
    # One line per outcome: "ok|err <TAB> unit <TAB> test name".
    local outcomes
    outcomes=$(mktemp)
    local log unit
    for log in "$logs"/*.log; do
        unit=$(basename "$log" .log)
        unit=${unit#unit_}
        unit=${unit//_//}
        awk -v unit="$unit" '
            /^\[ok\]: .* \([0-9]+ ms\)$/ {
                name = substr($0, 7); sub(/ \([0-9]+ ms\)$/, "", name)
                print "ok\t" unit "\t" name
            }
            # A failed test reads "[err]: NAME in tests/unit/FILE.tcl"; any other [err] line
            # (a server that did not start) counts as a failure under its own text.
            /^\[err\]: / {
                name = substr($0, 8); sub(/ in tests\/unit\/[^ ]*\.tcl$/, "", name)
                print "err\t" unit "\t" name
            }' "$log" >>"$outcomes"
        if ! grep -q 'The End' "$log"; then
            printf 'unfinished\t%s\t\n' "$unit" >>"$outcomes"
        fi
    done
    local status=0
    awk -F'\t' -v list="$list" '
        BEGIN {
            while ((getline line < list) > 0) {
                if (line ~ /^[ \t]*(#|$)/) continue
                n = split(line, part, / \| /)
                if (n < 3) { printf "malformed line in %s: %s\n", list, line; bad = 1; continue }
                key = part[1] "\t" part[2]
                expected[key] = 1
            }
        }
        $1 == "ok" { passed[$2 "\t" $3] = 1 }
        $1 == "err" {
            failed[$2 "\t" $3] = 1
            if (!(($2 "\t" $3) in expected)) { printf "unexpected failure: %s | %s\n", $2, $3; bad = 1 }
        }
        $1 == "unfinished" { ran_units[$2] = 1; printf "unit did not run to its end: %s\n", $2; bad = 1 }
        { ran_units[$2] = 1 }
        END {
            for (key in expected) {
                split(key, part, "\t")
                if (!(part[1] in ran_units)) continue
                if (key in failed) continue
                if (key in passed) printf "listed as expected to fail but passed (remove it from the list): %s | %s\n", part[1], part[2]
                else printf "listed as expected to fail but did not run: %s | %s\n", part[1], part[2]
                bad = 1
            }
            exit bad
        }' "$outcomes" || status=1
    rm -f "$outcomes"
    return "$status"
}

if [ -n "$EXPECTED" ]; then
    [ -n "${RUN_DIRS[reddish]:-}" ] || die "--expected checks a Reddish run"
    if check_expected "$EXPECTED" "$WORK/logs-reddish"; then
        log "every failure is in $(basename "$EXPECTED"), and every test listed there failed"
    else
        die "the run differs from $(basename "$EXPECTED") (above)"
    fi
fi
