#!/usr/bin/env bash
# Cross-builds Reddish for x86_64-pc-windows-gnu and checks the .exe under Wine, driven from Linux
# with redis-cli / redis-benchmark.
#
# Usage: scripts/windows-check.sh
#
# Installs what is missing (apt-get when run as root: gcc-mingw-w64-x86-64, wine64, wine,
# redis-tools, python3, openssl; rustup target x86_64-pc-windows-gnu), builds
# `cargo build --release --target x86_64-pc-windows-gnu` at the repo root, starts
# `reddish.exe --port P --bind 127.0.0.1` under Wine on a free loopback port in a private
# WINEPREFIX (target/windows-check/wineprefix) and prints `ok - <name>` / `not ok - <name>` per
# check, then `N passed, N failed`; the exit status is non-zero when a check failed. A second
# server then listens on `--tls-port` beside its plain port, with a CA, server and client
# certificates made by the `openssl` CLI, and is checked with `redis-cli --tls` and
# `redis-benchmark --tls` (Debian's redis-tools are built with TLS).
#
# Environment:
#   REDDISH_WINDOWS_EXE       check this Windows exe instead of building the crate (no cargo build)
#   MONGODB_URI               also run a persistence round trip when the server has --mongodb-uri
#                             and links the MongoDB driver (otherwise the round trip prints SKIP)
#   WINDOWS_CHECK_IDLE_SECS   how long the idle client waits before its second command (default 60)
#   CARGO_TARGET_DIR          honoured; the build, stand-in DLL and prefix live under it
#
# Debian's Wine 8 has no bcryptprimitives.dll, from which Rust's std imports ProcessPrng; the
# script then builds a stand-in from scripts/windows/bcryptprimitives.c (backed by RtlGenRandom)
# and puts it on WINEPATH for this check only. Real Windows 10+ ships the genuine DLL.
set -euo pipefail

readonly TARGET=x86_64-pc-windows-gnu
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly ROOT
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$ROOT/$TARGET_DIR" ;; esac
readonly WORK="$TARGET_DIR/windows-check"
readonly IDLE_SECS="${WINDOWS_CHECK_IDLE_SECS:-60}"
mkdir -p "$WORK"

log() { printf '# %s\n' "$*"; }
die() {
    printf 'windows-check: %s\n' "$*" >&2
    exit 2
}

# ---------------------------------------------------------------------------------------------
# Tools
# ---------------------------------------------------------------------------------------------
apt_updated=0
apt_install() {
    if [ "$(id -u)" -ne 0 ]; then
        die "missing packages: $*; install them (as root: apt-get install $*)"
    fi
    command -v apt-get >/dev/null || die "missing packages: $* (and no apt-get to install them)"
    if [ "$apt_updated" -eq 0 ]; then
        log "apt-get update"
        apt-get update -q >/dev/null
        apt_updated=1
    fi
    log "apt-get install $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >/dev/null
}

find_wine() {
    local candidate
    for candidate in "$(command -v wine64 || true)" /usr/lib/wine/wine64 "$(command -v wine || true)"; do
        if [ -n "$candidate" ] && [ -x "$candidate" ]; then
            printf '%s\n' "$candidate"
            return 0
        fi
    done
    return 1
}

find_wineserver() {
    local candidate
    for candidate in "$(command -v wineserver || true)" /usr/lib/wine/wineserver64 \
        /usr/lib/wine/wineserver; do
        if [ -n "$candidate" ] && [ -x "$candidate" ]; then
            printf '%s\n' "$candidate"
            return 0
        fi
    done
    return 1
}

ensure_tools() {
    local missing=()
    command -v x86_64-w64-mingw32-gcc >/dev/null || missing+=(gcc-mingw-w64-x86-64)
    # Debian splits Wine: `wine64` holds the 64-bit loader, `wine` the launcher scripts and
    # wineserver; a 64-bit exe needs no wine32.
    if ! find_wine >/dev/null || ! find_wineserver >/dev/null; then missing+=(wine64 wine); fi
    { command -v redis-cli && command -v redis-benchmark; } >/dev/null || missing+=(redis-tools)
    command -v python3 >/dev/null || missing+=(python3)
    command -v timeout >/dev/null || missing+=(coreutils)
    command -v openssl >/dev/null || missing+=(openssl)
    if [ "${#missing[@]}" -gt 0 ]; then apt_install "${missing[@]}"; fi

    if [ -z "${REDDISH_WINDOWS_EXE:-}" ]; then
        command -v cargo >/dev/null || die "cargo not found"
        if command -v rustup >/dev/null; then
            if ! rustup target list --installed | grep -qx "$TARGET"; then
                log "rustup target add $TARGET"
                rustup target add "$TARGET" >/dev/null
            fi
        fi
    fi
}

