"""**A query's candidates are read from the index in place.** The planner intersects one
set per indexed condition, each a copy: the customer list's Level and Archive flag
copied 110,000 keys to find 10,000. Here the documents under the fewest-held key are
checked against the others where they are kept, then put in natural order as upstream.

When even the fewest-held key holds a good share of the documents (DENSE: the Org list
unfiltered, its Level and Archive flag held by 100,000 of 110,000 records), putting
them all in order cost 70 ms for a page of 20; those candidates are walked in natural
order instead, and read a growing batch at a time, so a page reads about its page. The
index keeps its documents in natural order (a new one goes last, a replaced one keeps
its place), and the walk goes over a copy of that order taken when the query starts.
"""

from __future__ import annotations

import typing as t

from . import keys_table
from .compact_index import CompactFieldIndex
from .patching import replace

# Walked in natural order when the fewest-held key holds a DENSEth of the documents.
DENSE = 4


def _candidates_in_place(_upstream: t.Any) -> t.Callable[..., t.Any]:
    def find_candidates(self: t.Any, filter: t.Any) -> t.Any:  # noqa: A002 - upstream's name
        self._remove_expired_documents()
        index = self._get_query_index()
        held = holders(index, filter, self)
        if held is None:
            return self.documents
        natural = index._docs
        if not any(_in_table(keys) for keys in held) and \
                len(min(held, key=len)) * DENSE >= len(natural):
            return _walked(self, list(natural), held)
        return self._get_many(index.in_natural_order(held_by_all(held)))

    return find_candidates


def _walked(store: t.Any, in_order: list[t.Any], held: list[t.Any]) -> t.Iterator[t.Any]:
    """The documents of the keys in every holder, in the order given, read a growing
    batch at a time (a page needs a few; a count or an export reads them all)."""
    held = sorted(held, key=len)
    batch: list[t.Any] = []
    size = 32
    for key in in_order:
        if all(key in keys for keys in held):
            batch.append(key)
            if len(batch) >= size:
                yield from store._get_many(batch)
                batch, size = [], min(size * 2, 512)
    yield from store._get_many(batch)


def held_by_all(held: list[t.Any]) -> list[t.Any]:
    """The store keys in every holder: those of the smallest, checked against the rest
    (the in-process ones first, then the keys table's a batch at a time)."""
    fewest = min(held, key=len)
    others = [keys for keys in held if keys is not fewest]
    in_process = [keys for keys in others if not _in_table(keys)]
    kept = [key for key in fewest if all(key in keys for keys in in_process)]
    for table in (keys for keys in others if _in_table(keys)):
        kept = table.kept(kept)
    return kept


def _in_table(keys: t.Any) -> bool:
    return type(keys) is keys_table.KeysHeld


def holders(index: t.Any, spec: t.Any, store: t.Any = None) -> list[t.Any] | None:
    """What the hash indexes know of the filter, as containers a matching document's key
    is in (every one of them): the planner's candidates (`CollectionIndexes.candidates`)
    without building their intersection, which costs more than a page at 100,000
    documents; and what the store's keys table knows (`keys_table`), as one container.
    None: the indexes know nothing of this filter."""
    held: list[t.Any] = []
    wanted: list[set[str]] = []
    _holders(index, spec, getattr(store, "_paths_in_sqlite", ()), held, wanted)
    if wanted:
        held.append(keys_table.KeysHeld(store, wanted))
    return held or None


def _holders(index: t.Any, spec: t.Any, in_sqlite: t.Collection[str], held: list[t.Any],
             wanted: list[set[str]]) -> None:
    from litemongo._vendor.mongomock.indexing import query_keys

    if not isinstance(spec, dict):
        return
    for path, condition in spec.items():
        if path == "$and" and isinstance(condition, (list, tuple)):
            for part in condition:
                _holders(index, part, in_sqlite, held, wanted)
        elif path in in_sqlite:
            keys = keys_table.wanted_keys(condition)
            if keys is not None:
                wanted.append(keys)
        elif path in index._fields:
            keys = query_keys(condition)
            if keys is not None:
                field = index._fields[path]
                held.append(field.holding(keys) if type(field) is CompactFieldIndex
                            else field.candidates(keys))


def install() -> None:
    from litemongo import sqlite_store

    replace(sqlite_store.CollectionStore, "find_candidates", _candidates_in_place)
