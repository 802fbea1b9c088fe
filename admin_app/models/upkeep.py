"""Bring stored records up to what the indexed queries expect, once, and keep them there.

The screens ask for `archived: false` (an equality an index orders by, where `$ne: true`
is a range) and match searches on `search_keys` (`search.py`). Every writer now stores
both, but a store written by an older version has records without them, and a change
of which fields are searchable changes every record's keys. `bring_up_to_date()` fixes
both: it runs in `flask setup` and before each seed load, and does nothing (one read of
a marker) once the store is current.

This module decides *when* keys are recomputed; the record write path writes them
(`records.write.rekey`, `records.write.fill_archive_flags`). Keys and the flag's filling
are derived data, not values: no revision moves and no history is recorded.
"""

from __future__ import annotations

from .. import store
from . import search
from .records import Contact, Customer

MARKER = "store_upkeep"  # one small document per upkeep: {_id, what it was done for}


def _record_models() -> tuple[type, ...]:
    return (Customer, Contact)


def bring_up_to_date() -> dict[str, int]:
    """Give every record a boolean Archive flag and current search keys, where it lacks
    them; return how many records got each ("archive flags", "search keys")."""
    from ..records import write

    marker = store.database()[MARKER]
    changed = {"archive flags": 0, "search keys": 0}
    for model in _record_models():
        name = model._get_collection().name
        fields = list(search.searched_fields(model.entity))
        done = marker.find_one({"_id": name}) or {}
        if done.get("search_fields") == fields:
            continue
        # One-time (guarded by the marker): older stores may lack the flag altogether.
        changed["archive flags"] += write.fill_archive_flags(model.entity)
        changed["search keys"] += write.rekey(model.entity, None, fields)
        marker.update_one({"_id": name}, {"$set": {"search_fields": fields}}, upsert=True)
    return changed


def follow_field_change(entity: str, name: str) -> int:
    """After a dictionary change to one field (searchable or not, retired, a new type,
    renamed choices): when its words are, or were, search keys, recompute the keys of
    every record of the entity, so the next search finds what the dictionary now says.
    Keys are derived data: a failure half-way leaves keys that the next call, seed load
    or `flask setup` recomputes. Returns how many records were rewritten."""
    from .. import dictionary
    from ..records import write

    model = next((m for m in _record_models() if m.entity == entity), None)
    if model is None:
        return 0
    collection_name = model._get_collection().name
    fields = list(search.searched_fields(entity, dictionary.latest()))
    marker = store.database()[MARKER]
    keyed_before = (marker.find_one({"_id": collection_name}) or {}).get("search_fields")
    # No marker (a store `flask setup` has not seen): which fields were keyed is unknown.
    if keyed_before is not None and name not in fields and name not in keyed_before:
        return 0
    written = write.rekey(entity, None, fields)
    marker.update_one({"_id": collection_name}, {"$set": {"search_fields": fields}},
                      upsert=True)
    return written
