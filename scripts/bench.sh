#!/usr/bin/env bash
# Benchmarks Reddish against a real redis-server with redis-benchmark, both in the same run:
# every (test, pipeline) pair runs on both servers in each round, the order of the servers
# alternating from round to round; the table shows the median requests per second over the
# rounds and the ratio Reddish/Redis. Markdown goes to stdout (paste it into BENCH.md),
# progress to stderr. Both servers are started here on ephemeral loopback ports and stopped
# on exit. A test a server does not support shows as "error" in its cell.
#
# Usage: scripts/bench.sh [options]
#   --rounds N            rounds (default 5)
#   -n, --requests N      requests per redis-benchmark run (default 200000)
#   -c, --clients N       parallel connections (default 50)
#   --pipelines "1 16"    pipeline depths, each a separate table row (default "1 16")
#   --tests a,b,c         redis-benchmark -t tests for the "standard" section
#                         (default set,get,incr,mset,lpush,rpush,lpop,rpop,sadd,hset,spop,
#                         zadd,zpopmin,lrange_100)
#   --sections "a b"      sections to run (default "standard"; see section_* below, e.g.
#                         "standard random-keys"; "persistence" compares Reddish with and
#                         without MongoDB write-behind: scripts/bench.sh --sections
#                         persistence --pipelines 16)
#   --reddish-args ARGS   extra arguments for Reddish (e.g. "--busy-poll 0")
#   --reddish-bin PATH    benchmark this binary instead of building target/release/reddish
#   --redis-bin PATH      the reference server (default: redis-server from PATH)
#   --timeout SECONDS     limit for one redis-benchmark run (default 600)
#   --pubsub-subscribers N  subscribers in the "pubsub" section (default 50)
#   --pubsub-seconds S    measured seconds per pubsub run (default 5)
# The "eviction" section (--sections eviction) runs SET over 10 million random keys with
# maxmemory 4mb under allkeys-lru on both servers (set before the run, cleared after), then
# scripts/hit-ratio.py: the hit ratios of both servers under allkeys-lru and allkeys-lfu for
# a Zipf(0.99) GET/SET-on-miss workload with memory for 20% of the data set (needs Python 3;
# the one in target/test-env when present).
# The "streams" section (--sections streams) runs XADD and XRANGE ... COUNT 10 on one stream,
# then prints the memory both servers take for a stream of a million two-field entries.
# The "scripting" section (--sections scripting) runs EVALSHA of `return redis.call('GET',
# KEYS[1])` and of a script running five commands.
# The "geo" section (--sections geo) loads 100,000 random points around London into one key
# before every round, then runs GEOSEARCH FROMLONLAT ... BYRADIUS 300 m (a handful of results).
# The "hll" section (--sections hll) runs PFADD of random elements into one HyperLogLog (dense
# after its first few thousand), PFCOUNT of it (its cached estimate) and PFCOUNT of it twice
# (a union: every register merged and counted on each call).
# The "tiering" section (--sections tiering) measures the cold tier (maxmemory-tiering) with
# TIERING_KEYS string keys of TIERING_VALUE_BYTES bytes, 5x more data than maxmemory, on two
# Reddish persisting to MongoDB (as the persistence section finds it): GET throughput on a hot
# working set that fits in memory with tiering on vs the same keys all in memory, the latency
# of loading cold values (INFO tiering p50/p99 after random GETs over every key) and the
# memory each cold key costs. It runs on its own (no Redis side) and adds no table row.
# The "big-requests" section (--sections big-requests) runs scripts/big-request-latency.py on
# both servers: the latency of SETs of 5 KB, 100 KB and 1 MB from a client with Nagle's
# algorithm on (the socket default), written in 4 KB pieces. It adds no table row.
# The "pubsub" section (--sections "standard pubsub") measures PUBLISH fan-out with
# examples/pubsub_load.rs instead of redis-benchmark: one publisher sending PIPELINE publishes
# per write, N subscribers on the channel; the cells are messages delivered per second.
# The "rdb-import" section (--sections rdb-import) has redis-server write an RDB file of about
# 1 GB (--rdb-keys strings of --rdb-value-bytes each from DEBUG POPULATE, plus a list and a
# hash of a million elements, rdbcompression off, SAVE), then starts each server on that file
# --rdb-rounds times, alternating: Reddish with --import-rdb, redis-server loading it as its
# own dump. It reports the time from start to the first PONG and the peak RSS (VmHWM).
#   --rdb-keys N          strings in the file (default 1000000)
#   --rdb-value-bytes N   bytes per string (default 1000)
#   --rdb-rounds N        loads per server (default 3)
# The "memory" section (--sections memory) writes each data set of the memory table (a million
# strings, one list, hash, set and sorted set of a million elements, 100k small lists, 10,000
# small hashes, 100k small sorted sets) into a fresh server of each kind and reports the bytes per element, resident
# and by used_memory. It adds no table row.
# The "import-at-limit" section (--sections import-at-limit) writes 2M string keys (16-byte
# values) with `redis-cli --pipe` into a fresh server of each kind under maxmemory 100mb and
# allkeys-lru, and reports the keys each holds at the end, the keys evicted and used_memory.
# It adds no table row.
# The "delete-most" section (--sections delete-most) writes 1M string keys with `redis-cli
# --pipe` into a fresh server of each kind, deletes all but 10,000 of them, and reports
# used_memory and the resident size after each step. It adds no table row.
# The "growth-stall" section (--sections growth-stall) writes 6M new keys into a fresh server
# of each kind (pipelined SETs, scripts/growth-stall.py) while another connection times a
# PING every half millisecond, and reports the slowest: what a growing key table costs other
# clients. It adds no table row. The "limit-stall" section (--sections limit-stall) does the
# same with both servers at `maxmemory 200mb` under allkeys-lru: a cache at its limit, each new
# key evicting one.
# The "backup" section (--sections backup) times `redis-cli --rdb` of a million string keys on
# both servers while redis-benchmark runs GETs, and reports the slowest GET. It adds no table
# row.
# The "tls" section (--sections "standard tls") runs SET and GET over TLS: both servers also
# listen on a tls-port with the same certificates (a CA, a server and a client certificate
# made here with the openssl CLI; tls-auth-clients yes), and redis-benchmark --tls connects
# with the client certificate.
# The "acl" section (--sections "standard acl" --tests set,get) runs SET and GET as a user
# with limited rights (categories, key patterns), with twenty more users defined on both
# servers; compare its rows, and the standard rows of that run, with a run without it.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

ORIGINAL_ARGS=("$@")
ROUNDS=5
REQUESTS=200000
CLIENTS=50
PIPELINES="1 16"
TESTS="set,get,incr,mset,lpush,rpush,lpop,rpop,sadd,hset,spop,zadd,zpopmin,lrange_100"
SECTIONS="standard"
REDDISH_ARGS=""
REDDISH_BIN=""
REDIS_BIN="redis-server"
RUN_TIMEOUT=600
PUBSUB_SUBSCRIBERS=50
PUBSUB_SECONDS=5
LOAD_AT_START=unknown
RDB_KEYS=1000000
RDB_VALUE_BYTES=1000
RDB_ROUNDS=3
RDB_IMPORT=0
ROUNDS_WITH_CASES=1

usage() { sed -n '2,74p' "$0" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
    case "$1" in
    --rounds)
        ROUNDS=${2:?--rounds needs a value}
        shift
        ;;
    -n | --requests)
        REQUESTS=${2:?--requests needs a value}
        shift
        ;;
    -c | --clients)
        CLIENTS=${2:?--clients needs a value}
        shift
        ;;
    --pipelines)
        PIPELINES=${2:?--pipelines needs a value}
        shift
        ;;
    --tests)
        TESTS=${2:?--tests needs a value}
        shift
        ;;
    --sections)
        SECTIONS=${2:?--sections needs a value}
        shift
        ;;
    --reddish-args)
        REDDISH_ARGS=${2?--reddish-args needs a value}
        shift
        ;;
    --reddish-bin)
        REDDISH_BIN=${2:?--reddish-bin needs a value}
        shift
        ;;
    --redis-bin)
        REDIS_BIN=${2:?--redis-bin needs a value}
        shift
        ;;
    --timeout)
        RUN_TIMEOUT=${2:?--timeout needs a value}
        shift
        ;;
    --pubsub-subscribers)
        PUBSUB_SUBSCRIBERS=${2:?--pubsub-subscribers needs a value}
        shift
        ;;
    --pubsub-seconds)
        PUBSUB_SECONDS=${2:?--pubsub-seconds needs a value}
        shift
        ;;
    --rdb-keys)
        RDB_KEYS=${2:?--rdb-keys needs a value}
        shift
        ;;
    --rdb-value-bytes)
        RDB_VALUE_BYTES=${2:?--rdb-value-bytes needs a value}
        shift
        ;;
    --rdb-rounds)
        RDB_ROUNDS=${2:?--rdb-rounds needs a value}
        shift
        ;;
    -h | --help)
        usage
        exit 0
        ;;
    *) die "unknown argument: $1 (try --help)" ;;
    esac
    shift
done

# ---------------------------------------------------------------------------------------------
# Cases: a label and the redis-benchmark arguments that select what it runs. Sections add
# cases; to add one, write a section_NAME function calling add_case and pass
# --sections "standard NAME" (dashes in NAME map to underscores).
# ---------------------------------------------------------------------------------------------

CASE_LABELS=()
CASE_ARGS=() # each entry: the arguments joined with the unit separator \x1f

