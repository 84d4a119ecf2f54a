#!/usr/bin/env python3
"""What other clients feel while a server's key table grows: the slowest PING.

One connection writes new keys as fast as it can (pipelined SETs of distinct keys, 8-byte
values), so the server's key table fills and grows again and again; another connection
sends a PING every half millisecond and times each reply. A table that rebuilds its whole
hash index when it grows stalls every client for as long as the rebuild takes, which grows
with the keys; an incremental growth (Redis's rehashing) does not.

Usage: scripts/growth-stall.py --port P [--keys 6000000]

Prints one line: keys written, seconds, PINGs timed, their p99 and max milliseconds, and the
five slowest.
"""

import argparse
import socket
import threading
import time

from resp import encode


def pinger(port, stop, times):
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    reader = sock.makefile("rb")
    ping = encode(b"PING")
    while not stop.is_set():
        started = time.perf_counter()
        sock.sendall(ping)
        reply = reader.readline()
        times.append((time.perf_counter() - started) * 1000)
        if reply != b"+PONG\r\n":
            raise RuntimeError("PING got %r" % reply)
        time.sleep(0.0005)
    sock.close()


def writer(port, keys, batch=1000):
    """Writes `keys` SETs in pipelined batches, reading each batch's replies."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    reader = sock.makefile("rb")
    value = b"v" * 8
    for first in range(0, keys, batch):
        last = min(keys, first + batch)
        sock.sendall(
            b"".join(encode(b"SET", b"key:%010d" % n, value) for n in range(first, last))
        )
        for _ in range(first, last):
            reply = reader.readline()
            if reply != b"+OK\r\n":
                raise RuntimeError("SET got %r" % reply)
    sock.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--keys", type=int, default=6000000)
    args = parser.parse_args()
    stop = threading.Event()
    times = []
    thread = threading.Thread(target=pinger, args=(args.port, stop, times))
    thread.start()
    started = time.perf_counter()
    try:
        writer(args.port, args.keys)
    finally:
        seconds = time.perf_counter() - started
        stop.set()
        thread.join()
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    slowest = ", ".join("%.1f" % t for t in reversed(ordered[-5:]))
    print(
        "%d %.1f %d %.2f %.1f %s"
        % (args.keys, seconds, len(times), p99, ordered[-1], slowest)
    )


if __name__ == "__main__":
    main()
