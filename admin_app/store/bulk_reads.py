"""Reading every document of one kind at once, for work that looks at all of them
(the directory sync's plan: the connector's records, the Orgs by name).

On MongoDB and mongomock this is `find()` with a projection. On the embedded store
(litemongo 0.2.0) a `find()` goes through mongomock's cursor, which checks the filter
again in Python and deep-copies each document for the projection: reading 10,000
records that way costs about 0.5 s, over ten times what reading them from SQLite and
decoding them costs (`tests/test_bulk_reads.py` shows both). litemongo's own
collection store hands out freshly decoded documents, narrowed by its hash indexes
(`find_candidates`), so here those are checked for the few equalities asked and the
wanted fields are picked, with no copy.

That store method is litemongo's internal API: it is used only with the version the
project's litemongo changes were written for (`store.litemongo_changes.LITEMONGO_VERSION`); any
other version takes the `find()` path, and the test that pins the version fails so that
somebody re-checks it.
"""

from __future__ import annotations

import typing as t

from .litemongo_changes import LITEMONGO_VERSION

Scalar = str | bool | int


def documents(collection: t.Any, equal: t.Mapping[str, Scalar],
              fields: t.Iterable[str]) -> t.Iterator[dict[str, t.Any]]:
    """The documents whose value at each (dotted) path in `equal` is that scalar, with
    `_id` and `fields` only, in natural order. Documents are the caller's to change."""
    wanted = [name for name in dict.fromkeys(fields) if name and name != "_id"]
    store = _litemongo_store(collection)
    if store is None:
        yield from collection.find(dict(equal), {"_id": 1, **dict.fromkeys(wanted, 1)})
        return
    paths = [(path.split("."), value) for path, value in equal.items()]
    for doc in store.find_candidates(dict(equal)):
        if all(_at(doc, parts) == value and type(_at(doc, parts)) is type(value)
               for parts, value in paths):
            yield {"_id": doc["_id"], **{name: doc[name] for name in wanted if name in doc}}


def _at(doc: t.Mapping[str, t.Any], parts: list[str]) -> t.Any:
    value: t.Any = doc
    for part in parts:
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _litemongo_store(collection: t.Any) -> t.Any:
    """litemongo's collection store behind `collection`, when it is the version this
    module was written for; None for any other store."""
    try:
        import litemongo
        from litemongo.sqlite_store import CollectionStore
    except ImportError:  # pragma: no cover - litemongo is a dependency
        return None
    if litemongo.__version__ != LITEMONGO_VERSION:
        return None
    store = getattr(collection, "_store", None)
    return store if isinstance(store, CollectionStore) else None
