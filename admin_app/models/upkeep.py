"""Bring stored records up to what the indexed queries expect, once, and keep them there.

The screens ask for `archived: false` (an equality an index orders by, where `$ne: true`
is a range) and match searches on `search_keys` (`search.py`). Every writer now stores
both, but a store written by an older version has records without them, and a change
of which fields are searchable changes every record's keys. `bring_up_to_date()` fixes
both: it runs in `flask setup` and before each seed load, and does nothing (one read of
a marker) once the store is current.

`refresh(...)` recomputes the keys of records a writer changed with `$set` (the
directory sync), by id.
"""

from __future__ import annotations

import typing as t

from .. import db
from . import search
from .records import Contact, Customer

MARKER = "store_upkeep"  # one small document per upkeep: {_id, what it was done for}
_BATCH = 500


def _record_models() -> tuple[type, ...]:
    return (Customer, Contact)


def bring_up_to_date() -> dict[str, int]:
    """Give every record a boolean Archive flag and current search keys, where it lacks
    them; return how many records got each ("archive flags", "search keys")."""
    marker = db.database()[MARKER]
    changed = {"archive flags": 0, "search keys": 0}
    for model in _record_models():
        collection = model._get_collection()
        name = collection.name
        fields = list(search.searched_fields(model.entity))
        done = marker.find_one({"_id": name}) or {}
        if done.get("search_fields") == fields:
            continue
        # One-time (guarded by the marker): older stores may lack the flag altogether.
        changed["archive flags"] += collection.update_many(
            {"archived": {"$exists": False}}, {"$set": {"archived": False}}).modified_count
        changed["search keys"] += refresh(collection, model.entity, None, fields)
        marker.update_one({"_id": name}, {"$set": {"search_fields": fields}}, upsert=True)
    return changed


def follow_field_change(entity: str, name: str) -> int:
    """After a dictionary change to one field (searchable or not, retired, a new type,
    renamed choices): when its words are, or were, search keys, recompute the keys of
    every record of the entity, so the next search finds what the dictionary now says.
    Keys are derived data: a failure half-way leaves keys that the next call, seed load
    or `flask setup` recomputes. Returns how many records were rewritten."""
    from .. import dictionary

    model = next((m for m in _record_models() if m.entity == entity), None)
    if model is None:
        return 0
    collection = model._get_collection()
    fields = list(search.searched_fields(entity, dictionary.latest()))
    marker = db.database()[MARKER]
    keyed_before = (marker.find_one({"_id": collection.name}) or {}).get("search_fields")
    # No marker (a store `flask setup` has not seen): which fields were keyed is unknown.
    if keyed_before is not None and name not in fields and name not in keyed_before:
        return 0
    written = refresh(collection, entity, None, fields)
    marker.update_one({"_id": collection.name}, {"$set": {"search_fields": fields}},
                      upsert=True)
    return written


def refresh(collection: t.Any, entity: str, ids: t.Iterable[t.Any] | None,
            fields: t.Sequence[str] | None = None) -> int:
    """Recompute the search keys of the records with these ids (None: every record);
    write only those whose keys changed. Returns how many were written."""
    fields = list(fields or search.searched_fields(entity))
    projection = {name: 1 for name in [*fields, "search_keys"]}
    if ids is None:
        batches: t.Iterable[dict] = [{}]
    else:
        wanted = list(ids)
        batches = ({"_id": {"$in": wanted[i:i + _BATCH]}} for i in range(0, len(wanted), _BATCH))
    written = 0
    for query in batches:
        stale = []
        for doc in collection.find(query, projection):
            keys = search.keys_for(entity, doc, fields)
            if doc.get("search_keys") != keys:
                stale.append((doc["_id"], keys))
        for oid, keys in stale:
            collection.update_one({"_id": oid}, {"$set": {"search_keys": keys}})
        written += len(stale)
    return written