# add_case LABEL REDIS-BENCHMARK-ARGS...
add_case() {
    local label=$1 joined
    shift
    joined=$(
        IFS=$'\x1f'
        echo "$*"
    )
    CASE_LABELS+=("$label")
    CASE_ARGS+=("$joined")
}

# One case per -t test: the classic redis-benchmark suite.
section_standard() {
    local test
    for test in ${TESTS//,/ }; do
        add_case "$test" -t "$test"
    done
}

# Many distinct keys (-r): exercises hashing and table growth, not one hot key.
section_random_keys() {
    add_case "set -r 1000000" -r 1000000 -t set
    add_case "get -r 1000000" -r 1000000 -t get
    add_case "incr -r 1000000" -r 1000000 -t incr
}

# The cost of MongoDB write-behind: SET over a million random keys and LPUSH (and QUEUE.PUSH)
# onto one key also run on a second Reddish that persists to MongoDB ("reddish-mongo"); the
# report adds a table of persisting/plain ratios and the persistence lag at the end of the run.
# MongoDB is MONGODB_URI, or a SecantusDB started here from target/test-env (scripts/test.sh
# installs it). That SecantusDB is a Python server sharing this machine's cores, so it runs
# under `nice -n 19`: it takes CPU only when the benchmark leaves some, and the ratios measure
# what persistence costs Reddish itself (its reactor never waits on MongoDB), while the lag
# shows how far MongoDB fell behind.
PERSISTENCE=0
declare -A CASE_PERSISTS=() # case index -> 1 when the case also runs on reddish-mongo
BENCH_MONGODB_URI=""
BENCH_MONGODB_NOTE=""
PERSISTENCE_END=""

section_persistence() {
    PERSISTENCE=1
    add_case "set -r 1000000" -r 1000000 -t set
    CASE_PERSISTS[$((${#CASE_LABELS[@]} - 1))]=1
    add_case "lpush (one list)" -t lpush
    CASE_PERSISTS[$((${#CASE_LABELS[@]} - 1))]=1
    add_case "queue.push (one queue)" QUEUE.PUSH bench:queue element
    CASE_PERSISTS[$((${#CASE_LABELS[@]} - 1))]=1
}

# Sets BENCH_MONGODB_URI: MONGODB_URI, or a SecantusDB started here (stopped on exit).
start_mongodb() {
    if [ -n "${MONGODB_URI:-}" ]; then
        BENCH_MONGODB_URI=$MONGODB_URI
        BENCH_MONGODB_NOTE="MONGODB_URI"
        return
    fi
    local bin=target/test-env/bin/secantusd-py dir port="" pid _
    [ -x "$bin" ] || die "the persistence section needs MongoDB: set MONGODB_URI, or run scripts/test.sh once (it installs SecantusDB in target/test-env)"
    dir="$WORK_DIR/secantusdb"
    mkdir -p "$dir"
    : >"$dir/secantusd.toml"
    nice -n 19 "$bin" --config "$dir/secantusd.toml" --host 127.0.0.1 --port 0 --standalone \
        --storage-path "$dir/data" >"$dir/server.log" 2>&1 &
    pid=$!
    SERVER_PID[secantusdb]=$pid
    for _ in $(seq 1 1200); do
        kill -0 "$pid" 2>/dev/null || die "SecantusDB exited: $(tail -n 5 "$dir/server.log")"
        port=$(grep -oE 'listening on [^ ]*:[0-9]+' "$dir/server.log" | head -n 1 | grep -oE '[0-9]+$' || true)
        if [ -n "$port" ] && port_open "$port"; then break; fi
        port=""
        sleep 0.05
    done
    [ -n "$port" ] || die "SecantusDB did not start within 60 s"
    BENCH_MONGODB_URI="mongodb://127.0.0.1:$port"
    local stamp="" file
    for file in target/test-env/.secantusdb-*; do
        [ -e "$file" ] && stamp=${file##*/}
    done
    BENCH_MONGODB_NOTE="SecantusDB ${stamp#.secantusdb-} (target/test-env) started here under nice -n 19"
    log "SecantusDB (pid $pid) at $BENCH_MONGODB_URI"
}

# The servers a case runs on in this round's order: reddish-mongo next to reddish.
case_servers() {
    local index=$1 order=$2 server out=""
    for server in $order; do
        if [ "$server" = reddish ] && [ -n "${CASE_PERSISTS[$index]:-}" ]; then
            if [[ "$order" == redis* ]]; then out+=" reddish reddish-mongo"; else out+=" reddish-mongo reddish"; fi
        else
            out+=" $server"
        fi
    done
    echo "$out"
}

# INFO persistence of reddish-mongo, once the last run is over.
record_persistence_end() {
    PERSISTENCE_END=$(redis-cli -h 127.0.0.1 -p "${SERVER_PORT[reddish-mongo]}" INFO persistence 2>/dev/null |
        tr -d '\r' | grep -E '^mongodb_(lag_ms|pending_keys|in_flight_keys|keys_written|batches_written|log_appends|snapshots_written|flush_errors|connection):' |
        tr '\n' ' ' || true)
}

print_persistence_report() {
    echo
    echo "## Persistence cost: Reddish with MongoDB write-behind (on) vs without (off)"
    echo
    echo "- MongoDB: $BENCH_MONGODB_NOTE; Reddish \`--mongodb-uri ... --mongodb-database reddish_bench_$$\` (default persist-interval-ms)"
    echo "- targets: on/off >= 0.9 for SET with random keys, >= 0.8 for LPUSH onto one list"
    echo
    echo "| test | pipeline | reddish off rps | reddish on rps | on/off |"
    echo "| --- | ---: | ---: | ---: | ---: |"
    local entry pipeline row index off on ratio
    for entry in "${ROWS[@]}"; do
        pipeline=${entry%%|*}
        row=${entry#*|}
        [ -n "${SAMPLES[reddish-mongo|$entry]:-}${FAILURES[reddish-mongo|$entry]:-}" ] || continue
        off=$(cell "reddish|$entry")
        on=$(cell "reddish-mongo|$entry")
        ratio="-"
        if [[ "${off%% *}" =~ ^[0-9]+$ ]] && [[ "${on%% *}" =~ ^[0-9]+$ ]] && [ "${off%% *}" -gt 0 ]; then
            ratio=$(awk -v a="${on%% *}" -v b="${off%% *}" 'BEGIN { printf "%.2f", a / b }')
        fi
        echo "| $row | $pipeline | $off | $on | $ratio |"
    done
    echo
    echo "Persistence at the end of the run (INFO persistence of the persisting server): \`${PERSISTENCE_END:-unavailable}\`"
    if [ "$BENCH_MONGODB_NOTE" = MONGODB_URI ]; then
        echo
        echo "The benchmark's keys stay in MongoDB database \`reddish_bench_$$\`: drop it when done."
    fi
}

# Memory limited: SET with random keys while every new key evicts an old one, and the cache
# hit ratios (scripts/hit-ratio.py, printed after the table).
EVICTION=0
declare -A CASE_EVICTS=() # case index -> 1 when the case runs with maxmemory set
EVICTION_MAXMEMORY=4mb
section_eviction() {
    EVICTION=1
    add_case "set -r 10000000, maxmemory $EVICTION_MAXMEMORY allkeys-lru" -r 10000000 -t set
    CASE_EVICTS[$((${#CASE_LABELS[@]} - 1))]=1
}

# Many small sorted sets (packed, as Redis's listpack): ZADD of a random member into one of
# 10,000 sets (`-r 10000`: a few dozen members each by the end), then ZRANGE of a whole set
# and ZSCORE of a member.
section_small_zsets() {
    add_case "zadd (10k small sets)" -r 10000 ZADD bench:zs:__rand_int__ __rand_int__ m:__rand_int__
    add_case "zrange 0 -1 (10k small sets)" -r 10000 ZRANGE bench:zs:__rand_int__ 0 -1
    add_case "zscore (10k small sets)" -r 10000 ZSCORE bench:zs:__rand_int__ m:__rand_int__
}

# Streams: XADD onto one stream, then XRANGE of its first ten entries (the stream the XADD
# runs just filled); after the table, the memory each server takes for a stream of
# STREAM_MEMORY_ENTRIES entries of two small fields.
STREAMS=0
STREAM_MEMORY_ENTRIES=1000000
section_streams() {
    STREAMS=1
    add_case "xadd key * f v" XADD bench:stream '*' f v
    add_case "xrange key - + count 10" XRANGE bench:stream - + COUNT 10
}

# Scripting: EVALSHA of a one-command script and of a five-command one (loaded on both
# servers once they run; FLUSHALL keeps the script cache).
SCRIPTING=0
SCRIPT_GET="return redis.call('GET', KEYS[1])"
SCRIPT_FIVE="redis.call('SET', KEYS[1], ARGV[1]); redis.call('INCR', KEYS[2]); redis.call('GET', KEYS[1]); redis.call('EXPIRE', KEYS[1], 100); return redis.call('TTL', KEYS[1])"
section_scripting() {
    SCRIPTING=1
    local get five
    get=$(printf '%s' "$SCRIPT_GET" | sha1sum | cut -d' ' -f1)
    five=$(printf '%s' "$SCRIPT_FIVE" | sha1sum | cut -d' ' -f1)
    add_case "evalsha get (1 command)" EVALSHA "$get" 1 bench:script
    add_case "evalsha 5 commands" EVALSHA "$five" 2 bench:script bench:counter v
}

# load_scripts SERVER: SCRIPT LOAD of the scripting section's scripts.
load_scripts() {
    local port=${SERVER_PORT[$1]} script
    for script in "$SCRIPT_GET" "$SCRIPT_FIVE"; do
        redis-cli -h 127.0.0.1 -p "$port" SCRIPT LOAD "$script" >/dev/null ||
            die "SCRIPT LOAD failed on $1"
    done
}

# Geo: GEOSEARCH around a fixed point of a key holding GEO_POINTS random points (the same
# ones on both servers: a fixed awk seed) in a 1 x 1 degree square near London, loaded after
# every round's FLUSHALL. At about 13 points per square km a 300 m radius finds a handful,
# so the run measures the search (covering cells, score ranges, distances), not the reply.
GEO=0
GEO_POINTS=100000
GEO_SEARCH=(GEOSEARCH bench:geo FROMLONLAT 0.05 51.5 BYRADIUS 300 m)
section_geo() {
    GEO=1
    add_case "geosearch fromlonlat byradius 300 m (100k points)" "${GEO_SEARCH[@]}"
}

# load_geo_points SERVER: GEOADDs the section's points, 100 a command.
load_geo_points() {
    awk -v n="$GEO_POINTS" 'BEGIN {
        srand(17)
        for (i = 0; i < n; i += 100) {
            printf "GEOADD bench:geo"
            for (j = i; j < i + 100 && j < n; j++) printf " %.6f %.6f p:%d", -0.5 + rand(), 51 + rand(), j
            printf "\n"
        }
    }' | redis-cli -h 127.0.0.1 -p "${SERVER_PORT[$1]}" >/dev/null
}

print_geo_report() {
    local server port
    echo
    echo "Geo key: $GEO_POINTS points; \`${GEO_SEARCH[*]}\` returns:"
    echo
    for server in redis reddish; do
        port=${SERVER_PORT[$server]}
        echo "- $server: $(redis-cli -h 127.0.0.1 -p "$port" ZCARD bench:geo) points, $(redis-cli -h 127.0.0.1 -p "$port" "${GEO_SEARCH[@]}" | wc -l) members"
    done
}

# HyperLogLog: PFADD fills the key the PFCOUNT cases then read (the cases run in this order
# in every round, after the round's FLUSHALL).
section_hll() {
    add_case "pfadd key __rand_int__" -r 100000000 PFADD bench:hll __rand_int__
    add_case "pfcount key" PFCOUNT bench:hll
    add_case "pfcount key key (union)" PFCOUNT bench:hll bench:hll
}

# The cold tier: see the usage text. Runs after the rounds, on servers of its own.
TIERING=0
TIERING_KEYS=${TIERING_KEYS:-100000}
TIERING_VALUE_BYTES=${TIERING_VALUE_BYTES:-1000}
section_tiering() {
    TIERING=1
}

# info_field SERVER SECTION FIELD: one figure of INFO.
info_field() {
    redis-cli -h 127.0.0.1 -p "${SERVER_PORT[$1]}" INFO "$2" |
        tr -d '\r' | awk -F: -v f="$3" '$1 == f { print $2 }'
}

# fill_tiering SERVER: TIERING_KEYS keys tier:N (N zero-padded to 12 digits, as
# redis-benchmark's __rand_int__) of TIERING_VALUE_BYTES bytes, written and saved.
fill_tiering() {
    local port=${SERVER_PORT[$1]}
    awk -v n="$TIERING_KEYS" -v size="$TIERING_VALUE_BYTES" 'BEGIN {
        value = sprintf("%" size "s", ""); gsub(/ /, "v", value)
        for (i = 0; i < n; i++) printf "*3\r\n$3\r\nSET\r\n$17\r\ntier:%012d\r\n$%d\r\n%s\r\n", i, size, value
    }' | redis-cli -h 127.0.0.1 -p "$port" --pipe >/dev/null
    redis-cli -h 127.0.0.1 -p "$port" SAVE >/dev/null
}

# bench_get SERVER KEYS [CLIENTS REQUESTS]: GET rps over random keys of tier:0 .. tier:KEYS-1.
bench_get() {
    local port=${SERVER_PORT[$1]} keys=$2 clients=${3:-$CLIENTS} requests=${4:-$REQUESTS}
    timeout "$RUN_TIMEOUT" redis-benchmark -h 127.0.0.1 -p "$port" -c "$clients" -n "$requests" \
        -P 1 -r "$keys" --csv GET "tier:__rand_int__" 2>/dev/null |
        grep -v '^"test"' | head -n 1 | awk -F'","' '{ print $2 }' | tr -d '"'
}

print_tiering_report() {
    start_mongodb
    local -a reddish_args=()
    # shellcheck disable=SC2206 # --reddish-args is a space-separated argument list
    [ -n "$REDDISH_ARGS" ] && reddish_args=($REDDISH_ARGS)
    start_server tier-off "$REDDISH_BIN" "${reddish_args[@]}" --mongodb-uri "$BENCH_MONGODB_URI" \
        --mongodb-database "reddish_bench_tier_off_$$"
    start_server tier-on "$REDDISH_BIN" "${reddish_args[@]}" --mongodb-uri "$BENCH_MONGODB_URI" \
        --mongodb-database "reddish_bench_tier_on_$$" --maxmemory-policy allkeys-lru \
        --maxmemory-tiering yes
    local server empty
    empty=$(info_field tier-on memory used_memory)
    for server in tier-off tier-on; do
        log "tiering: writing $TIERING_KEYS keys of $TIERING_VALUE_BYTES bytes to $server"
        fill_tiering "$server"
    done
    local full data limit hot
    full=$(info_field tier-on memory used_memory)
    data=$((TIERING_KEYS * TIERING_VALUE_BYTES))
    limit=$((full - data * 4 / 5))
    hot=$((TIERING_KEYS / 10))
    redis-cli -h 127.0.0.1 -p "${SERVER_PORT[tier-on]}" CONFIG SET maxmemory "$limit" >/dev/null
    # Warm the hot set (it is loaded back if it went cold), then measure it on both servers.
    bench_get tier-on "$hot" 10 $((hot * 4)) >/dev/null
    local round off_samples="" on_samples="" rps
    for round in $(seq 1 "$ROUNDS"); do
        for server in tier-off tier-on; do
            rps=$(bench_get "$server" "$hot")
            log "  tiering round $round $server: hot GET $rps"
            if [ "$server" = tier-off ]; then off_samples+="$rps "; else on_samples+="$rps "; fi
        done
    done
    # shellcheck disable=SC2086 # space-separated samples
    local off on ratio
    off=$(median $off_samples)
    # shellcheck disable=SC2086
    on=$(median $on_samples)
    ratio=$(awk -v a="$on" -v b="$off" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
    # Resident memory of both after the hot runs (the timed work has had a second to give
    # freed pages back).
    sleep 1.5
    local rss_off rss_on
    rss_off=$(info_field tier-off memory used_memory_rss)
    rss_on=$(info_field tier-on memory used_memory_rss)
    local loads_before
    loads_before=$(info_field tier-on tiering cold_loads)
    # Cold loads: one client reading random keys, most of them cold.
    bench_get tier-on "$TIERING_KEYS" 1 $((REQUESTS / 20 + 100)) >/dev/null
    local cold_keys loads p50 p99 max record used
    cold_keys=$(info_field tier-on tiering cold_keys)
    loads=$(($(info_field tier-on tiering cold_loads) - loads_before))
    p50=$(info_field tier-on tiering cold_load_latency_p50_us)
    p99=$(info_field tier-on tiering cold_load_latency_p99_us)
    max=$(info_field tier-on tiering cold_load_latency_max_us)
    record=$(info_field tier-on tiering cold_record_bytes)
    # Memory per cold key, measured: everything dropped (maxmemory below the empty server),
    # over the keys.
    redis-cli -h 127.0.0.1 -p "${SERVER_PORT[tier-on]}" SAVE >/dev/null
    redis-cli -h 127.0.0.1 -p "${SERVER_PORT[tier-on]}" CONFIG SET maxmemory "$empty" >/dev/null
    sleep 1
    redis-cli -h 127.0.0.1 -p "${SERVER_PORT[tier-on]}" PING >/dev/null
    used=$(info_field tier-on memory used_memory)
    local all_cold
    all_cold=$(info_field tier-on tiering cold_keys)
    echo
    echo "## Cold tier: data 5x maxmemory, MongoDB as the cold tier"
    echo
    echo "- MongoDB: $BENCH_MONGODB_NOTE; $TIERING_KEYS keys of $TIERING_VALUE_BYTES bytes; tiering on: maxmemory $limit (allkeys-lru), $cold_keys keys cold after the hot runs; tiering off: everything in memory, no maxmemory"
    echo "- hot set: $hot keys (GET, -c $CLIENTS -n $REQUESTS -P 1, median of $ROUNDS rounds); target on/off >= 0.9"
    echo
    echo "| measure | value |"
    echo "| --- | ---: |"
    echo "| hot-set GET rps, tiering off | $(printf '%.0f' "$off") |"
    echo "| hot-set GET rps, tiering on | $(printf '%.0f' "$on") |"
    echo "| on/off | $ratio |"
    echo "| resident memory (INFO used_memory_rss), tiering off | $rss_off |"
    echo "| resident memory (INFO used_memory_rss), tiering on (maxmemory $limit) | $rss_on |"
    echo "| cold loads measured | $loads |"
    echo "| cold-load latency p50 (µs) | $p50 |"
    echo "| cold-load latency p99 (µs) | $p99 |"
    echo "| cold-load latency max (µs) | $max |"
    echo "| cold record (INFO cold_record_bytes, plus the key's name beyond 16 bytes) | $record |"
    if [ "${all_cold:-0}" -gt 0 ]; then
        echo "| memory per cold key, measured ($all_cold cold: (used_memory - empty server) / keys) | $(((used - empty) / all_cold)) |"
    fi
}

# used_memory SERVER: the server's INFO used_memory.
used_memory() {
    used_memory_at "${SERVER_PORT[$1]}"
}

print_stream_memory_report() {
    local server port before after usage
    echo
    echo "Memory of one stream of $STREAM_MEMORY_ENTRIES entries \`* a <n> b <n>\` (XADD by redis-benchmark, -P 64):"
    echo
    echo "| server | used_memory growth | bytes per entry | MEMORY USAGE |"
    echo "| --- | ---: | ---: | ---: |"
    for server in redis reddish; do
        port=${SERVER_PORT[$server]}
        redis-cli -h 127.0.0.1 -p "$port" FLUSHALL >/dev/null
        before=$(used_memory "$server")
        redis-benchmark -h 127.0.0.1 -p "$port" -c 1 -P 64 -n "$STREAM_MEMORY_ENTRIES" \
            XADD mem:stream '*' a __rand_int__ b __rand_int__ >/dev/null 2>&1
        after=$(used_memory "$server")
        usage=$(redis-cli -h 127.0.0.1 -p "$port" MEMORY USAGE mem:stream SAMPLES 0)
        echo "| $server | $((after - before)) | $(((after - before) / STREAM_MEMORY_ENTRIES)) | $usage |"
        redis-cli -h 127.0.0.1 -p "$port" FLUSHALL >/dev/null
    done
}

# limit_memory SERVER on|off: sets or clears the eviction section's memory limit; when
# clearing it, records the keys the server held (EVICTION_KEYS).
declare -A EVICTION_KEYS=()
limit_memory() {
    local port=${SERVER_PORT[$1]}
    if [ "$2" = on ]; then
        redis-cli -h 127.0.0.1 -p "$port" CONFIG SET maxmemory-policy allkeys-lru >/dev/null
        redis-cli -h 127.0.0.1 -p "$port" CONFIG SET maxmemory "$EVICTION_MAXMEMORY" >/dev/null
    else
        EVICTION_KEYS[$1]+=" $(redis-cli -h 127.0.0.1 -p "$port" DBSIZE)"
        redis-cli -h 127.0.0.1 -p "$port" CONFIG SET maxmemory 0 >/dev/null
        redis-cli -h 127.0.0.1 -p "$port" FLUSHALL >/dev/null
        redis-cli -h 127.0.0.1 -p "$port" CONFIG SET maxmemory-policy noeviction >/dev/null
    fi
}

# Big requests from a Nagle client: latency, not throughput, so no redis-benchmark case.
BIG_REQUESTS=0
section_big_requests() {
    BIG_REQUESTS=1
}

print_big_request_report() {
    local python=python3
    [ -x target/test-env/bin/python ] && python=target/test-env/bin/python
    echo
    if ! timeout "$RUN_TIMEOUT" "$python" scripts/big-request-latency.py --rounds "$ROUNDS" \
        --reddish-port "${SERVER_PORT[reddish]}" --redis-port "${SERVER_PORT[redis]}"; then
        echo "scripts/big-request-latency.py failed (see stderr)"
    fi
}

print_hit_ratio_report() {
    local python=python3 server
    [ -x target/test-env/bin/python ] && python=target/test-env/bin/python
    echo
    echo "Keys held at the end of the SET runs under maxmemory $EVICTION_MAXMEMORY (median):"
    for server in reddish redis; do
        # shellcheck disable=SC2086 # a space-separated list
        echo "- $server: $(median ${EVICTION_KEYS[$server]:-})"
    done
    echo
    if ! "$python" scripts/hit-ratio.py --reddish-bin "$REDDISH_BIN" --redis-bin "$REDIS_BIN"; then
        echo "scripts/hit-ratio.py failed (see stderr)"
    fi
}

# PUBLISH fan-out: one publisher, PUBSUB_SUBSCRIBERS subscribers, delivered messages per
# second (a load program of ours, since redis-benchmark cannot subscribe).
PUBSUB_LOAD=target/release/examples/pubsub_load
section_pubsub() {
    log "cargo build --release --example pubsub_load"
    cargo build --release --example pubsub_load >&2
    add_case "publish, $PUBSUB_SUBSCRIBERS subscribers (messages delivered/s)" @pubsub
}

# run_pubsub_case SERVER PIPELINE LABEL: one pubsub_load run, its delivered rate recorded.
run_pubsub_case() {
    local server=$1 pipeline=$2 label=$3 out="$WORK_DIR/pubsub.out" status=0
    timeout "$RUN_TIMEOUT" "$PUBSUB_LOAD" --port "${SERVER_PORT[$server]}" \
        --subscribers "$PUBSUB_SUBSCRIBERS" --seconds "$PUBSUB_SECONDS" --batch "$pipeline" \
        >"$out" 2>&1 || status=$?
    local key="$server|$pipeline|$label" rate
    note_row "$pipeline|$label"
    rate=$(grep -oE 'delivered_per_sec=[0-9]+' "$out" | cut -d= -f2 || true)
    if [ "$status" -ne 0 ] || [ -z "$rate" ]; then
        FAILURES[$key]=$((${FAILURES[$key]:-0} + 1))
        [ -z "${FIRST_ERROR[$key]:-}" ] && FIRST_ERROR[$key]=$(head -n 1 "$out")
        log "  $server P=$pipeline $label: error ($(head -n 1 "$out"))"
        return 0
    fi
    SAMPLES[$key]+="$rate "
    log "  $server P=$pipeline $label: $rate"
}

# ---------------------------------------------------------------------------------------------
# rdb-import: loading a large RDB file, Reddish's --import-rdb against redis-server's own load.
# ---------------------------------------------------------------------------------------------

section_rdb_import() {
    RDB_IMPORT=1
}

# make_rdb_file DIR: redis-server writes DIR/bench.rdb (see the usage text for its content).
make_rdb_file() {
    local dir=$1 port pid
    port=$(free_port)
    "$REDIS_BIN" --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" \
        --dbfilename bench.rdb --rdbcompression no --loglevel warning \
        --enable-debug-command yes >"$WORK_DIR/rdb-maker.log" 2>&1 &
    pid=$!
    wait_port "$port" "$pid" 30 || die "redis-server did not start to write the RDB file"
    log "rdb-import: DEBUG POPULATE $RDB_KEYS key $RDB_VALUE_BYTES"
    local reply
    reply=$(redis-cli -p "$port" DEBUG POPULATE "$RDB_KEYS" key "$RDB_VALUE_BYTES")
    [ "$reply" = "OK" ] || die "DEBUG POPULATE failed: $reply"
    redis-benchmark -p "$port" -q -P 16 -n 1000000 -d 100 -t lpush >/dev/null
    redis-benchmark -p "$port" -q -P 16 -n 1000000 -r 1000000 -d 100 -t hset >/dev/null
    redis-cli -p "$port" SAVE >/dev/null
    RDB_FILE_KEYS=$(redis-cli -p "$port" DBSIZE)
    stop_pid "$pid"
    RDB_FILE_BYTES=$(stat -c %s "$dir/bench.rdb")
    log "rdb-import: $dir/bench.rdb, $RDB_FILE_BYTES bytes, $RDB_FILE_KEYS keys"
}

# time_load NAME DIR BINARY ARGS...: starts the server, waits for its first PONG (Redis answers
# -LOADING until its data is in; Reddish listens only once it is), and records the seconds it
# took, its peak RSS and its key count; then stops it.
time_load() {
    local name=$1 dir=$2 bin=$3 port pid start end reply="" _
    shift 3
    port=$(free_port)
    start=$(date +%s%N)
    (cd "$dir" && exec "$bin" "$@" --port "$port" --bind 127.0.0.1 >"$WORK_DIR/$name-load.log" 2>&1) &
    pid=$!
    for _ in $(seq 1 $((RUN_TIMEOUT * 100))); do
        kill -0 "$pid" 2>/dev/null || break
        reply=$(redis-cli -p "$port" PING 2>/dev/null || true)
        [ "$reply" = "PONG" ] && break
        sleep 0.01
    done
    end=$(date +%s%N)
    if [ "$reply" != "PONG" ]; then
        tail -n 20 "$WORK_DIR/$name-load.log" >&2
        stop_pid "$pid"
        die "$name did not load the RDB file"
    fi
    local seconds hwm keys
    seconds=$(awk -v ns=$((end - start)) 'BEGIN { printf "%.2f", ns / 1e9 }')
    hwm=$(awk '/^VmHWM:/ { printf "%d", $2 / 1024 }' "/proc/$pid/status")
    keys=$(redis-cli -p "$port" DBSIZE)
    stop_pid "$pid"
    log "  $name: ready after $seconds s, peak RSS $hwm MB, $keys keys"
    LOAD_SECONDS[$name]+="$seconds "
    LOAD_HWM[$name]+="$hwm "
    LOAD_KEYS[$name]=$keys
}

declare -A LOAD_SECONDS=() LOAD_HWM=() LOAD_KEYS=()

run_rdb_import() {
    local dir="$WORK_DIR/rdb" round order name redis_bin
    mkdir -p "$dir"
    redis_bin=$(command -v "$REDIS_BIN")
    make_rdb_file "$dir"
    for round in $(seq 1 "$RDB_ROUNDS"); do
        if [ $((round % 2)) -eq 1 ]; then order="redis reddish"; else order="reddish redis"; fi
        log "rdb-import round $round/$RDB_ROUNDS ($order)"
        for name in $order; do
            if [ "$name" = redis ]; then
                time_load redis "$dir" "$redis_bin" --save "" --appendonly no --dir "$dir" \
                    --dbfilename bench.rdb --loglevel warning
            else
                time_load reddish "$dir" "$(realpath "$REDDISH_BIN")" --import-rdb "$dir/bench.rdb"
            fi
        done
    done
    local mb
    mb=$(awk -v b="$RDB_FILE_BYTES" 'BEGIN { printf "%.0f", b / 1048576 }')
    echo
    echo "RDB file: $mb MB, $RDB_FILE_KEYS keys ($RDB_KEYS strings of $RDB_VALUE_BYTES bytes," \
        "a list and a hash of a million 100-byte elements), rdbcompression no;" \
        "median of $RDB_ROUNDS loads each, peak RSS the largest."
    echo
    echo "| server | start to first PONG (s) | peak RSS, VmHWM (MB) | keys loaded |"
    echo "| --- | ---: | ---: | ---: |"
    for name in reddish redis; do
        # shellcheck disable=SC2086 # the samples are a space-separated list
        echo "| $name | $(median ${LOAD_SECONDS[$name]}) | $(printf '%s\n' ${LOAD_HWM[$name]} | sort -n | tail -n 1) | ${LOAD_KEYS[$name]} |"
    done
    local ratio
    # shellcheck disable=SC2086
    ratio=$(awk -v a="$(median ${LOAD_SECONDS[reddish]})" -v b="$(median ${LOAD_SECONDS[redis]})" \
        'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
    echo
    echo "Reddish's load time is ${ratio}x redis-server's."
}

# Memory per element: each data set is written with `redis-cli --pipe` into a fresh server of
# each kind; the growth of the server's resident size (VmRSS, read one second after the load)
# and of INFO used_memory, divided by the elements written. Fresh servers because a resident
# size that once grew does not come back, so a shared server would carry the last data set's
# pages into the next.
MEMORY=0
MEMORY_DATASETS="strings list hash set zset small-lists small-hashes small-zsets small-sets small-intsets"
section_memory() {
    MEMORY=1
}

# memory_dataset NAME: the inline commands that write data set NAME; memory_dataset_label NAME
# and memory_dataset_elements NAME: what it holds and how many elements it counts.
memory_dataset() {
    case $1 in
    strings) awk 'BEGIN { for (i = 0; i < 1000000; i++) printf "SET key:%010d v%015d\r\n", i, i }' ;;
    list) awk 'BEGIN { for (i = 0; i < 1000000; i++) printf "RPUSH list e%015d\r\n", i }' ;;
    hash) awk 'BEGIN { for (i = 0; i < 1000000; i++) printf "HSET hash f%015d v%015d\r\n", i, i }' ;;
    set) awk 'BEGIN { for (i = 0; i < 1000000; i++) printf "SADD set m%015d\r\n", i }' ;;
    zset) awk 'BEGIN { for (i = 0; i < 1000000; i++) printf "ZADD zset %d m%015d\r\n", i, i }' ;;
    small-lists) awk 'BEGIN { for (i = 0; i < 100000; i++) {
        printf "RPUSH list:%06d", i
        for (j = 0; j < 5; j++) printf " e%015d", i * 5 + j
        printf "\r\n" } }' ;;
    small-hashes) awk 'BEGIN { for (i = 0; i < 10000; i++) {
        printf "HSET hash:%05d", i
        for (j = 0; j < 10; j++) printf " field:%02d v%015d", j, i * 10 + j
        printf "\r\n" } }' ;;
    small-zsets) awk 'BEGIN { for (i = 0; i < 100000; i++) {
        printf "ZADD zset:%06d", i
        for (j = 0; j < 10; j++) printf " %d m%015d", j, i * 10 + j
        printf "\r\n" } }' ;;
    small-sets) awk 'BEGIN { for (i = 0; i < 100000; i++) {
        printf "SADD set:%06d", i
        for (j = 0; j < 10; j++) printf " m%015d", i * 10 + j
        printf "\r\n" } }' ;;
    small-intsets) awk 'BEGIN { for (i = 0; i < 100000; i++) {
        printf "SADD intset:%06d", i
        for (j = 0; j < 10; j++) printf " %d", i * 10 + j
        printf "\r\n" } }' ;;
    *) die "unknown memory data set: $1" ;;
    esac
}
memory_dataset_label() {
    case $1 in
    strings) echo "strings: 1M keys \`key:%010d\`, 16-byte values" ;;
    list) echo "list: 1M × 16-byte elements (RPUSH)" ;;
    hash) echo "hash: 1M fields, 16-byte fields and values" ;;
    set) echo "set: 1M × 16-byte members" ;;
    zset) echo "sorted set: 1M × 16-byte members" ;;
    small-lists) echo "100k lists of 5 × 16-byte elements (per list)" ;;
    small-hashes) echo "10,000 hashes of 10 fields, 16-byte values (per hash)" ;;
    small-zsets) echo "100k sorted sets of 10 × 16-byte members (per set)" ;;
    small-sets) echo "100k sets of 10 × 16-byte members (per set)" ;;
    small-intsets) echo "100k sets of 10 integers below 10^6 (per set)" ;;
    esac
}
memory_dataset_elements() {
    case $1 in
    small-lists | small-zsets | small-sets | small-intsets) echo 100000 ;;
    small-hashes) echo 10000 ;;
    *) echo 1000000 ;;
    esac
}

