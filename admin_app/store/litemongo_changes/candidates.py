"""**A query's candidates are read from the index in place.** The planner intersects one
set per indexed condition, each a copy: the customer list's Level and Archive flag
copied 110,000 keys to find 10,000. Here the documents under the fewest-held key are
checked against the others where they are kept, then put in natural order as upstream.

"""

from __future__ import annotations

import typing as t

from . import keys_table
from .compact_index import CompactFieldIndex
from .patching import replace


def _candidates_in_place(_upstream: t.Any) -> t.Callable[..., t.Any]:
    def find_candidates(self: t.Any, filter: t.Any) -> t.Any:  # noqa: A002 - upstream's name
        self._remove_expired_documents()
        index = self._get_query_index()
        held = holders(index, filter, self)
        if held is None:
            return self.documents
        return self._get_many(index.in_natural_order(held_by_all(held)))

    return find_candidates


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
