#!/usr/bin/env python3
"""Latency of SETs written in pieces by a Nagle client, Reddish beside Redis.

A socket's default is Nagle's algorithm on (Redis's TCL harness, many scripts and small
clients never set TCP_NODELAY). Such a client writing a request in pieces sends the first,
then holds the rest until the server acknowledges it; a server that leaves the
acknowledgement to the kernel's delayed-ACK timer makes each such request wait up to 40 ms. This measures it: one
connection per server, the request written in 4 KB pieces as a buffered writer does, a PING
between requests (a request/reply connection, as an application's), and the time from the
first byte written to the reply. Rounds alternate the order of the servers.

Usage: scripts/big-request-latency.py --reddish-port P --redis-port P
       [--sizes 5000,100000,1000000] [--requests 50] [--rounds 3]

Prints a Markdown table: p50, p99 and max milliseconds per server and size.
"""

import argparse
import socket
import sys
import time

from resp import encode


def measure(port, size, requests):
    """Milliseconds of each of `requests` SETs of `size` bytes on a fresh Nagle connection."""
    # A server that stops answering fails the run instead of hanging it.
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    reader = sock.makefile("rb")
    ping = encode(b"PING")
    request = encode(b"SET", b"big-request", b"v" * size)
    for _ in range(3):
        sock.sendall(ping)
        reader.readline()
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        for at in range(0, len(request), 4096):
            sock.sendall(request[at : at + 4096])
        reply = reader.readline()
        times.append((time.perf_counter() - started) * 1000)
        if reply != b"+OK\r\n":
            raise RuntimeError("port %d replied %r" % (port, reply))
        sock.sendall(ping)
        reader.readline()
    reader.close()
    sock.close()
    return times


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reddish-port", type=int, required=True)
    parser.add_argument("--redis-port", type=int, required=True)
    parser.add_argument("--sizes", default="5000,100000,1000000")
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    ports = {"redis": args.redis_port, "reddish": args.reddish_port}
    sizes = [int(s) for s in args.sizes.split(",")]
    times = {(name, size): [] for name in ports for size in sizes}
    for round_number in range(args.rounds):
        order = ("redis", "reddish") if round_number % 2 == 0 else ("reddish", "redis")
        print("big requests: round %d/%d" % (round_number + 1, args.rounds), file=sys.stderr)
        for size in sizes:
            for name in order:
                times[(name, size)] += measure(ports[name], size, args.requests)
    print("## Big requests from a client with Nagle's algorithm on")
    print()
    print(
        "- SET of one value, written in 4 KB pieces, a PING between requests; %d requests per "
        "server and size in %d alternating rounds; milliseconds from the first byte to the reply"
        % (args.requests * args.rounds, args.rounds)
    )
    print()
    print("| value bytes | Redis p50 | Redis p99 | Redis max | Reddish p50 | Reddish p99 | Reddish max |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for size in sizes:
        cells = []
        for name in ("redis", "reddish"):
            values = times[(name, size)]
            cells += ["%.1f" % percentile(values, 0.5), "%.1f" % percentile(values, 0.99)]
            cells.append("%.1f" % max(values))
        print("| %d | %s |" % (size, " | ".join(cells)))


if __name__ == "__main__":
    main()
