"""redis-py driven as its users drive it: Lock, pipelines, transactions, pub/sub in a thread,
scan_iter and RESP3 client-side caching.

Usage: redis_py.py HOST:PORT [all|before|after]. Prints one observation per line; exits
non-zero when the library broke one of its promises. Phase "before" takes a lock and queues
work, "after" (possibly after a server restart) finds both intact.
"""

import sys
import threading
import time

import redis
from redis.exceptions import LockError, WatchError

HOST, PORT = sys.argv[1].rsplit(":", 1)
PHASE = sys.argv[2] if len(sys.argv) > 2 else "all"


def client(**kwargs):
    return redis.Redis(host=HOST, port=int(PORT), decode_responses=True, **kwargs)


def say(*parts):
    print(*parts, flush=True)


def check(condition, what):
    if not condition:
        say("BROKEN", what)
        sys.exit(1)


def locks(r):
    owner = r.lock("app:lock", timeout=5)
    say("lock acquire", owner.acquire(blocking=False))
    rival = r.lock("app:lock", timeout=5, blocking_timeout=0.2)
    say("rival acquire while held", rival.acquire())
    say("owned", owner.owned(), "rival owned", rival.owned())
    say("extend", owner.extend(10))
    ttl = r.pttl("app:lock")
    check(10_000 < ttl <= 15_000, f"extend adds to the ttl: {ttl}")
    say("reacquire", owner.reacquire())
    ttl = r.pttl("app:lock")
    check(4_000 < ttl <= 5_000, f"reacquire resets the ttl to the timeout: {ttl}")
    try:
        rival.release()
        say("rival release", "no error")
    except LockError as error:
        say("rival release", type(error).__name__, error)

    # A blocking acquire while the lock is held elsewhere gets it once the owner releases.
    outcome = {}

    def waiter():
        started = time.monotonic()
        lock = client().lock("app:lock", timeout=5, blocking_timeout=5, sleep=0.02)
        outcome["acquired"] = lock.acquire()
        outcome["waited"] = time.monotonic() - started
        lock.release()

    thread = threading.Thread(target=waiter)
    thread.start()
    time.sleep(0.3)
    owner.release()
    thread.join()
    say("blocking acquire after release", outcome["acquired"])
    check(outcome["waited"] >= 0.25, f"blocking acquire waited {outcome['waited']:.2f} s")
    say("lock key after both released", r.exists("app:lock"))

    # The lock used as a context manager by several threads: the counter it guards is exact.
    r.set("app:guarded", 0)

    def bump():
        local = client()
        for _ in range(25):
            with local.lock("app:lock2", timeout=5, sleep=0.005):
                value = int(local.get("app:guarded"))
                local.set("app:guarded", value + 1)

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    say("guarded counter", r.get("app:guarded"))

    expired = r.lock("app:lock3", timeout=0.2)
    expired.acquire()
    time.sleep(0.4)
    try:
        expired.release()
        say("release after expiry", "no error")
    except LockError as error:
        say("release after expiry", type(error).__name__, error)


def pipelines(r):
    pipe = r.pipeline(transaction=False)
    pipe.set("app:p:a", 1).incr("app:p:a").rpush("app:p:list", "x", "y").lrange("app:p:list", 0, -1)
    pipe.hset("app:p:hash", mapping={"f1": "v1", "f2": "v2"}).hgetall("app:p:hash")
    pipe.zadd("app:p:z", {"m1": 1, "m2": 2}).zrange("app:p:z", 0, -1, withscores=True)
    pipe.get("app:p:missing").lpop("app:p:hash")
    say("pipeline", pipe.execute(raise_on_error=False))

    with r.pipeline() as tx:
        tx.multi()
        tx.incrby("app:tx:n", 5).expire("app:tx:n", 100).ttl("app:tx:n").type("app:tx:n")
        say("multi/exec", tx.execute())

    # Optimistic transactions under contention: every increment lands exactly once.
    r.set("app:tx:counter", 0)

    def add(pipe):
        value = int(pipe.get("app:tx:counter"))
        pipe.multi()
        pipe.set("app:tx:counter", value + 1)

    def worker():
        local = client()
        for _ in range(50):
            local.transaction(add, "app:tx:counter")

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    say("watched counter", r.get("app:tx:counter"))

    with r.pipeline() as pipe:
        pipe.watch("app:tx:watched")
        client().set("app:tx:watched", "changed")
        pipe.multi()
        pipe.set("app:tx:watched", "mine")
        try:
            pipe.execute()
            say("watch", "executed")
        except WatchError:
            say("watch", "WatchError")
    say("watched value", r.get("app:tx:watched"))

    with r.pipeline() as tx:
        tx.set("app:tx:s", "text").incr("app:tx:s").get("app:tx:s")
        results = tx.execute(raise_on_error=False)
        say("exec with an error", [str(x) if isinstance(x, Exception) else x for x in results])


