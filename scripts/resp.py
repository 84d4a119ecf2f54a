"""RESP request encoding shared by the measuring scripts beside it (run from the repository
root as `python3 scripts/NAME.py`, which puts this folder on the import path)."""


def encode(*args):
    """One request in RESP: an array of bulk strings (bytes, or anything `str` can render)."""
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        if not isinstance(arg, bytes):
            arg = str(arg).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(out)
