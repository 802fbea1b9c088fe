"""**The hash index holds what it needs, once.** litemongo's per-path index keeps, for every
document and every indexed path, a set of that document's keys (an empty set when the
field is missing) and its own copy of each key: 630 MB at 110,000 records with the
thirteen indexed paths and the search keys. Here a path keeps nothing for a document
that has no value there, one shared key object per distinct value (a string as itself),
a plain reference instead of a one-element set, a tuple instead of a small set, and the
same candidates come out.

"""

from __future__ import annotations

import bisect
import typing as t

from .patching import UPSTREAM, replace

# Changes kept in a built value order (a copy of it each) before it is dropped, and
# sorted again when next asked: at 100,000 documents a copy is ~1 ms, a sort ~100 ms.
ORDER_CHANGES = 100


# Up to this many documents holding one key are kept in a tuple, more in a set: a set
# takes 40-80 bytes a document (728 for 5 to 18 of them), a tuple 8. The search keys of
# 110,000 records are ~1.2 million (key, document) pairs, most in groups of 9 to 10,000.
SMALL_GROUP = 256


_UNKNOWN = object()  # `add` has not been given the document's keys

# Upstream keys a boolean as the number it equals (its filter, like Python, finds True
# for 1); the candidates stay a superset and the filter decides.
_BOOLEAN_KEYS = {True: ("n", 1.0), False: ("n", 0.0)}


def _own_key(key: t.Any) -> t.Any:
    """The key as this index keeps it: a string value as the plain string (upstream's
    `('s', value)` tuple cost 56 bytes a distinct value), any other as upstream's key."""
    return key[1] if key[0] == "s" else key


class AnyOf:
    """The store keys in any of several groups of an index (and its unkeyed documents),
    read in place: asked whether it holds a key, how many (at most) it holds, or, when
    it is the smallest of a query's holders, to list them (once each)."""

    def __init__(self, groups: list[t.Collection[t.Hashable]],
                 unkeyed: t.Collection[t.Hashable]) -> None:
        self._groups = [group for group in (unkeyed, *groups) if group]

    def __contains__(self, key: object) -> bool:
        return any(key in group for group in self._groups)

    def __len__(self) -> int:
        return sum(len(group) for group in self._groups)

    def __iter__(self) -> t.Iterator[t.Hashable]:
        seen: set[t.Hashable] = set()
        for group in self._groups:
            for key in group:
                if key not in seen:
                    seen.add(key)
                    yield key