# vm_rss PID: the process's resident size in bytes.
vm_rss() { awk '/^VmRSS:/ { print $2 * 1024 }' "/proc/$1/status"; }

# start_fresh TAG NAME BINARY ARGS...: starts a server of its own for section TAG (stopped on
# exit if the script dies meanwhile) and sets FRESH_PORT and FRESH_PID; stop_fresh TAG NAME
# stops it.
start_fresh() {
    local tag=$1 name=$2 bin=$3
    shift 3
    FRESH_PORT=$(free_port)
    "$bin" "$@" --port "$FRESH_PORT" --bind 127.0.0.1 >"$WORK_DIR/$name-$tag.log" 2>&1 &
    FRESH_PID=$!
    SERVER_PID[$tag-$name]=$FRESH_PID
    wait_port "$FRESH_PORT" "$FRESH_PID" 30 || die "$name did not start for the $tag section"
}
stop_fresh() {
    stop_pid "${SERVER_PID[$1-$2]}"
    unset "SERVER_PID[$1-$2]"
}

# pipe_into NAME PORT WHAT: writes the commands on standard input with `redis-cli --pipe`;
# dies if that fails or a command was refused (WHAT names the commands in the message).
pipe_into() {
    local log="$WORK_DIR/$1-pipe.log"
    redis-cli -p "$2" --pipe >"$log" 2>&1 || die "$1: redis-cli --pipe failed: $(tail -n 3 "$log")"
    grep -q 'errors: 0,' "$log" || die "$1: $3 had errors: $(tail -n 3 "$log")"
}