ensure_tools
WINE="$(find_wine)" || die "no wine64 found"
WINESERVER="$(find_wineserver)" || die "no wineserver found"
readonly WINE WINESERVER

# ---------------------------------------------------------------------------------------------
# Build
# ---------------------------------------------------------------------------------------------
if [ -n "${REDDISH_WINDOWS_EXE:-}" ]; then
    EXE="$REDDISH_WINDOWS_EXE"
    [ -f "$EXE" ] || die "REDDISH_WINDOWS_EXE=$EXE does not exist"
else
    [ -f "$ROOT/Cargo.toml" ] || die "no Cargo.toml at $ROOT"
    log "cargo build --release --target $TARGET"
    (cd "$ROOT" && cargo build --release --target "$TARGET" --bin reddish) ||
        die "cross-build failed"
    EXE="$TARGET_DIR/$TARGET/release/reddish.exe"
fi
readonly EXE

# ---------------------------------------------------------------------------------------------
# Wine prefix (private, quiet, no GUI dialogs)
# ---------------------------------------------------------------------------------------------
export WINEPREFIX="$WORK/wineprefix"
export WINEARCH=win64
export WINEDEBUG=-all
# Empty overrides disable Mono/Gecko so Wine never asks to install them.
export WINEDLLOVERRIDES="mscoree,mshtml="
export WINESERVER

if [ ! -f "$WINEPREFIX/system.reg" ]; then
    log "creating Wine prefix $WINEPREFIX"
    timeout 300 "$WINE" wineboot --init >/dev/null 2>&1 || die "wineboot failed"
    timeout 120 "$WINESERVER" -w || true
fi

# Wine copies a placeholder of every DLL it implements into system32, so its absence there means
# this Wine lacks the DLL.
if [ ! -e "$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll" ]; then
    dll_dir="$WORK/dll"
    dll="$dll_dir/bcryptprimitives.dll"
    dll_src="$ROOT/scripts/windows/bcryptprimitives.c"
    mkdir -p "$dll_dir"
    if [ ! -f "$dll" ] || [ "$dll_src" -nt "$dll" ]; then
        log "building stand-in bcryptprimitives.dll"
        x86_64-w64-mingw32-gcc -O2 -Wall -Wextra -Werror -shared -static-libgcc -s \
            -o "$dll" "$dll_src" -ladvapi32
    fi
    # Wine maps drive Z: to the Unix root.
    export WINEPATH="Z:${dll_dir//\//\\}"
fi