def pubsub(r):
    received = []
    done = threading.Event()

    def on_message(message):
        received.append((message["channel"], message["data"]))
        if len(received) == 200:
            done.set()

    p = r.pubsub()
    p.subscribe(**{"app:news": on_message})
    p.psubscribe(**{"app:ev:*": on_message})
    worker = p.run_in_thread(sleep_time=0.01, daemon=True)
    deadline = time.monotonic() + 5
    while r.pubsub_numsub("app:news")[0][1] < 1 or r.pubsub_numpat() < 1:
        check(time.monotonic() < deadline, "subscriptions appear")
        time.sleep(0.01)
    publisher = client()
    counts = []
    for i in range(100):
        counts.append(publisher.publish("app:news", f"n{i}"))
        counts.append(publisher.publish(f"app:ev:{i % 3}", f"e{i}"))
    check(done.wait(5), f"all messages arrive ({len(received)})")
    worker.stop()
    worker.join(5)
    p.close()
    say("publish receivers", sorted(set(counts)))
    say("messages in order", received == [
        m for i in range(100) for m in (("app:news", f"n{i}"), (f"app:ev:{i % 3}", f"e{i}"))
    ])
    say("numsub after close", r.pubsub_numsub("app:news"))


def scanning(r):
    with r.pipeline(transaction=False) as pipe:
        for i in range(1000):
            pipe.set(f"app:scan:{i}", i)
        pipe.hset("app:scan-hash", mapping={f"f{i}": i for i in range(300)})
        pipe.sadd("app:scan-set", *range(300))
        pipe.zadd("app:scan-z", {f"m{i}": i for i in range(300)})
        pipe.execute()
    keys = set(r.scan_iter(match="app:scan:*", count=100))
    say("scan_iter keys", len(keys), keys == {f"app:scan:{i}" for i in range(1000)})
    say("scan_iter _type", sorted(r.scan_iter(match="app:scan-*", _type="hash")))
    say("hscan_iter", len(dict(r.hscan_iter("app:scan-hash", count=50))))
    say("sscan_iter", len(set(r.sscan_iter("app:scan-set", count=50))))
    say("zscan_iter", sorted(r.zscan_iter("app:scan-z", match="m29*"), key=lambda m: m[1]))


def client_side_cache():
    # redis-py 5.2's own cache (cache_config=) refuses servers older than 7.4 (Redis 7.0.15
    # included), so this drives what it builds on: RESP3, CLIENT TRACKING and its push handler.
    tracked = redis.Redis(
        host=HOST, port=int(PORT), protocol=3, single_connection_client=True,
        decode_responses=True,
    )
    invalidations = []
    tracked.connection._parser.set_invalidation_push_handler(invalidations.append)
    say("tracking on", tracked.client_tracking_on())
    other = client()
    other.set("app:cached", "one")
    say("tracked get", tracked.get("app:cached"))
    other.set("app:cached", "two")
    deadline = time.monotonic() + 5
    while not invalidations and time.monotonic() < deadline:
        tracked.ping()
        time.sleep(0.01)
    say("invalidations", invalidations)
    say("after invalidation", tracked.get("app:cached"))
    say("tracking info", tracked.client_trackinginfo())
    tracked.close()


def before(r):
    owner = r.lock("app:durable-lock", timeout=600)
    say("durable lock acquire", owner.acquire(blocking=False))
    r.set("app:durable-token", owner.local.token)
    with r.pipeline() as tx:
        tx.rpush("app:durable-work", *[f"job{i}" for i in range(100)])
        tx.hset("app:durable-state", mapping={"queued": 100, "done": 0})
        tx.execute()
    for _ in range(40):
        r.lmove("app:durable-work", "app:durable-done", "LEFT", "RIGHT")
        r.hincrby("app:durable-state", "done", 1)


def after(r):
    rival = r.lock("app:durable-lock", timeout=5)
    say("durable lock still held", not rival.acquire(blocking=False))
    owner = r.lock("app:durable-lock", timeout=600)
    owner.local.token = r.get("app:durable-token")
    say("owner releases", owner.release() is None)
    while r.lmove("app:durable-work", "app:durable-done", "LEFT", "RIGHT"):
        r.hincrby("app:durable-state", "done", 1)
    done = r.lrange("app:durable-done", 0, -1)
    say("durable jobs done in order", done == [f"job{i}" for i in range(100)])
    say("durable state", r.hgetall("app:durable-state"))


def main():
    r = client()
    if PHASE in ("all", "before"):
        r.flushall()
    if PHASE == "all":
        locks(r)
        pipelines(r)
        pubsub(r)
        scanning(r)
        client_side_cache()
    if PHASE in ("all", "before"):
        before(r)
    if PHASE in ("all", "after"):
        after(r)


if __name__ == "__main__":
    main()