class CompactFieldIndex:
    """litemongo's `indexing.FieldIndex` (a hash index on one path) with the same answers
    in less memory. `_entries` maps a key to the one store key holding it, a tuple of a
    few, or a set of more; `_doc_keys` maps a store key to its one key, a list of keys,
    or None (unkeyed), and has no entry for a document without a value at the path. A
    key held by several documents is one object (`_shared_keys`; most keys of 110,000
    records are held by one: 99,000 of the 121,000 search keys).

    While every value at a top-level path is a string (or nothing), `in_order()` also
    gives the valued documents in value order: built when first asked, then kept up to
    date by the adds and removes (a new copy each) until many changes pile up."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._entries: dict[t.Hashable, t.Any] = {}
        self._unkeyed: set[t.Hashable] = set()
        self._doc_keys: dict[t.Hashable, t.Any] = {}
        self._shared_keys: dict[t.Hashable, t.Hashable] = {}
        self._top_level = "." not in path
        self._first = path.split(".", 1)[0]
        self._strings_only = self._top_level
        self._order: tuple[list[str], list[t.Hashable]] | None = None
        self._order_changes = 0

    def in_order(self) -> tuple[list[str], list[t.Hashable]] | None:
        """(values, store keys) of the valued documents, in value order (equal values in
        no particular order); None when some value at the path is not a string."""
        if not self._strings_only:
            return None
        if self._order is None:
            held = self._doc_keys
            keys = sorted(held, key=held.__getitem__)
            self._order = ([held[store_key] for store_key in keys], keys)
            self._order_changes = 0
        return self._order

    def _reorder(self, value: str, store_key: t.Hashable, insert: bool) -> None:
        """New lists rather than changed ones: a sorted query walking the old ones (in
        another thread) is not moved under its feet."""
        self._order_changes += 1
        if self._order_changes > ORDER_CHANGES:
            self._order = None
            return
        values, keys = self._order  # type: ignore[misc]
        if insert:
            at = bisect.bisect_right(values, value)
            self._order = ([*values[:at], value, *values[at:]],
                           [*keys[:at], store_key, *keys[at:]])
            return
        at = bisect.bisect_left(values, value)
        while at < len(keys) and values[at] == value and keys[at] != store_key:
            at += 1  # among the documents holding the same value
        if at == len(keys) or keys[at] != store_key:
            self._order = None  # not where its value says: sorted again when next asked
            return
        self._order = (values[:at] + values[at + 1:], keys[:at] + keys[at + 1:])

    def _shared(self, key: t.Hashable, held: t.Any) -> t.Hashable:
        """The key object the index already keeps for `key` (held by `held`): found once
        through a document holding it, then remembered while more than one holds it."""
        shared = self._shared_keys.get(key)
        if shared is None:
            holder = next(iter(held)) if type(held) in (tuple, set) else held
            kept = self._doc_keys[holder]
            shared = next(own for own in kept if own == key) if type(kept) is list else kept
            self._shared_keys[key] = shared
        return shared

    def _keys_of(self, doc: dict[str, t.Any]) -> t.Collection[t.Hashable] | None:
        """The document's keys at the path, as this index keeps them; None: unkeyed. The
        common values (missing, None, a string, an ObjectId, a boolean, a list of strings)
        are keyed here, to upstream's keys, without its calls per value: a fresh worker
        indexes every document of a collection on every indexed path before its first
        answer."""
        from bson import ObjectId
        from litemongo._vendor.mongomock.indexing import _doc_keys

        if self._top_level:
            value = doc.get(self.path)
            kind = type(value)
            if kind is str:
                return (value,)
            if value is None:
                return ()
            if self._strings_only:
                self._strings_only, self._order = False, None
            if kind is ObjectId:
                return (("o", value),)
            if kind is bool:
                return (_BOOLEAN_KEYS[value],)
            if kind is list and all(type(entry) is str for entry in value):
                return set(value)
        elif doc.get(self._first) is None:
            return ()
        keys = _doc_keys(doc, self.path)
        return None if keys is None else {_own_key(key) for key in keys}

    def replace(self, store_key: t.Hashable, doc: dict[str, t.Any]) -> None:
        """Index the document's new version: nothing to do when its keys at the path are
        the ones kept (a save changes a field or two; a kept value order is copied on
        every change)."""
        keys = self._keys_of(doc)
        kept = self._doc_keys.get(store_key, self)
        if kept is self:
            same = keys is not None and not keys
        elif kept is None or keys is None:
            same = kept is keys
        elif type(kept) is list:
            same = len(keys) == len(kept) and set(keys) == set(kept)
        else:
            same = len(keys) == 1 and next(iter(keys)) == kept
        if not same:
            self.remove(store_key)
            self.add(store_key, doc, keys)

    def add(self, store_key: t.Hashable, doc: dict[str, t.Any],
            keys: t.Collection[t.Hashable] | None | object = _UNKNOWN) -> None:
        if keys is _UNKNOWN:
            keys = self._keys_of(doc)
        if keys is None:
            self._unkeyed.add(store_key)
            self._doc_keys[store_key] = None
            return
        if not keys:
            return
        entries, kept = self._entries, []
        for key in keys:
            held = entries.get(key)
            if held is None:
                entries[key] = store_key
            else:
                key = self._shared(key, held)
                kind = type(held)
                if kind is set:
                    held.add(store_key)
                elif kind is tuple:  # never holding store_key: removed before re-added
                    entries[key] = ((*held, store_key) if len(held) < SMALL_GROUP
                                    else {*held, store_key})
                elif held != store_key:
                    entries[key] = (held, store_key)
            kept.append(key)
        self._doc_keys[store_key] = kept[0] if len(kept) == 1 else kept
        if self._order is not None:
            self._reorder(kept[0], store_key, insert=True)

    def remove(self, store_key: t.Hashable) -> None:
        keys = self._doc_keys.pop(store_key, self)
        if keys is self:
            return
        if keys is None:
            self._unkeyed.discard(store_key)
            return
        if self._order is not None:
            self._reorder(keys, store_key, insert=False)
        entries = self._entries
        for key in keys if type(keys) is list else (keys,):
            held = entries.get(key)
            kind = type(held)
            if kind is set:
                held.discard(store_key)
                if len(held) <= SMALL_GROUP:
                    entries[key] = tuple(held)
            elif kind is tuple:
                rest = tuple(other for other in held if other != store_key)
                entries[key] = rest if len(rest) > 1 else rest[0]
            elif held == store_key:
                del entries[key]
                self._shared_keys.pop(key, None)

    def holding(self, keys: t.Collection[t.Hashable]) -> t.Collection[t.Hashable]:
        """The store keys that may hold one of `keys`, as `candidates` gives them but
        without a copy of a large group: the index's own set for one key, to read only,
        and for several (`$in`, such as every Level of a list) their groups read in place
        (`AnyOf`): a union of every record cost a page's time at 110,000 records."""
        if len(keys) != 1 or self._unkeyed:
            return AnyOf([self._group(key) for key in keys], self._unkeyed)
        return self._group(next(iter(keys)))

    def _group(self, key: t.Hashable) -> t.Collection[t.Hashable]:
        held = self._entries.get(_own_key(key))
        if type(held) is tuple:
            return held if len(held) <= 16 else set(held)  # tested key by key
        return held if type(held) is set else () if held is None else (held,)

    def candidates(self, keys: t.Iterable[t.Hashable]) -> set[t.Hashable]:
        found = set(self._unkeyed)
        for key in keys:
            held = self._entries.get(_own_key(key))
            if type(held) in (set, tuple):
                found.update(held)
            elif held is not None:
                found.add(held)
        return found


def _replacing_in_place(upstream: t.Callable[..., None]) -> t.Callable[..., None]:
    """`CollectionIndexes.add` of a document already indexed removes it from every path
    and adds it again; here each path keeps it where its keys did not change."""

    def add(self: t.Any, store_key: t.Hashable, doc: dict[str, t.Any]) -> None:
        if store_key not in self._docs:
            upstream(self, store_key, doc)
            return
        for index in self._fields.values():
            if type(index) is CompactFieldIndex:
                index.replace(store_key, doc)
            else:
                index.remove(store_key)
                index.add(store_key, doc)

    return add


def install() -> None:
    from litemongo._vendor.mongomock import indexing

    UPSTREAM["FieldIndex"] = indexing.FieldIndex
    indexing.FieldIndex = CompactFieldIndex
    replace(indexing.CollectionIndexes, "add", _replacing_in_place)