# used_memory_at PORT: INFO used_memory of the server on PORT.
used_memory_at() {
    redis-cli -h 127.0.0.1 -p "$1" INFO memory | tr -d '\r' | awk -F: '$1 == "used_memory" { print $2 }'
}

# measure_memory NAME DATASET BINARY ARGS...: starts a fresh server, writes DATASET into it and
# records the growth of its resident size and of used_memory per element; then stops it.
measure_memory() {
    local name=$1 dataset=$2 port pid rss_before used_before rss_after used_after elements
    shift 2
    start_fresh memory "$name" "$@"
    port=$FRESH_PORT pid=$FRESH_PID
    rss_before=$(vm_rss "$pid")
    used_before=$(used_memory_at "$port")
    memory_dataset "$dataset" | pipe_into "$name" "$port" "the $dataset data set"
    sleep 1
    rss_after=$(vm_rss "$pid")
    used_after=$(used_memory_at "$port")
    stop_fresh memory "$name"
    elements=$(memory_dataset_elements "$dataset")
    MEMORY_RSS[$name|$dataset]=$(awk -v a="$rss_after" -v b="$rss_before" -v n="$elements" 'BEGIN { printf "%.1f", (a - b) / n }')
    MEMORY_USED[$name|$dataset]=$(awk -v a="$used_after" -v b="$used_before" -v n="$elements" 'BEGIN { printf "%.1f", (a - b) / n }')
    log "  $name $dataset: ${MEMORY_RSS[$name|$dataset]} B resident, ${MEMORY_USED[$name|$dataset]} B used_memory per element"
}

