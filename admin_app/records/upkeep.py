"""Bring stored records up to what the indexed queries expect, once, and keep them there.

The screens ask for `archived: false` (an equality an index orders by, where `$ne: true`
is a range) and match searches on `search_keys` (`search_keys.py`). Every writer now stores
both, but a store written by an older version has records without them, and a change
of which fields are searchable changes every record's keys. `bring_up_to_date()` fixes
both: it runs in `flask setup` and before each seed load, and does nothing (one read of
a marker) once the store is current.

The marker says, per record collection, which fields its keys were last made of in
full: the search-key job (`customising/search_key_jobs.py`) sets it when it ends, so a
process that finds the marker behind the dictionary (a job that failed, or a store
changed by an older version) rewrites the keys itself. This module decides *when*
keys are recomputed; the record write path writes them (`rekeying.py`,
`write.fill_archive_flags`). Tickets' keys (`models/tickets.py`) are brought up to date
here too, under the same marker. Keys and the flag's filling are derived data, not
values: no revision moves and no history is recorded.
"""

from __future__ import annotations

import typing as t

from .. import store
from ..models import tickets
from ..models.records import Contact, Customer
from ..models.tickets import Ticket
from . import rekeying, search_keys, write

MARKER = "store_upkeep"  # one small document per upkeep: {_id, what it was done for}


def _record_models() -> tuple[type, ...]:
    return (Customer, Contact)


def _collection_name(entity: str) -> str | None:
    model = next((m for m in _record_models() if m.entity == entity), None)
    return None if model is None else model._get_collection().name


def keyed_fields(entity: str) -> list[str] | None:
    """The fields the entity's keys were last made of in full (None: not known, on a
    store `flask setup` has not seen; [] for an entity without records)."""
    name = _collection_name(entity)
    if name is None:
        return []
    return (store.database()[MARKER].find_one({"_id": name}) or {}).get("search_fields")


def mark_keyed(entity: str, fields: t.Sequence[str]) -> None:
    """Every record of the entity now has keys made of `fields`."""
    name = _collection_name(entity)
    if name is not None:
        store.database()[MARKER].update_one({"_id": name},
                                            {"$set": {"search_fields": list(fields)}},
                                            upsert=True)


def bring_up_to_date() -> dict[str, int]:
    """Give every record a boolean Archive flag and current search keys, where it lacks
    them, and every ticket its search keys; return how many got each ("archive flags",
    "search keys", "ticket search keys")."""
    changed = {"archive flags": 0, "search keys": 0}
    for model in _record_models():
        fields = list(search_keys.searched_fields(model.entity))
        if keyed_fields(model.entity) == fields:
            continue
        # One-time (guarded by the marker): older stores may lack the flag altogether.
        changed["archive flags"] += write.fill_archive_flags(model.entity)
        changed["search keys"] += rekeying.rekey_all(model.entity, fields)
        mark_keyed(model.entity, fields)
    changed["ticket search keys"] = _key_tickets()
    return changed


def _key_tickets() -> int:
    """Tickets stored before they had search keys, or before their keys named their days,
    get them, once (the same marker, under the tickets collection, says which fields
    their keys are made of)."""
    name, fields = Ticket._get_collection().name, [*tickets.SEARCHED, *tickets.DAYS_KEYED]
    marker = store.database()[MARKER]
    if (marker.find_one({"_id": name}) or {}).get("search_fields") == fields:
        return 0
    rewritten = tickets.rekey_all()
    marker.update_one({"_id": name}, {"$set": {"search_fields": fields}}, upsert=True)
    return rewritten
