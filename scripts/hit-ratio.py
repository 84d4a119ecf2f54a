#!/usr/bin/env python3
"""Cache hit ratio of Reddish and redis-server under the same workload, in one run.

The workload is a cache's: GET a key, and on a miss SET it (a value of --value-size bytes), with
keys drawn from a Zipf distribution (exponent --exponent, 0.99 by default) over --keys keys. Each
server gets its memory limit from its own figures: it is loaded with the whole data set once,
the memory that took is measured (INFO used_memory), then it is emptied and `maxmemory` is set
to hold --share of it (20% by default). Both servers then serve the very same request sequence
(one seeded generator) under each policy of --policies, and the hit ratios are printed as a
Markdown table: over all requests, and over the requests after the first fifth (the cache warm).

Requests go in pipelined batches of --batch GETs, then the SETs for that batch's misses: the
same for both servers, so the sequences stay identical.

Usage: scripts/hit-ratio.py --reddish-bin target/release/reddish [--redis-bin redis-server]
       [--keys 100000] [--requests 1000000] [--value-size 100] [--share 0.2]
       [--exponent 0.99] [--policies allkeys-lru,allkeys-lfu] [--seed 1] [--batch 100]

Needs only Python 3 (numpy is used when present for drawing the keys, else the standard
library); scripts/bench.sh runs it with the Python of target/test-env.
"""

import argparse
import bisect
import itertools
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time

from resp import encode