# ---------------------------------------------------------------------------------------------
# Server lifecycle
# ---------------------------------------------------------------------------------------------
SERVER_PID=""
IDLE_PID=""
cleanup() {
    local status=$?
    if [ -n "$IDLE_PID" ]; then kill "$IDLE_PID" 2>/dev/null || true; fi
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; fi
    # -k ends only the wineserver of this private prefix and its processes.
    timeout 30 "$WINESERVER" -k >/dev/null 2>&1 || true
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_server LOG ARGS...: starts the exe under Wine on a free port, sets SERVER_PID and PORT and
# waits (bounded) until it answers PING. PORT is kept when PORT_FIXED is set (ARGS may name it).
start_server() {
    local logfile="$1"
    shift
    if [ -z "${PORT_FIXED:-}" ]; then PORT="$(free_port)"; fi
    "$WINE" "$EXE" --port "$PORT" --bind 127.0.0.1 "$@" >"$logfile" 2>&1 &
    SERVER_PID=$!
    local deadline=$((SECONDS + 60))
    while [ "$SECONDS" -lt "$deadline" ]; do
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            SERVER_PID=""
            printf '# server exited during start-up; its log:\n' >&2
            sed 's/^/#   /' "$logfile" >&2
            return 1
        fi
        if [ "$(timeout 5 redis-cli -h 127.0.0.1 -p "$PORT" PING 2>/dev/null)" = "PONG" ]; then
            return 0
        fi
        sleep 0.3
    done
    printf '# server did not answer PING within 60 s; its log:\n' >&2
    sed 's/^/#   /' "$logfile" >&2
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
    return 1
}

# stop_server: Ctrl-C first (Wine turns SIGINT into a console Ctrl-C event, which the server's
# handler sees), then a hard kill after a bound.
stop_server() {
    [ -n "$SERVER_PID" ] || return 0
    kill -INT "$SERVER_PID" 2>/dev/null || true
    local deadline=$((SECONDS + 30))
    while kill -0 "$SERVER_PID" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.2; done
    local graceful=0
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -KILL "$SERVER_PID" 2>/dev/null || true
        graceful=1
    fi
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
    return "$graceful"
}

# ---------------------------------------------------------------------------------------------
# Checks (each runs inside `if`, so a failing step is a failed check, not an exit under set -e)
# ---------------------------------------------------------------------------------------------
passed=0
failed=0
# check NAME COMMAND...: runs COMMAND in this shell and records ok / not ok.
check() {
    local name="$1"
    shift
    if "$@"; then
        printf 'ok - %s\n' "$name"
        passed=$((passed + 1))
    else
        printf 'not ok - %s\n' "$name"
        failed=$((failed + 1))
    fi
}
rcli() { timeout 30 redis-cli -h 127.0.0.1 -p "$PORT" "$@"; }
# replies EXPECTED ARGS...: the command's redis-cli output is exactly EXPECTED.
replies() { [ "$(rcli "${@:2}")" = "$1" ]; }
server_alive() { [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; }

bin_file="$WORK/binary.dat"
pipe_file="$WORK/pipe.resp"
idle_out="$WORK/idle.out"

# Runs in the background: only its idle wait is long.
start_idle_client() {
    timeout $((IDLE_SECS + 60)) python3 - "$PORT" "$IDLE_SECS" >"$idle_out" 2>&1 <<'PY' &
import socket, sys, time
port, idle = int(sys.argv[1]), float(sys.argv[2])
s = socket.create_connection(("127.0.0.1", port), timeout=20)
def ping():
    s.sendall(b"*1\r\n$4\r\nPING\r\n")
    got = b""
    while not got.endswith(b"\r\n"):
        chunk = s.recv(64)
        if not chunk:
            raise SystemExit("connection closed by server")
        got += chunk
    if got != b"+PONG\r\n":
        raise SystemExit("unexpected reply %r" % got)
ping()
time.sleep(idle)
ping()
print("idle connection usable after %gs" % idle)
PY
    IDLE_PID=$!
}

finish_idle_client() {
    local status=0
    wait "$IDLE_PID" || status=$?
    IDLE_PID=""
    [ "$status" -eq 0 ] || sed 's/^/#   /' "$idle_out"
    return "$status"
}

set_binary() {
    python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(256)))' >"$bin_file"
    [ "$(rcli -x SET wincheck:binary <"$bin_file")" = "OK" ]
}

# The expected --no-raw rendering follows redis-cli's quoting of non-printable bytes.
get_binary_quoted() {
    local expected
    expected="$(python3 -c '
named = {"\\": "\\\\", "\"": "\\\"", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\a": "\\a", "\b": "\\b"}
out = []
for b in range(256):
    c = chr(b)
    if c in named: out.append(named[c])
    elif 32 <= b < 127: out.append(c)
    else: out.append("\\x%02x" % b)
print("\"" + "".join(out) + "\"")')"
    [ "$(rcli --no-raw GET wincheck:binary)" = "$expected" ]
}

get_binary_raw() {
    timeout 30 python3 - "$PORT" "$bin_file" <<'PY'
import socket, sys
port, path = int(sys.argv[1]), sys.argv[2]
value = open(path, "rb").read()
want = b"$%d\r\n%s\r\n" % (len(value), value)
s = socket.create_connection(("127.0.0.1", port), timeout=20)
s.sendall(b"*2\r\n$3\r\nGET\r\n$15\r\nwincheck:binary\r\n")
got = b""
while len(got) < len(want):
    chunk = s.recv(4096)
    if not chunk:
        break
    got += chunk
sys.exit(0 if got == want else 1)
PY
}

pipe_burst() {
    python3 - "$pipe_file" <<'PY'
import sys
with open(sys.argv[1], "wb") as f:
    for i in range(10000):
        key, val = b"wincheck:pipe:%d" % i, b"v%d" % i
        f.write(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(key), key, len(val), val))
PY
    local out
    out="$(timeout 120 redis-cli -h 127.0.0.1 -p "$PORT" --pipe <"$pipe_file" 2>&1)" || true
    printf '%s\n' "$out" | grep -q '^errors: 0, replies: 10000$' && return 0
    printf '%s\n' "$out" | sed 's/^/#   /'
    return 1
}

