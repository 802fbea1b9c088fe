"""Requests per API token, limited per minute: a fixed-window counter kept in the store.

A script in a loop must not take the server from everyone else, so each token may make
`API_REQUESTS_PER_MINUTE` requests in each calendar minute; past that it is told how many
seconds remain until the next minute (the API answers 429 with `Retry-After`).

The counts live in MongoDB (`api_request_counts`), one document per token and minute,
counted with one atomic `$inc` upsert (find-and-modify), as the sign-in throttle counts
failures: every worker and machine counts into the same document, on MongoDB, mongomock
and the embedded store, with no lock. A TTL index drops a minute's count after it is over.
A fixed window lets a burst of up to twice the limit straddle a minute's end; that is
the price of so few writes, and it still bounds a token's rate. Far from the limit a
process writes its count every `BATCH` requests (see `spend`).
"""

from __future__ import annotations

import math
import threading
import typing as t
from datetime import datetime, timedelta

import mongoengine as me
from flask import current_app
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from ..models.kept import now

WINDOW = timedelta(minutes=1)
# How long a window's count is kept after it ends (the TTL monitor runs about once a
# minute, so a count may outlive this a little; an old count is never read again anyway).
_KEPT = timedelta(minutes=2)
DEFAULT_PER_MINUTE = 600

# Far from the limit, requests are added to the store this many at a time (see `spend`);
# within NEAR of it, one at a time.
BATCH, NEAR = 10, 50
# This process's requests not yet added to the store, per window: key -> [unsent, the
# count last read, the window's start].
_held: dict[str, list[t.Any]] = {}
_lock = threading.Lock()

# The clock the windows are read from: tests move it instead of waiting a minute.
clock: t.Callable[[], datetime] = now


class ApiRequestCount(me.Document):
    meta = {"collection": "api_request_counts",
            "indexes": [{"fields": ["expires"], "expireAfterSeconds": 0}]}

    key = me.StringField(primary_key=True)  # "<token id>|<window start, ISO>"
    count = me.IntField(default=0)
    expires = me.DateTimeField()


def per_minute() -> int:
    return int(current_app.config.get("API_REQUESTS_PER_MINUTE") or DEFAULT_PER_MINUTE)


def _window_start(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def spend(token_id: t.Any) -> int:
    """Count one request of the token: 0 when it is within the limit, else the seconds
    until the next window (at least 1), when it may send again.

    Far from the limit, a process adds its requests to the store `BATCH` at a time: a
    write per request was a third of an API create's cost. Within `NEAR` of the limit (as
    this process last read the count), every request is added and read back at once, so
    the limit holds exactly there; across several processes a token may get past it by
    at most `BATCH` - 1 requests a process, and a process's last few requests of a minute
    may go uncounted."""
    moment = clock()
    start = _window_start(moment)
    key = f"{token_id}|{start.isoformat()}"
    limit = per_minute()
    with _lock:
        held = _held.get(key)
        if held is None:
            for old in [k for k, (_u, _t, when) in _held.items() if when < start]:
                del _held[old]  # windows that are over
            held = _held[key] = [0, 0, start]
        held[0] += 1
        if held[0] < BATCH and held[1] + held[0] <= limit - NEAR:
            return 0
        unsent, held[0] = held[0], 0
    total = _add(key, unsent, start)
    with _lock:
        held[1] = total
    if total <= limit:
        return 0
    return max(1, math.ceil((start + WINDOW - moment).total_seconds()))


def _add(key: str, requests: int, start: datetime) -> int:
    """Add requests to the window's stored count; the count after."""
    entry = None
    counts = ApiRequestCount._get_collection()  # no document object: asked often
    for _attempt in range(2):
        try:
            entry = counts.find_one_and_update(
                {"_id": key}, {"$inc": {"count": requests},
                               "$setOnInsert": {"expires": start + _KEPT}},
                projection={"count": 1}, upsert=True, return_document=ReturnDocument.AFTER)
            break
        except DuplicateKeyError:  # two first requests of a window raced to insert it:
            continue  # the other one made the document, so now it is an update
    return int(entry["count"]) if entry is not None else requests
