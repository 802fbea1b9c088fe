"""Holding Python's cyclic garbage collector off while a bulk job builds many objects.

Reading and planning a directory of 10,000 people makes about a million small dicts,
lists and strings, none of them in a cycle. The cyclic collector runs whenever enough
containers have been allocated, and each of its older-generation passes walks every live
container: a third of an unchanged re-sync's time went there (`bench/ldap_bench.py`,
1.4 s with it, 1.0 s without). Reference counting still frees everything as usual; only
the search for cycles waits until the job is done.

The collector is process-wide, so pauses are counted: it comes back on when the last
pause ends, and only if it was on before the first one began.
"""

from __future__ import annotations

import contextlib
import gc
import threading
import typing as t

_lock = threading.Lock()
_state = {"pauses": 0, "was_enabled": True}


@contextlib.contextmanager
def paused() -> t.Iterator[None]:
    with _lock:
        if _state["pauses"] == 0:
            _state["was_enabled"] = gc.isenabled()
            gc.disable()
        _state["pauses"] += 1
    try:
        yield
    finally:
        with _lock:
            _state["pauses"] -= 1
            if _state["pauses"] == 0 and _state["was_enabled"]:
                gc.enable()
