"""Pages of a history list without deep skips: a cursor instead of a page number.

A page is asked for as "older than" (`before=`) or "newer than" (`after=`) a key of the
entries already shown (a record's revision, or a change set's id on a batch's list), so
every page is one range on an index, however far back it is: no skip, no count.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from flask import request


@dataclass
class Page:
    """The entries of one page, newest first, and the cursors of its neighbours (None:
    there is no such page; {}: the first page)."""

    items: list[dict[str, t.Any]]
    newer: dict[str, str] | None = None
    older: dict[str, str] | None = None


def page(collection: t.Any, query: dict[str, t.Any], key: str, size: int,
         read: t.Callable[[str], t.Any]) -> Page:
    """One page of `query`'s documents in descending `key` order, from the request's
    `before=` or `after=` (read by `read`, which returns None for a value that is not one)."""
    before = _cursor("before", read)
    after = _cursor("after", read) if before is None else None
    if after is not None:
        found = list(collection.find({**query, key: {"$gt": after}}).sort(key, 1)
                     .limit(size + 1))
        has_newer = len(found) > size
        items = found[:size][::-1]
        if not items:  # nothing newer than that: the newest page
            return page_from_start(collection, query, key, size)
        has_older = _exists(collection, {**query, key: {"$lt": items[-1][key]}})
    else:
        ranged = {**query, key: {"$lt": before}} if before is not None else query
        found = list(collection.find(ranged).sort(key, -1).limit(size + 1))
        has_older = len(found) > size
        items = found[:size]
        if before is None:
            has_newer = False
        elif items:
            has_newer = _exists(collection, {**query, key: {"$gt": items[0][key]}})
        else:
            has_newer = _exists(collection, query)
    return Page(items,
                newer=({"after": str(items[0][key])} if items else {}) if has_newer else None,
                older={"before": str(items[-1][key])} if has_older and items else None)


def page_from_start(collection: t.Any, query: dict[str, t.Any], key: str,
                    size: int) -> Page:
    found = list(collection.find(query).sort(key, -1).limit(size + 1))
    return Page(found[:size], older={"before": str(found[size - 1][key])}
                if len(found) > size else None)


def _cursor(name: str, read: t.Callable[[str], t.Any]) -> t.Any:
    text = request.args.get(name)
    return read(text) if text else None


def _exists(collection: t.Any, query: dict[str, t.Any]) -> bool:
    return collection.find_one(query, {"_id": 1}) is not None