peer_resets() {
    timeout 60 python3 - "$PORT" <<'PY' || return 1
import socket, struct, sys
port = int(sys.argv[1])
def reset(payload, read_first=False):
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    if payload:
        s.sendall(payload)
    if read_first:
        s.recv(1)
    s.close()  # linger {1, 0}: the close sends RST instead of FIN
big = b"x" * (1 << 20)
s = socket.create_connection(("127.0.0.1", port), timeout=20)
s.sendall(b"*3\r\n$3\r\nSET\r\n$12\r\nwincheck:big\r\n$%d\r\n%s\r\n" % (len(big), big))
if s.recv(5) != b"+OK\r\n":
    sys.exit("SET of the big value failed")
s.close()
reset(b"")  # idle connection
reset(b"*1\r\n$4\r\nPI")  # half a command buffered
reset(b"*1\r\n$4\r\nPING\r\n")  # reply not read
# Megabytes of replies pending in the server's output buffer when the RST arrives.
reset(b"*2\r\n$3\r\nGET\r\n$12\r\nwincheck:big\r\n" * 8, read_first=True)
PY
    sleep 0.5
    server_alive && replies PONG PING
}

# benchmark [ARGS...]: redis-benchmark on PORT unless ARGS name another port (and TLS options).
benchmark() {
    local out count
    out="$(timeout 180 redis-benchmark -h 127.0.0.1 -p "$PORT" "$@" -q -n 2000 -t ping,set,get 2>&1 |
        tr '\r' '\n' | grep -v 'rps=')" || true
    printf '%s\n' "$out" | grep 'requests per second' | sed 's/^/# /'
    count="$(printf '%s\n' "$out" | grep -c 'requests per second')" || true
    if [ "$count" -eq 4 ] && ! printf '%s\n' "$out" | grep -qi 'error'; then return 0; fi
    printf '%s\n' "$out" | grep -v 'requests per second' | sed 's/^/#   /'
    return 1
}

# Write, stop gracefully, start a new process on the same database, read back.
mongo_round_trip() {
    local key value
    key="wincheck:mongo:$(python3 -c 'import uuid; print(uuid.uuid4().hex)')"
    value="persisted-$(date +%s)"
    local mongo_args=(--mongodb-uri "$MONGODB_URI")
    # A database of its own keeps the check away from the user's data.
    if grep -aq -- 'mongodb-database' "$EXE"; then
        mongo_args+=(--mongodb-database reddish_windows_check)
    fi
    check "mongodb: server starts with --mongodb-uri" \
        start_server "$WORK/server-mongo-1.log" "${mongo_args[@]}"
    [ -n "$SERVER_PID" ] || return 0
    check "mongodb: SET before restart" replies OK SET "$key" "$value"
    check "mongodb: first server stops on Ctrl-C" stop_server
    check "mongodb: second server starts" \
        start_server "$WORK/server-mongo-2.log" "${mongo_args[@]}"
    [ -n "$SERVER_PID" ] || return 0
    check "mongodb: value loaded after restart" replies "$value" GET "$key"
    rcli DEL "$key" >/dev/null || true
    check "mongodb: second server stops on Ctrl-C" stop_server
}


# ---------------------------------------------------------------------------------------------
# TLS: a second server with `--tls-port` beside `--port`, checked with Linux's redis-cli
# ---------------------------------------------------------------------------------------------
readonly CERT_DIR="$WORK/certs"

# A CA, a server certificate for 127.0.0.1 / localhost and a client certificate, as
# tests/tls.rs makes them.
make_certs() {
    rm -rf "$CERT_DIR"
    mkdir -p "$CERT_DIR"
    (
        cd "$CERT_DIR"
        openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 \
            -subj "/CN=Reddish windows-check CA"
        printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >server.ext
        printf 'extendedKeyUsage=clientAuth\n' >client.ext
        for name in server client; do
            openssl req -newkey rsa:2048 -nodes -keyout "$name.key" -out "$name.csr" \
                -subj "/CN=$name"
            openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial \
                -out "$name.crt" -days 2 -extfile "$name.ext"
        done
    ) >"$WORK/openssl.log" 2>&1 || {
        sed 's/^/#   /' "$WORK/openssl.log"
        return 1
    }
}

