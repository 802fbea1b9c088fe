"""Rewrite records' search keys after the dictionary changed which fields are searched,
safely beside people and loads saving the same records.

A record saved through the write path gets keys from its values as saved. The danger is
the rewrite itself: it reads a record, works out its keys and writes them, and a save
landing in between would leave the saved values with keys from the values before it. So
each record's keys are written by compare-and-set on the revision they were worked out
from; a record saved meanwhile is read again and keyed from what the save left.

Keys are derived from values, not values: no revision moves and no history is recorded,
and rewriting a record whose keys are already right writes nothing, so a rewrite cut
short can simply be run again.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from bson import ObjectId

from . import search_keys
from .write import at_revision, collection_of

# Records read per query: a list of ids costs the embedded store little up to a few
# hundred (see store/litemongo_changes/in_set.py), and the job writes its progress per chunk.
CHUNK = 200
# Reads of one record that keeps being saved while its keys are worked out; after that
# its keys are left to the pass that checks the records saved meanwhile.
ATTEMPTS = 20


@dataclass
class Rekeyed:
    """What one chunk did: records read, keys rewritten, records read again because
    they were saved while their keys were worked out, and records left to a later pass
    (saved on every attempt)."""

    read: int = 0
    rewritten: int = 0
    again: int = 0
    left: int = 0

    def __iadd__(self, other: Rekeyed) -> Rekeyed:
        self.read += other.read
        self.rewritten += other.rewritten
        self.again += other.again
        self.left += other.left
        return self


def ids(entity: str, after: ObjectId | None = None) -> list[ObjectId]:
    """Every record's id, in order, after `after` (a rewrite resumed where it stopped)."""
    found = sorted(doc["_id"] for doc in collection_of(entity).find({}, {"_id": 1}))
    return [oid for oid in found if after is None or oid > after]


def rekey(entity: str, chunk: t.Sequence[ObjectId], fields: t.Sequence[str]) -> Rekeyed:
    """Give these records the keys of `fields` from their values as stored now."""
    collection = collection_of(entity)
    projection = {name: 1 for name in [*fields, "search_keys", "revision"]}
    done = Rekeyed()
    for doc in collection.find({"_id": {"$in": list(chunk)}}, projection):
        done.read += 1
        for attempt in range(ATTEMPTS):
            keys = search_keys.keys_for(entity, doc, fields)
            if doc.get("search_keys") == keys:
                break
            revision = int(doc.get("revision") or 0)
            if collection.update_one(at_revision(doc["_id"], revision),
                                     {"$set": {"search_keys": keys}}).matched_count:
                done.rewritten += 1
                break
            # Saved since it was read: key it from what that save left.
            done.again += attempt == 0
            doc = collection.find_one({"_id": doc["_id"]}, projection)
            if doc is None:  # no longer there: nothing to key
                break
        else:
            done.left += 1
    return done


def rekey_all(entity: str, fields: t.Sequence[str]) -> int:
    """Rewrite every record's keys that differ; how many were rewritten."""
    everyone = ids(entity)
    rewritten = 0
    for start in range(0, len(everyone), CHUNK):
        rewritten += rekey(entity, everyone[start:start + CHUNK], fields).rewritten
    return rewritten
