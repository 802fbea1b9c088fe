"""Counting what a query matches, up to a bound, without reading the documents.

A list page says how many records match ("1–20 of 7,342") only when that costs about
what the page costs. On MongoDB, `count_documents(query, limit=…)` walks the index that
serves the query and stops at the limit. On mongomock (tests) the same call is fine. On
the embedded store (litemongo 0.2.0) it would decode every matching document: 110,000
Orgs cost seconds. There the query's conditions are asked of the in-process hash index
and the keys table (`litemongo_changes.candidates.holders`), and the documents held by
every one are counted, up to the limit, without decoding any.

That is exact only when each condition is answered exactly by what holds it: equalities
(or `$in`) with strings, ObjectIds or booleans on indexed paths (a boolean is keyed as
the number it equals: a path the app keeps boolean, as the Archive flag, holds no such
number), and equalities on the search keys (the keys table finds a key as the range of
keys it starts, which for search keys, every prefix of each word, is the same records).
Any other condition, or a path holding values the index could not key, gets None: the
caller says no count rather than read the records.

Several sets of the keys table (two filters and a search) are counted by reading the
smallest, each of its documents looked up in the others: at 110,000 records a filter
most records pass and a one-letter search cost three list pages. Given `work`, the count
reads no more than that many rows of it: it still finds a bound's worth of matches
("more than 10,000") or a whole set that small, and otherwise gives None (the list says
"of many" and offers to count them all). MongoDB counts along its index natively and
is given no such bound.
"""

from __future__ import annotations

import itertools
import typing as t

from bson import ObjectId

from .bulk_reads import _litemongo_store

_EXACT_VALUES = (str, ObjectId, bool)
_CHUNK = 1024  # store keys checked against the in-process holders at once


def bounded_count(collection: t.Any, query: t.Mapping[str, t.Any], limit: int,
                  work: int | None = None) -> int | None:
    """How many documents match `query`, counting no further than `limit`; None when it
    cannot be told without reading documents (the embedded store, a query its indexes do
    not answer exactly), or without reading more than `work` rows of the embedded
    store's keys table."""
    litemongo_store = _litemongo_store(collection)
    if litemongo_store is None:
        return int(collection.count_documents(dict(query), limit=limit))
    return _from_index(litemongo_store, query, limit, work)


def _from_index(collection_store: t.Any, query: t.Mapping[str, t.Any], limit: int,
                work: int | None) -> int | None:
    from .litemongo_changes.candidates import holders
    from .litemongo_changes.keys_table import FEW, KeysHeld

    index = collection_store._get_query_index()
    in_sqlite = getattr(collection_store, "_paths_in_sqlite", ())
    if not _answered_exactly(index, query, in_sqlite):
        return None
    wanted: list[set[str]] = []
    _keys_wanted(query, in_sqlite, wanted)
    held = holders(index, _without(query, in_sqlite), collection_store) or []
    natural = index._docs
    cut_short = False
    if wanted:  # the keys table drives: what its sets hold, checked against the rest
        table = KeysHeld(collection_store, wanted)
        few = table.read_if_few(FEW if work is None else work)  # read at once (or known)
        if few is not None:
            found: t.Iterator[str] = iter(few)
        elif work is None:  # the smallest set streamed
            found = table.streamed()
        else:  # every set holds more than `work` rows: no more than that many of one
            found, cut_short = table.streamed(first=0, most=work), True
        others = [natural, *sorted(held, key=len)]
    elif held:
        fewest = min(held, key=len)
        found = iter(fewest)
        others = [natural, *(keys for keys in held if keys is not fewest)]
    else:  # no condition at all: every document
        return min(len(natural), limit)
    count = 0
    while count < limit:
        # A chunk at a time, a holder at a time: a test per key and holder, no call.
        kept = list(itertools.islice(found, _CHUNK))
        if not kept:
            break
        for keys in others:
            kept = [key for key in kept if key in keys]
        count += len(kept)
    if cut_short and count < limit:
        return None
    return min(count, limit)


def _keys_wanted(query: t.Mapping[str, t.Any], in_sqlite: t.Collection[str],
                 wanted: list[set[str]]) -> None:
    from .litemongo_changes.keys_table import wanted_keys

    for path, condition in query.items():
        if path == "$and":
            for part in condition:
                _keys_wanted(part, in_sqlite, wanted)
        elif path in in_sqlite:
            wanted.append(t.cast(set[str], wanted_keys(condition)))


def _without(query: t.Mapping[str, t.Any], in_sqlite: t.Collection[str]) -> dict[str, t.Any]:
    """The query less its conditions on the keys table's path (the hash index's part)."""
    kept: dict[str, t.Any] = {}
    for path, condition in query.items():
        if path == "$and":
            parts = [_without(part, in_sqlite) for part in condition]
            if any(parts):
                kept["$and"] = [part for part in parts if part]
        elif path not in in_sqlite:
            kept[path] = condition
    return kept


def _answered_exactly(index: t.Any, query: t.Any, in_sqlite: t.Collection[str]) -> bool:
    if not isinstance(query, t.Mapping):
        return False
    for path, condition in query.items():
        if path == "$and":
            if not isinstance(condition, list | tuple) or not all(
                    _answered_exactly(index, part, in_sqlite) for part in condition):
                return False
        elif path in in_sqlite:
            if not _plain_values(condition, (str,)):
                return False
        elif path in index._fields:
            if not _plain_values(condition, _EXACT_VALUES) or index._fields[path]._unkeyed:
                return False
        else:
            return False
    return True


def _plain_values(condition: t.Any, kinds: tuple[type, ...]) -> bool:
    """An equality with one of `kinds`, or `$in` of them."""
    if isinstance(condition, dict):
        if set(condition) != {"$in"} or not isinstance(condition["$in"], list | tuple):
            return False
        return all(isinstance(value, kinds) for value in condition["$in"])
    return isinstance(condition, kinds)
