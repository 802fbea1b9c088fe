"""Requests per API token, limited per minute: a fixed-window counter kept in the store.

A script in a loop must not take the server from everyone else, so each token may make
`API_REQUESTS_PER_MINUTE` requests in each calendar minute; past that it is told how many
seconds remain until the next minute (the API answers 429 with `Retry-After`).

The counts live in MongoDB (`api_request_counts`), one document per token and minute,
counted with one atomic `$inc` upsert (find-and-modify), as the sign-in throttle counts
failures: every worker and machine counts into the same document, on MongoDB, mongomock
and the embedded store, with no lock. A TTL index drops a minute's count after it is over.
A fixed window lets a burst of up to twice the limit straddle a minute's end; that is
the price of one write per request, and it still bounds a token's rate.
"""

from __future__ import annotations

import math
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
    until the next window (at least 1), when it may send again."""
    moment = clock()
    start = _window_start(moment)
    key = f"{token_id}|{start.isoformat()}"
    entry = None
    counts = ApiRequestCount._get_collection()  # one write a request: no document object
    for _attempt in range(2):
        try:
            entry = counts.find_one_and_update(
                {"_id": key}, {"$inc": {"count": 1}, "$setOnInsert": {"expires": start + _KEPT}},
                projection={"count": 1}, upsert=True, return_document=ReturnDocument.AFTER)
            break
        except DuplicateKeyError:  # two first requests of a window raced to insert it:
            continue  # the other one made the document, so now it is an update
    if entry is None or entry["count"] <= per_minute():
        return 0
    return max(1, math.ceil((start + WINDOW - moment).total_seconds()))