# The exe opens the files through Wine, which maps drive Z: to the Unix root.
win_path() { printf 'Z:%s' "${1//\//\\}"; }

tls_opts() {
    printf '%s\n' --tls --cacert "$CERT_DIR/ca.crt" --cert "$CERT_DIR/client.crt" \
        --key "$CERT_DIR/client.key"
}
tcli() {
    local opts
    mapfile -t opts < <(tls_opts)
    timeout 30 redis-cli -h 127.0.0.1 -p "$TLS_PORT" "${opts[@]}" "$@"
}
# tls_replies EXPECTED ARGS...: the command's output over TLS is exactly EXPECTED.
tls_replies() { [ "$(tcli "${@:2}")" = "$1" ]; }

tls_set_binary() { [ "$(tcli -x SET wincheck:tls:binary <"$bin_file")" = "OK" ]; }
tls_get_binary() {
    # redis-cli --raw ends the value with a newline of its own.
    tcli --raw GET wincheck:tls:binary >"$WORK/tls-binary.out" &&
        head -c 256 "$WORK/tls-binary.out" | cmp -s - "$bin_file" &&
        [ "$(stat -c %s "$WORK/tls-binary.out")" -eq 257 ]
}

# Python's ssl client with the same certificates: MODE is `big` (SET and GET of a 1 MB value
# of random bytes, compared byte for byte, then four GETs read only after a pause) or `mixed` (a plain and a TLS connection open at
# once, each reading what the other wrote).
tls_python() {
    timeout 120 python3 - "$1" "$PORT" "$TLS_PORT" "$CERT_DIR" <<'PY'
import os, socket, ssl, sys, time
mode, port, tls_port, certs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
ctx = ssl.create_default_context(cafile=os.path.join(certs, "ca.crt"))
ctx.load_cert_chain(os.path.join(certs, "client.crt"), os.path.join(certs, "client.key"))

def tls_conn():
    raw = socket.create_connection(("127.0.0.1", tls_port), timeout=30)
    return ctx.wrap_socket(raw, server_hostname="localhost")

def command(sock, *args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else a.encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    sock.sendall(out)

def reply(sock, want):
    got = b""
    while len(got) < len(want):
        chunk = sock.recv(65536)
        if not chunk:
            break
        got += chunk
    if got != want:
        sys.exit("unexpected reply (%d bytes, wanted %d): %r" % (len(got), len(want), got[:80]))

if mode == "big":
    value = os.urandom(1 << 20)
    s = tls_conn()
    command(s, "SET", "wincheck:tls:big", value)
    reply(s, b"+OK\r\n")
    command(s, "GET", "wincheck:tls:big")
    reply(s, b"$%d\r\n%s\r\n" % (len(value), value))
    # A slow reader: megabytes of records wait in the server until the socket is writable
    # again (on Windows, a readiness mio emulates over AFD polling).
    for _ in range(4):
        command(s, "GET", "wincheck:tls:big")
    time.sleep(1)
    reply(s, b"$%d\r\n%s\r\n" % (len(value), value) * 4)
    command(s, "DEL", "wincheck:tls:big")
    reply(s, b":1\r\n")
else:
    plain = socket.create_connection(("127.0.0.1", port), timeout=30)
    secure = tls_conn()
    for i in range(50):
        command(plain, "SET", "wincheck:tls:mixed", "plain%d" % i)
        reply(plain, b"+OK\r\n")
        command(secure, "GET", "wincheck:tls:mixed")
        reply(secure, b"$%d\r\nplain%d\r\n" % (len("plain%d" % i), i))
        command(secure, "SET", "wincheck:tls:mixed", "tls%d" % i)
        reply(secure, b"+OK\r\n")
        command(plain, "GET", "wincheck:tls:mixed")
        reply(plain, b"$%d\r\ntls%d\r\n" % (len("tls%d" % i), i))
    command(plain, "DEL", "wincheck:tls:mixed")
    reply(plain, b":1\r\n")
PY
}

# Without a certificate the handshake (or, under TLS 1.3, the first read after it) fails and
# the client gets no reply; the server carries on.
tls_no_cert_refused() {
    local out
    out="$(timeout 30 redis-cli -h 127.0.0.1 -p "$TLS_PORT" --tls --cacert "$CERT_DIR/ca.crt" \
        PING 2>&1)" || true
    printf '# without a certificate: %s\n' "$(printf '%s' "$out" | head -n 1)"
    [ "$out" != "PONG" ] && server_alive && tls_replies PONG PING
}

tls_benchmark() {
    local opts
    mapfile -t opts < <(tls_opts)
    benchmark -p "$TLS_PORT" "${opts[@]}"
}

tls_checks() {
    check "tls: CA, server and client certificates made with openssl" make_certs
    [ -f "$CERT_DIR/client.crt" ] || return 0
    PORT="$(free_port)"
    TLS_PORT="$(free_port)"
    PORT_FIXED=1 check "tls: server starts with --port and --tls-port (tls-auth-clients yes)" \
        start_server "$WORK/server-tls.log" --tls-port "$TLS_PORT" \
        --tls-cert-file "$(win_path "$CERT_DIR/server.crt")" \
        --tls-key-file "$(win_path "$CERT_DIR/server.key")" \
        --tls-ca-cert-file "$(win_path "$CERT_DIR/ca.crt")" --tls-auth-clients yes
    [ -n "$SERVER_PID" ] || return 0
    check "tls: PING over TLS (redis-cli --tls with a client certificate)" tls_replies PONG PING
    check "tls: SET of a binary value (bytes 0..255) over TLS" tls_set_binary
    check "tls: GET of the binary value over TLS, bytes compared" tls_get_binary
    check "tls: SET and GET of a 1 MB value over TLS, then 4 MB to a slow reader" tls_python big
    check "tls: a client without a certificate is refused" tls_no_cert_refused
    check "tls: plain and TLS connections at once" tls_python mixed
    check "tls: redis-benchmark --tls -n 2000 -t ping,set,get without errors" tls_benchmark
    tcli DEL wincheck:tls:binary >/dev/null || true
    check "tls: server still running after the TLS checks" server_alive
    check "tls: server stops on Ctrl-C" stop_server
}

log "server: $EXE"
check "server starts under Wine and answers PING" start_server "$WORK/server.log"
if [ -z "$SERVER_PID" ]; then
    printf '%d passed, %d failed\n' "$passed" "$failed"
    exit 1
fi
start_idle_client
check "PING" replies PONG PING
check "SET of a binary value (bytes 0..255) via redis-cli -x" set_binary
check "GET of the binary value via redis-cli --no-raw" get_binary_quoted
check "GET of the binary value, raw bytes compared" get_binary_raw
check "pipelined burst of 10000 commands (redis-cli --pipe)" pipe_burst
check "last pipelined write is readable" replies v9999 GET wincheck:pipe:9999
check "peer resets (SO_LINGER 0) leave the server answering PING" peer_resets
# Lua is vendored into the cross-built exe: a script, a function and a stream must run there.
check "EVAL runs Lua (redis.call and cjson)" \
    replies '{"n":3}' EVAL "redis.call('SET', KEYS[1], 3); return cjson.encode({n = tonumber(redis.call('GET', KEYS[1]))})" 1 wincheck:lua
check "FUNCTION LOAD and FCALL" replies 'wincheck' FUNCTION LOAD REPLACE \
    "#!lua name=wincheck
redis.register_function('wincheck_echo', function(keys, args) return args[1] end)"
check "FCALL returns its argument" replies hello FCALL wincheck_echo 0 hello
check "XADD and XRANGE" replies 1-1 XADD wincheck:stream 1-1 f v
rcli DEL wincheck:lua wincheck:stream >/dev/null || true
rcli FUNCTION DELETE wincheck >/dev/null || true
check "redis-benchmark -n 2000 -t ping,set,get without errors" benchmark
rcli DEL wincheck:binary wincheck:big >/dev/null || true
check "connection idle for ${IDLE_SECS}s still works" finish_idle_client
check "server still running after all checks" server_alive
check "server stops on Ctrl-C" stop_server

tls_checks

# The option name alone is not enough: the config may know `mongodb-uri` before persistence is
# built in, so the MongoDB driver's handshake name must be linked in too.
if [ -z "${MONGODB_URI:-}" ]; then
    printf 'SKIP windows mongodb round trip: MONGODB_URI is not set\n'
elif ! grep -aq -- 'mongodb-uri' "$EXE"; then
    printf 'SKIP windows mongodb round trip: the server has no --mongodb-uri option\n'
elif ! grep -aq -- 'mongo-rust-driver' "$EXE"; then
    printf 'SKIP windows mongodb round trip: the server does not link the MongoDB driver\n'
else
    mongo_round_trip
fi

printf '%d passed, %d failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ]