declare -A MEMORY_RSS=() MEMORY_USED=()

run_memory() {
    local dataset redis_bin reddish_bin
    redis_bin=$(command -v "$REDIS_BIN")
    reddish_bin=$(realpath "$REDDISH_BIN")
    for dataset in $MEMORY_DATASETS; do
        log "memory: $dataset"
        measure_memory redis "$dataset" "$redis_bin" --save "" --appendonly no --dir "$WORK_DIR" --loglevel warning
        measure_memory reddish "$dataset" "$reddish_bin"
    done
    echo
    echo "Bytes per element: growth of the resident size (VmRSS one second after the load) and of"
    echo "INFO used_memory over a fresh server, written with \`redis-cli --pipe\`."
    echo
    echo "| data | reddish resident | redis resident | ratio | reddish used_memory | redis used_memory |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: |"
    for dataset in $MEMORY_DATASETS; do
        local ratio
        ratio=$(awk -v a="${MEMORY_RSS[reddish|$dataset]}" -v b="${MEMORY_RSS[redis|$dataset]}" \
            'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
        echo "| $(memory_dataset_label "$dataset") | ${MEMORY_RSS[reddish|$dataset]} | ${MEMORY_RSS[redis|$dataset]} | $ratio | ${MEMORY_USED[reddish|$dataset]} | ${MEMORY_USED[redis|$dataset]} |"
    done
}

# Importing past maxmemory: 2M SETs through `redis-cli --pipe` into a fresh server of each
# kind with maxmemory 100mb under allkeys-lru, so that about half the keys must be evicted
# while the pipe's input is read; what each server holds at the end. Keys whose values live
# in their table slots free no memory when evicted, which once made Reddish evict far more
# than the excess.
IMPORT_AT_LIMIT=0
IMPORT_AT_LIMIT_KEYS=2000000
section_import_at_limit() {
    IMPORT_AT_LIMIT=1
}

# import_at_limit NAME BINARY ARGS...: one fresh server, the import, its figures recorded.
import_at_limit() {
    local name=$1 port started seconds info
    shift
    start_fresh import "$name" "$@" --maxmemory 100mb --maxmemory-policy allkeys-lru
    port=$FRESH_PORT
    started=$(date +%s.%N)
    awk -v n="$IMPORT_AT_LIMIT_KEYS" 'BEGIN { for (i = 0; i < n; i++) printf "SET key:%010d v%015d\r\n", i, i }' |
        pipe_into "$name" "$port" "the import"
    seconds=$(awk -v a="$(date +%s.%N)" -v b="$started" 'BEGIN { printf "%.1f", a - b }')
    info=$(redis-cli -p "$port" INFO | tr -d '\r')
    IMPORT_KEYS[$name]=$(redis-cli -p "$port" DBSIZE)
    IMPORT_EVICTED[$name]=$(awk -F: '$1 == "evicted_keys" { print $2 }' <<<"$info")
    IMPORT_USED[$name]=$(awk -F: '$1 == "used_memory" { print $2 }' <<<"$info")
    IMPORT_SECONDS[$name]=$seconds
    stop_fresh import "$name"
    log "  $name: ${IMPORT_KEYS[$name]} keys held, ${IMPORT_EVICTED[$name]} evicted in $seconds s"
}

declare -A IMPORT_KEYS=() IMPORT_EVICTED=() IMPORT_USED=() IMPORT_SECONDS=()

run_import_at_limit() {
    local name
    log "import-at-limit: $IMPORT_AT_LIMIT_KEYS SETs under maxmemory 100mb"
    import_at_limit redis "$(command -v "$REDIS_BIN")" --save "" --appendonly no --dir "$WORK_DIR" --loglevel warning
    import_at_limit reddish "$(realpath "$REDDISH_BIN")"
    echo
    echo "$IMPORT_AT_LIMIT_KEYS SETs (\`key:%010d\`, 16-byte values) through \`redis-cli --pipe\` into a"
    echo "fresh server with maxmemory 100mb (104857600 bytes) under allkeys-lru:"
    echo
    echo "| server | keys held | evicted | used_memory | seconds |"
    echo "| --- | ---: | ---: | ---: | ---: |"
    for name in reddish redis; do
        echo "| $name | ${IMPORT_KEYS[$name]} | ${IMPORT_EVICTED[$name]} | ${IMPORT_USED[$name]} | ${IMPORT_SECONDS[$name]} |"
    done
}

# Deleting most keys: the memory a server keeps once 990,000 of its 1M keys are deleted
# (read two seconds after the deletions, so that a cron tick has run).
DELETE_MOST=0
section_delete_most() {
    DELETE_MOST=1
}

# delete_most NAME BINARY ARGS...: one fresh server, the writes and deletions, its figures.
delete_most() {
    local name=$1 port pid
    shift
    start_fresh delete "$name" "$@"
    port=$FRESH_PORT pid=$FRESH_PID
    awk 'BEGIN { for (i = 0; i < 1000000; i++) printf "SET key:%010d v%015d\r\n", i, i }' |
        pipe_into "$name" "$port" "the writes"
    sleep 1
    DELETE_USED_FULL[$name]=$(used_memory_at "$port")
    DELETE_RSS_FULL[$name]=$(vm_rss "$pid")
    awk 'BEGIN { for (i = 0; i < 990000; i++) printf "DEL key:%010d\r\n", i }' |
        pipe_into "$name" "$port" "the deletions"
    sleep 2
    DELETE_USED_LEFT[$name]=$(used_memory_at "$port")
    DELETE_RSS_LEFT[$name]=$(vm_rss "$pid")
    DELETE_KEYS[$name]=$(redis-cli -p "$port" DBSIZE)
    stop_fresh delete "$name"
    log "  $name: used_memory ${DELETE_USED_FULL[$name]} -> ${DELETE_USED_LEFT[$name]}"
}

declare -A DELETE_USED_FULL=() DELETE_RSS_FULL=() DELETE_USED_LEFT=() DELETE_RSS_LEFT=() DELETE_KEYS=()

run_delete_most() {
    local name
    log "delete-most: 1M SETs, then 990,000 DELs"
    delete_most redis "$(command -v "$REDIS_BIN")" --save "" --appendonly no --dir "$WORK_DIR" --loglevel warning
    delete_most reddish "$(realpath "$REDDISH_BIN")"
    echo
    echo "1M SETs (\`key:%010d\`, 16-byte values), then DEL of all but 10,000, through \`redis-cli"
    echo "--pipe\` into a fresh server; memory one second after the writes and two after the deletions:"
    echo
    echo "| server | used_memory, 1M keys | resident, 1M keys | used_memory, keys left | resident, keys left | keys left |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: |"
    for name in reddish redis; do
        echo "| $name | ${DELETE_USED_FULL[$name]} | ${DELETE_RSS_FULL[$name]} | ${DELETE_USED_LEFT[$name]} | ${DELETE_RSS_LEFT[$name]} | ${DELETE_KEYS[$name]} |"
    done
}

# A growing key table: the slowest PING another client sees while GROWTH_KEYS new keys are
# written (scripts/growth-stall.py), each server fresh, ROUNDS times, the servers alternating.
# The limit-stall section does the same with both servers at LIMIT_STALL_MAXMEMORY under
# allkeys-lru: the table fills, then each new key evicts one, as in a cache at its limit.
GROWTH_STALL=0
LIMIT_STALL=0
GROWTH_KEYS=6000000
LIMIT_STALL_MAXMEMORY=200mb
section_growth_stall() {
    GROWTH_STALL=1
}
section_limit_stall() {
    LIMIT_STALL=1
}

# run_growth_stall [CONFIG ARGS...]: the rounds, both servers started with CONFIG ARGS.
run_growth_stall() {
    local round name line python=python3
    local -A lines=()
    [ -x target/test-env/bin/python ] && python=target/test-env/bin/python
    log "growth-stall: $GROWTH_KEYS new keys, PINGs timed meanwhile, $ROUNDS rounds ${*:-}"
    for round in $(seq 1 "$ROUNDS"); do
        for name in redis reddish; do
            if [ "$name" = redis ]; then
                start_fresh growth redis "$(command -v "$REDIS_BIN")" --save "" --appendonly no \
                    --dir "$WORK_DIR" --loglevel warning "$@"
            else
                start_fresh growth reddish "$(realpath "$REDDISH_BIN")" "$@"
            fi
            line=$(timeout "$RUN_TIMEOUT" "$python" scripts/growth-stall.py --port "$FRESH_PORT" \
                --keys "$GROWTH_KEYS") || die "$name: scripts/growth-stall.py failed"
            stop_fresh growth "$name"
            lines[$name]+="$line"$'\n'
            log "  round $round, $name: $line"
        done
    done
    echo
    echo "$GROWTH_KEYS SETs of new keys (pipelined, batches of 1,000) into a fresh server${1:+ (${*})}"
    echo "while another connection sends a PING every 0.5 ms; milliseconds per PING, one row per round:"
    echo
    echo "| server | seconds | PINGs | p99 | slowest | five slowest |"
    echo "| --- | ---: | ---: | ---: | ---: | --- |"
    for name in reddish redis; do
        while read -r _ seconds pings p99 max slowest; do
            [ -n "$seconds" ] || continue
            echo "| $name | $seconds | $pings | $p99 | $max | $slowest |"
        done <<<"${lines[$name]}"
    done
}

# Backups with `redis-cli --rdb`: a fresh server of each kind holds BACKUP_KEYS strings (shaped
# as the memory section's strings: `key:%010d`, 16-byte values); redis-benchmark
# runs GETs from 50 clients while redis-cli takes the snapshot, and the table shows how long
# the backup took, the file's size and what the GETs felt (p99 and slowest). Redis forks a
# child to write the snapshot; Reddish builds it on its one thread.
BACKUP=0
BACKUP_KEYS=1000000
section_backup() {
    BACKUP=1
}

# measure_backup NAME BINARY ARGS...: one row of the backup table.
measure_backup() {
    local name=$1 port
    shift
    start_fresh backup "$name" "$@"
    port=$FRESH_PORT
    awk -v n="$BACKUP_KEYS" 'BEGIN { for (i = 0; i < n; i++) printf "SET key:%010d v%015d\r\n", i, i }' |
        pipe_into "$name" "$port" "the writes"
    local keys
    keys=$(redis-cli -p "$port" DBSIZE)
    redis-benchmark -p "$port" -c 50 -n 400000 -t get --csv >"$WORK_DIR/backup-bench.csv" 2>&1 &
    local bench=$!
    SERVER_PID[backup-benchmark]=$bench
    sleep 1
    local start end
    start=$(date +%s%N)
    timeout "$RUN_TIMEOUT" redis-cli -p "$port" --rdb "$WORK_DIR/backup.rdb" >"$WORK_DIR/$name-backup-cli.log" 2>&1 ||
        die "$name: redis-cli --rdb failed: $(tail -n 3 "$WORK_DIR/$name-backup-cli.log")"
    end=$(date +%s%N)
    wait "$bench" || die "$name: redis-benchmark failed: $(tail -n 3 "$WORK_DIR/backup-bench.csv")"
    unset "SERVER_PID[backup-benchmark]"
    stop_fresh backup "$name"
    local row bytes
    # "GET","rps","avg","min","p50","p95","p99","max"
    row=$(grep '^"GET"' "$WORK_DIR/backup-bench.csv" | tr -d '"') ||
        die "$name: no GET row from redis-benchmark: $(tail -n 3 "$WORK_DIR/backup-bench.csv")"
    bytes=$(stat -c %s "$WORK_DIR/backup.rdb")
    rm -f "$WORK_DIR/backup.rdb"
    printf '| %s | %s | %s | %s | %s | %s |\n' "$name" "$keys" "$(((end - start) / 1000000))" "$bytes" \
        "$(cut -d, -f7 <<<"$row")" "$(cut -d, -f8 <<<"$row")"
}

run_backup() {
    local redis_bin reddish_bin
    redis_bin=$(command -v "$REDIS_BIN")
    reddish_bin=$(realpath "$REDDISH_BIN")
    echo
    echo "Backups: \`redis-cli --rdb FILE\` of $BACKUP_KEYS string keys while \`redis-benchmark -c 50"
    echo "-n 400000 -t get\` runs (Redis with \`repl-diskless-sync-delay 0\`, so that it does not wait"
    echo "5 s for more replicas before it forks)."
    echo
    echo "| server | keys | backup (ms) | file bytes | GET p99 (ms) | slowest GET (ms) |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: |"
    log "backup: redis"
    measure_backup redis "$redis_bin" --save "" --appendonly no --dir "$WORK_DIR" --loglevel warning \
        --repl-diskless-sync-delay 0
    log "backup: reddish"
    measure_backup reddish "$reddish_bin"
}

# ACL: SET and GET as a user with limited rights (commands by category, a key pattern), with
# twenty more users defined on both servers (`--sections "standard acl" --tests set,get`; the
# standard rows then run as the default user with the same users defined).
ACL=0
section_acl() {
    ACL=1
    add_case "set (acl user)" --user bench -a bench-pass -t set
    add_case "get (acl user)" --user bench -a bench-pass -t get
}

# define_acl_users SERVER: the users of the acl section.
define_acl_users() {
    local port=${SERVER_PORT[$1]} i
    for i in $(seq 1 20); do
        redis-cli -h 127.0.0.1 -p "$port" ACL SETUSER "app$i" on ">pass-$i" "~app$i:*" "&app$i:*" \
            +@read +@write -@dangerous >/dev/null || die "ACL SETUSER failed on $1"
    done
    redis-cli -h 127.0.0.1 -p "$port" ACL SETUSER bench on ">bench-pass" "~key:*" "~counter:*" \
        +@read +@write +@connection +config\|get -@dangerous >/dev/null ||
        die "ACL SETUSER failed on $1"
}

# TLS: SET and GET through each server's tls-port instead of its plain port.
TLS=0
declare -A CASE_TLS=()        # case index -> 1 when the case runs over TLS
declare -A SERVER_TLS_PORT=() # server -> its tls-port
section_tls() {
    TLS=1
    add_case "set (tls)" -t set
    CASE_TLS[$((${#CASE_LABELS[@]} - 1))]=1
    add_case "get (tls)" -t get
    CASE_TLS[$((${#CASE_LABELS[@]} - 1))]=1
}

# make_tls_certs: a CA, and a server and a client certificate it signed, in $WORK_DIR/tls.
make_tls_certs() {
    local dir="$WORK_DIR/tls" name
    have openssl || die "the tls section needs the openssl CLI"
    mkdir -p "$dir"
    (
        cd "$dir"
        openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 \
            -subj "/CN=Reddish bench CA"
        printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >server.ext
        printf 'extendedKeyUsage=clientAuth\n' >client.ext
        for name in server client; do
            openssl req -newkey rsa:2048 -nodes -keyout "$name.key" -out "$name.csr" -subj "/CN=$name"
            openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial \
                -out "$name.crt" -days 2 -extfile "$name.ext"
        done
    ) >"$WORK_DIR/openssl.log" 2>&1 || die "cannot make TLS certificates: $(tail -n 5 "$WORK_DIR/openssl.log")"
}

# tls_server_args NAME: the start-up arguments for server NAME's tls-port (none without the
# tls section).
tls_server_args() {
    [ "$TLS" -eq 1 ] || return 0
    local dir="$WORK_DIR/tls"
    echo "--tls-port ${SERVER_TLS_PORT[$1]} --tls-cert-file $dir/server.crt" \
        "--tls-key-file $dir/server.key --tls-ca-cert-file $dir/ca.crt"
}

# ---------------------------------------------------------------------------------------------
# Servers
# ---------------------------------------------------------------------------------------------

WORK_DIR=""
declare -A SERVER_PID=() SERVER_PORT=()

cleanup() {
    local name
    for name in "${!SERVER_PID[@]}"; do
        stop_pid "${SERVER_PID[$name]}"
    done
    [ -n "$WORK_DIR" ] && rm -rf "$WORK_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start_server NAME BINARY ARGS...: on a free port, retrying on a new port if it exits early.
start_server() {
    local name=$1 bin=$2 attempt port pid
    shift 2
    local args=("$@")
    if [[ "$(basename "$bin")" == redis-server* ]]; then
        args+=(--save "" --appendonly no --dir "$WORK_DIR")
    fi
    for attempt in 1 2 3; do
        port=$(free_port)
        "$bin" "${args[@]}" --port "$port" --bind 127.0.0.1 >"$WORK_DIR/$name.log" 2>&1 &
        pid=$!
        if wait_port "$port" "$pid" 30; then
            SERVER_PID[$name]=$pid
            SERVER_PORT[$name]=$port
            log "$name: pid $pid, port $port"
            return 0
        fi
        stop_pid "$pid"
        log "$name did not start on port $port (attempt $attempt):"
        tail -n 20 "$WORK_DIR/$name.log" >&2
    done
    die "cannot start $name ($bin)"
}

# ---------------------------------------------------------------------------------------------
# Running and recording
# ---------------------------------------------------------------------------------------------

declare -A SAMPLES=()     # "server|pipeline|row" -> space-separated rps samples
declare -A FAILURES=()    # "server|pipeline|row" -> failed runs
declare -A FIRST_ERROR=() # "server|pipeline|row" -> first error message
ROWS=()                   # "pipeline|row" in order of first appearance
declare -A ROW_SEEN=()

note_row() {
    if [ -z "${ROW_SEEN[$1]:-}" ]; then
        ROW_SEEN[$1]=1
        ROWS+=("$1")
    fi
}

# run_case SERVER PIPELINE CASE-INDEX: one redis-benchmark run, results recorded.
run_case() {
    local server=$1 pipeline=$2 index=$3
    local label=${CASE_LABELS[$index]} args out="$WORK_DIR/run.csv" err="$WORK_DIR/run.err"
    IFS=$'\x1f' read -r -a args <<<"${CASE_ARGS[$index]}"
    if [ "${args[0]:-}" = "@pubsub" ]; then
        run_pubsub_case "$server" "$pipeline" "$label"
        return 0
    fi
    local status=0 port=${SERVER_PORT[$server]}
    local -a tls=()
    if [ -n "${CASE_TLS[$index]:-}" ]; then
        port=${SERVER_TLS_PORT[$server]}
        tls=(--tls --cacert "$WORK_DIR/tls/ca.crt" --cert "$WORK_DIR/tls/client.crt"
            --key "$WORK_DIR/tls/client.key")
    fi
    [ -n "${CASE_EVICTS[$index]:-}" ] && limit_memory "$server" on
    timeout "$RUN_TIMEOUT" redis-benchmark -h 127.0.0.1 -p "$port" "${tls[@]}" \
        -c "$CLIENTS" -n "$REQUESTS" -P "$pipeline" --csv "${args[@]}" >"$out" 2>"$err" ||
        status=$?
    [ -n "${CASE_EVICTS[$index]:-}" ] && limit_memory "$server" off
    # CSV rows: "TEST","RPS",latencies...; the header row starts with "test". Set-up runs
    # such as "LPUSH (needed to benchmark LRANGE)" are not results.
    local rows
    rows=$(grep -v '^"test"' "$out" | grep -v 'needed to benchmark' | grep '^"' |
        awk -F'","' '{ gsub(/^"/, "", $1); print $1 "\t" $2 }' || true)
    local count=0
    [ -n "$rows" ] && count=$(printf '%s\n' "$rows" | wc -l)
    if [ "$status" -ne 0 ] || [ "$count" -eq 0 ]; then
        local key="$server|$pipeline|$label" message
        note_row "$pipeline|$label"
        FAILURES[$key]=$((${FAILURES[$key]:-0} + 1))
        # "Error from server: ..." says why; a CONFIG warning alone is not the reason.
        message=$(cat "$err" "$out" | tr '\r' '\n' | grep -E 'Error|ERR' | head -n 1 || true)
        [ -z "$message" ] && message=$(cat "$err" "$out" | tr '\r' '\n' | grep -iE 'error|could not' | head -n 1 || true)
        [ -z "$message" ] && message="exit status $status, no result"
        [ -z "${FIRST_ERROR[$key]:-}" ] && FIRST_ERROR[$key]=$message
        log "  $server P=$pipeline $label: error ($message)"
        return 0
    fi
    local name rps row
    while IFS=$'\t' read -r name rps; do
        if [ "$count" -eq 1 ]; then row=$label; else row="$label: $name"; fi
        note_row "$pipeline|$row"
        SAMPLES["$server|$pipeline|$row"]+="$rps "
        log "  $server P=$pipeline $row: $rps"
    done <<<"$rows"
}

median() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
        END { if (NR == 0) exit; if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# The cell for one server: the median, "error", or the median with the number of failed runs.
cell() {
    local key=$1 samples med
    samples=${SAMPLES[$key]:-}
    # shellcheck disable=SC2086 # the samples are a space-separated list of numbers
    med=$(median $samples)
    local failures=${FAILURES[$key]:-0}
    if [ -z "$med" ]; then
        echo "error"
    elif [ "$failures" -gt 0 ]; then
        printf '%.0f (%d errors)\n' "$med" "$failures"
    else
        printf '%.0f\n' "$med"
    fi
}

print_report() {
    local redis_version nproc_count command
    redis_version=$("$REDIS_BIN" --version | grep -oE 'v=[^ ]+' | cut -d= -f2)
    nproc_count=$(nproc)
    command="scripts/bench.sh"
    local arg
    for arg in "${ORIGINAL_ARGS[@]}"; do
        if [[ "$arg" =~ ^[A-Za-z0-9_,./:=@%+-]+$ ]]; then
            command+=" $arg"
        else
            command+=" '${arg//\'/\'\\\'\'}'"
        fi
    done
    echo "## redis-benchmark: Reddish vs Redis"
    echo
    echo "- command: \`$command\`"
    echo "- each run: \`redis-benchmark -h 127.0.0.1 -p PORT -c $CLIENTS -n $REQUESTS -P PIPELINE --csv <test args>\`"
    if [ "$TLS" -eq 1 ]; then
        echo "- (tls) rows: the same with \`--tls --cacert ca.crt --cert client.crt --key client.key\` against each server's tls-port (\`--tls-port --tls-cert-file --tls-key-file --tls-ca-cert-file\`, tls-auth-clients yes)"
    fi
    echo "- median of $ROUNDS rounds; in each round every run goes to both servers, their order alternating by round"
    echo "- machine: nproc $nproc_count; redis-server $redis_version (\`--save \"\" --appendonly no\`); reddish \`$REDDISH_BIN${REDDISH_ARGS:+ $REDDISH_ARGS}\`"
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); load average at start: $LOAD_AT_START, at end: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown) (other work on the machine makes ratios noisy)"
    echo
    echo "| test | pipeline | redis rps | reddish rps | reddish/redis |"
    echo "| --- | ---: | ---: | ---: | ---: |"
    local entry pipeline row redis reddish ratio
    for entry in "${ROWS[@]}"; do
        pipeline=${entry%%|*}
        row=${entry#*|}
        redis=$(cell "redis|$entry")
        reddish=$(cell "reddish|$entry")
        ratio="-"
        if [[ "$redis" =~ ^[0-9]+$ ]] && [[ "${reddish%% *}" =~ ^[0-9]+$ ]] && [ "$redis" -gt 0 ]; then
            ratio=$(awk -v a="${reddish%% *}" -v b="$redis" 'BEGIN { printf "%.2f", a / b }')
        fi
        echo "| $row | $pipeline | $redis | $reddish | $ratio |"
    done
    if [ "${#FIRST_ERROR[@]}" -gt 0 ]; then
        echo
        echo "Errors (first message per server and row):"
        local key server rest
        for key in "${!FIRST_ERROR[@]}"; do
            server=${key%%|*}
            rest=${key#*|}
            echo "- $server, ${rest#*|}, pipeline ${rest%%|*}: ${FIRST_ERROR[$key]}"
        done | sort
    fi
}

# ---------------------------------------------------------------------------------------------

main() {
    if ! have redis-benchmark || ! have "$REDIS_BIN"; then
        ensure_redis_tools
    fi
    have timeout || die "timeout (coreutils) is required"
    if [ -z "$REDDISH_BIN" ]; then
        log "cargo build --release"
        cargo build --release >&2
        REDDISH_BIN=target/release/reddish
    fi
    [ -x "$REDDISH_BIN" ] || die "not executable: $REDDISH_BIN"
    LOAD_AT_START=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)
    WORK_DIR=$(mktemp -d "${TMPDIR:-/tmp}/reddish-bench.XXXXXX")

    local section
    for section in $SECTIONS; do
        declare -F "section_${section//-/_}" >/dev/null || die "unknown section: $section"
        "section_${section//-/_}"
    done
    if [ "$RDB_IMPORT" -eq 1 ]; then
        run_rdb_import
    fi
    if [ "$MEMORY" -eq 1 ]; then
        run_memory
    fi
    if [ "$BACKUP" -eq 1 ]; then
        run_backup
    fi
    if [ "$IMPORT_AT_LIMIT" -eq 1 ]; then
        run_import_at_limit
    fi
    if [ "$DELETE_MOST" -eq 1 ]; then
        run_delete_most
    fi
    if [ "$GROWTH_STALL" -eq 1 ]; then
        run_growth_stall
    fi
    if [ "$LIMIT_STALL" -eq 1 ]; then
        run_growth_stall --maxmemory "$LIMIT_STALL_MAXMEMORY" --maxmemory-policy allkeys-lru
    fi
    if [ "$RDB_IMPORT" -eq 1 ] || [ "$MEMORY" -eq 1 ] || [ "$BACKUP" -eq 1 ] ||
        [ "$IMPORT_AT_LIMIT" -eq 1 ] || [ "$DELETE_MOST" -eq 1 ] || [ "$GROWTH_STALL" -eq 1 ] ||
        [ "$LIMIT_STALL" -eq 1 ]; then
        [ "${#CASE_LABELS[@]}" -gt 0 ] || [ "$TIERING" -eq 1 ] || [ "$BIG_REQUESTS" -eq 1 ] ||
            return 0
    fi
    [ "${#CASE_LABELS[@]}" -gt 0 ] || [ "$TIERING" -eq 1 ] || [ "$BIG_REQUESTS" -eq 1 ] ||
        die "no benchmark cases selected"

    local -a reddish_args=()
    # shellcheck disable=SC2206 # --reddish-args is a space-separated argument list
    [ -n "$REDDISH_ARGS" ] && reddish_args=($REDDISH_ARGS)
    local -a redis_tls=() reddish_tls=()
    if [ "$TLS" -eq 1 ]; then
        make_tls_certs
        SERVER_TLS_PORT[redis]=$(free_port)
        SERVER_TLS_PORT[reddish]=$(free_port)
        # shellcheck disable=SC2207 # the arguments are paths without spaces (mktemp)
        redis_tls=($(tls_server_args redis))
        # shellcheck disable=SC2207
        reddish_tls=($(tls_server_args reddish))
    fi
    start_server redis "$REDIS_BIN" --loglevel warning "${redis_tls[@]}"
    start_server reddish "$REDDISH_BIN" "${reddish_args[@]}" "${reddish_tls[@]}"
    if [ "$PERSISTENCE" -eq 1 ]; then
        start_mongodb
        start_server reddish-mongo "$REDDISH_BIN" "${reddish_args[@]}" \
            --mongodb-uri "$BENCH_MONGODB_URI" --mongodb-database "reddish_bench_$$"
    fi

    if [ "$SCRIPTING" -eq 1 ]; then
        load_scripts redis
        load_scripts reddish
    fi
    if [ "$ACL" -eq 1 ]; then
        define_acl_users redis
        define_acl_users reddish
    fi

    local round pipeline index server order
    [ "${#CASE_LABELS[@]}" -gt 0 ] || ROUNDS_WITH_CASES=0
    for round in $(seq 1 "$((ROUNDS_WITH_CASES ? ROUNDS : 0))"); do
        if [ $((round % 2)) -eq 1 ]; then order="redis reddish"; else order="reddish redis"; fi
        log "round $round/$ROUNDS ($order)"
        for server in $order ${SERVER_PORT[reddish-mongo]:+reddish-mongo}; do
            redis-cli -h 127.0.0.1 -p "${SERVER_PORT[$server]}" FLUSHALL >/dev/null 2>&1 || true
        done
        if [ "$GEO" -eq 1 ]; then
            for server in $order; do
                load_geo_points "$server"
            done
        fi
        for pipeline in $PIPELINES; do
            for index in "${!CASE_LABELS[@]}"; do
                for server in $(case_servers "$index" "$order"); do
                    run_case "$server" "$pipeline" "$index"
                done
            done
        done
    done
    [ "${#CASE_LABELS[@]}" -gt 0 ] && print_report
    if [ "$TIERING" -eq 1 ]; then
        print_tiering_report
    fi
    if [ "$EVICTION" -eq 1 ]; then
        print_hit_ratio_report
    fi
    if [ "$BIG_REQUESTS" -eq 1 ]; then
        print_big_request_report
    fi
    if [ "$STREAMS" -eq 1 ]; then
        print_stream_memory_report
    fi
    if [ "$GEO" -eq 1 ]; then
        print_geo_report
    fi
    if [ "$PERSISTENCE" -eq 1 ]; then
        record_persistence_end
        print_persistence_report
    fi
}

main
