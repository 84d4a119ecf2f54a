"""Django's cache with its documented Redis setup (django.core.cache.backends.redis.RedisCache),
driven as a Django project uses it: get/set with timeouts, add, get_or_set, counters, many-key
operations, touch, versions, key prefixes, sessions kept in the cache, and clear.

Usage: django_cache.py HOST:PORT [all|before|after]. Prints one observation per line; exits
non-zero when the cache broke one of its promises. Phase "before" stores entries (some short-
lived) and a session, "after" (possibly after a server restart) finds the lasting ones.
"""

import sys
import time

import django
from django.conf import settings

ADDRESS = sys.argv[1]
PHASE = sys.argv[2] if len(sys.argv) > 2 else "all"

settings.configure(
    CACHES={
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://{ADDRESS}/2",
            "KEY_PREFIX": "site",
        },
        "other": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://{ADDRESS}/2",
            "KEY_PREFIX": "other",
            "TIMEOUT": 60,
        },
    },
    SESSION_ENGINE="django.contrib.sessions.backends.cache",
    INSTALLED_APPS=["django.contrib.sessions"],
    USE_TZ=True,
)
django.setup()

from django.contrib.sessions.backends.cache import SessionStore  # noqa: E402
from django.core.cache import cache, caches  # noqa: E402


def say(*parts):
    print(*parts, flush=True)


def everyday():
    cache.set("greeting", "hello", 30)
    say("get", cache.get("greeting"), cache.get("missing"), cache.get("missing", "default"))
    say("add existing", cache.add("greeting", "other"), "add new", cache.add("fresh", {"a": [1, 2]}))
    say("get_or_set", cache.get_or_set("computed", lambda: 6 * 7), cache.get_or_set("computed", 0))
    cache.set("hits", 10)
    say("incr", cache.incr("hits"), cache.incr("hits", 5), cache.decr("hits", 3))
    try:
        cache.incr("no-such-counter")
        say("incr missing", "no error")
    except ValueError as error:
        say("incr missing", "ValueError", error)
    cache.set_many({"a": 1, "b": [1, "two"], "c": {"three": 3.0}}, 30)
    say("get_many", cache.get_many(["a", "b", "c", "d"]))
    cache.delete_many(["a", "b"])
    say("after delete_many", cache.get_many(["a", "b", "c"]))
    say("has_key", cache.has_key("c"), cache.has_key("a"))
    say("delete", cache.delete("c"), cache.delete("c"))
    cache.set("big", "x" * 100_000)
    say("big value", len(cache.get("big")))
    cache.set("versioned", "v1", version=1)
    cache.set("versioned", "v2", version=2)
    say("versions", cache.get("versioned", version=1), cache.get("versioned", version=2))
    say("incr_version", cache.incr_version("versioned", version=2), cache.get("versioned", version=3))
    caches["other"].set("greeting", "from the other cache")
    say("prefixes apart", cache.get("greeting"), caches["other"].get("greeting"))
    cache.set("short", "gone soon", 1)
    cache.set("forever", "stays", None)
    say("touch", cache.touch("short", 1), cache.touch("nothing-here", 10))
    time.sleep(1.2)
    say("expired", cache.get("short"), "no timeout", cache.get("forever"))
    cache.set("zero", "never stored", 0)
    say("timeout 0", cache.get("zero"))
    cache.clear()
    say("after clear", cache.get("forever"), caches["other"].get("greeting"))


def before():
    cache.set("durable", {"orders": [1, 2, 3]}, None)
    cache.set("durable-counter", 41, None)
    cache.set("ephemeral", "x", 1)
    session = SessionStore()
    session["cart"] = ["book", "pen"]
    session.save()
    cache.set("session-key", session.session_key, None)


def after():
    time.sleep(1.1)
    say("durable", cache.get("durable"), cache.incr("durable-counter"), cache.get("ephemeral"))
    session = SessionStore(session_key=cache.get("session-key"))
    say("session", session.get("cart"), session.exists(session.session_key))


def main():
    if PHASE in ("all", "before"):
        cache._cache.get_client(write=True).flushall()
    if PHASE == "all":
        everyday()
    if PHASE in ("all", "before"):
        before()
    if PHASE in ("all", "after"):
        after()


if __name__ == "__main__":
    main()