class Connection:
    """A minimal RESP2 client: pipelined commands, replies as Python values."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = self.sock.makefile("rb")

    def send(self, commands):
        self.sock.sendall(b"".join(encode(*c) for c in commands))

    def read(self):
        line = self.reader.readline()
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            length = int(rest)
            if length < 0:
                return None
            return self.reader.read(length + 2)[:-2]
        if kind == b"*":
            length = int(rest)
            return None if length < 0 else [self.read() for _ in range(length)]
        raise RuntimeError("connection closed or bad reply: %r" % line)

    def call(self, *args):
        self.send([args])
        return self.read()

    def info_field(self, name):
        for line in self.call("INFO").decode().split("\r\n"):
            if line.startswith(name + ":"):
                return line.split(":", 1)[1]
        raise RuntimeError("no %s in INFO" % name)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(binary, extra, workdir, name):
    port = free_port()
    log = open(os.path.join(workdir, name + ".log"), "wb")
    process = subprocess.Popen(
        [binary, *extra, "--port", str(port), "--bind", "127.0.0.1"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.time() + 30
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError("%s exited; see its log" % name)
        try:
            conn = Connection(port)
            conn.call("PING")
            return process, conn
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("%s did not start" % name)


def zipf_sequence(keys, requests, exponent, seed):
    """Key numbers 0..keys-1, rank r drawn with probability proportional to 1/(r+1)^exponent;
    ranks are mapped to key numbers by a seeded permutation, so hot keys are spread out."""
    rng = random.Random(seed)
    permutation = list(range(keys))
    rng.shuffle(permutation)
    try:
        import numpy

        weights = 1.0 / numpy.arange(1, keys + 1, dtype=numpy.float64) ** exponent
        cdf = numpy.cumsum(weights)
        cdf /= cdf[-1]
        uniform = numpy.random.default_rng(seed).random(requests)
        ranks = numpy.minimum(numpy.searchsorted(cdf, uniform), keys - 1)
        table = numpy.array(permutation)
        return table[ranks].tolist()
    except ImportError:
        cdf = list(itertools.accumulate(1.0 / (r + 1) ** exponent for r in range(keys)))
        total = cdf[-1]
        return [
            permutation[min(bisect.bisect_left(cdf, rng.random() * total), keys - 1)]
            for _ in range(requests)
        ]


def key_name(number):
    return b"key:%d" % number


def load_all(conn, keys, value, batch):
    for start in range(0, keys, batch):
        numbers = range(start, min(start + batch, keys))
        conn.send([(b"SET", key_name(n), value) for n in numbers])
        for _ in numbers:
            conn.read()


def run_workload(conn, sequence, value, batch):
    """Returns (hits over all requests, hits after the first fifth)."""
    hits = 0
    warm_from = len(sequence) // 5
    warm_hits = 0
    for start in range(0, len(sequence), batch):
        chunk = sequence[start : start + batch]
        conn.send([(b"GET", key_name(n)) for n in chunk])
        missed = []
        for offset, number in enumerate(chunk):
            if conn.read() is None:
                missed.append(number)
            else:
                hits += 1
                if start + offset >= warm_from:
                    warm_hits += 1
        if missed:
            conn.send([(b"SET", key_name(n), value) for n in missed])
            for _ in missed:
                conn.read()
    return hits, warm_hits


def measure(conn, policy, args, sequence, value):
    conn.call("CONFIG", "SET", "maxmemory", "0")
    conn.call("FLUSHALL")
    time.sleep(0.2)
    baseline = int(conn.info_field("used_memory"))
    load_all(conn, args.keys, value, args.batch)
    full = int(conn.info_field("used_memory"))
    conn.call("FLUSHALL")
    time.sleep(0.2)
    baseline = min(baseline, int(conn.info_field("used_memory")))
    limit = baseline + int((full - baseline) * args.share)
    conn.call("CONFIG", "SET", "maxmemory-policy", policy)
    conn.call("CONFIG", "SET", "maxmemory", str(limit))
    started = time.time()
    hits, warm_hits = run_workload(conn, sequence, value, args.batch)
    seconds = time.time() - started
    result = {
        "hits": hits / len(sequence),
        "warm": warm_hits / max(1, len(sequence) - len(sequence) // 5),
        "limit": limit - baseline,
        "data": full - baseline,
        "keys": conn.call("DBSIZE"),
        "evicted": int(conn.info_field("evicted_keys")),
        "seconds": seconds,
    }
    conn.call("CONFIG", "SET", "maxmemory", "0")
    conn.call("FLUSHALL")
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reddish-bin", required=True)
    parser.add_argument("--redis-bin", default="redis-server")
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--value-size", type=int, default=100)
    parser.add_argument("--share", type=float, default=0.2)
    parser.add_argument("--exponent", type=float, default=0.99)
    parser.add_argument("--policies", default="allkeys-lru,allkeys-lfu")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch", type=int, default=100)
    args = parser.parse_args()

    redis_bin = shutil.which(args.redis_bin) or args.redis_bin
    sequence = zipf_sequence(args.keys, args.requests, args.exponent, args.seed)
    value = b"v" * args.value_size
    workdir = tempfile.mkdtemp(prefix="reddish-hit-ratio.")
    servers = {}
    try:
        servers["redis"] = start_server(
            redis_bin, ["--save", "", "--appendonly", "no", "--dir", workdir], workdir, "redis"
        )
        servers["reddish"] = start_server(args.reddish_bin, [], workdir, "reddish")
        results = {}
        for policy in args.policies.split(","):
            for name in ("redis", "reddish"):
                print("%s %s ..." % (name, policy), file=sys.stderr, flush=True)
                results[(name, policy)] = measure(servers[name][1], policy, args, sequence, value)
        print("## Cache hit ratio: Reddish vs Redis")
        print()
        print(
            "- workload: GET, and SET on a miss (%d-byte values), keys Zipf(s = %g) over %d keys, "
            "%d requests (seed %d), pipelined %d GETs at a time; the same sequence for both"
            % (args.value_size, args.exponent, args.keys, args.requests, args.seed, args.batch)
        )
        print(
            "- maxmemory: each server's own memory for the whole data set x %g, above its empty "
            "used_memory" % args.share
        )
        print()
        print(
            "| policy | server | hit ratio | hit ratio (warm: after the first fifth) "
            "| limit / data set bytes | keys held | evicted | seconds |"
        )
        print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for policy in args.policies.split(","):
            for name in ("redis", "reddish"):
                r = results[(name, policy)]
                print(
                    "| %s | %s | %.4f | %.4f | %d / %d | %d | %d | %.1f |"
                    % (
                        policy,
                        name,
                        r["hits"],
                        r["warm"],
                        r["limit"],
                        r["data"],
                        r["keys"],
                        r["evicted"],
                        r["seconds"],
                    )
                )
    finally:
        for process, conn in servers.values():
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
