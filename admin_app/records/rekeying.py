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

from .. import store
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
    return [oid for oid in sorted(revisions(entity)) if after is None or oid > after]


def revisions(entity: str) -> dict[ObjectId, int]:
    """Every record's revision by id. Every save moves its record's revision and a
    rewrite of keys does not: two of these taken around a pass name the records saved
    (or added) while it ran, the only ones whose keys it may have got from old values."""
    return {doc["_id"]: int(doc.get("revision") or 0)
            for doc in collection_of(entity).find({}, {"_id": 1, "revision": 1})}


def moved(before: t.Mapping[ObjectId, int], after: t.Mapping[ObjectId, int]) -> list[ObjectId]:
    """The records saved or added between two `revisions`, in id order."""
    return sorted(oid for oid, revision in after.items() if before.get(oid) != revision)


def rekey(entity: str, chunk: t.Sequence[ObjectId], fields: t.Sequence[str]) -> Rekeyed:
    """Give these records the keys of `fields` from their values as stored now.

    Records whose keys are already right are not written; the others are written
    together (`store.together`: one transaction on the embedded store, rather than one
    per record), each still by compare-and-set on the revision its keys came from.
    Those a save moved meanwhile are read again and written again, up to ATTEMPTS."""
    collection = collection_of(entity)
    projection = {name: 1 for name in [*search_keys.value_fields(fields), "search_keys",
                                       "revision"]}
    done = Rekeyed()
    docs = list(collection.find({"_id": {"$in": list(chunk)}}, projection))
    done.read = len(docs)
    for attempt in range(ATTEMPTS):
        wanted = [(doc, keys) for doc in docs
                  if doc.get("search_keys") != (keys := search_keys.keys_for(entity, doc, fields))]
        if not wanted:
            return done
        missed = []
        with store.together(collection):
            for doc, keys in wanted:
                revision = int(doc.get("revision") or 0)
                if collection.update_one(at_revision(doc["_id"], revision),
                                         {"$set": {"search_keys": keys}}).matched_count:
                    done.rewritten += 1
                else:
                    missed.append(doc["_id"])
        if not missed:
            return done
        # Saved since they were read: key them from what those saves left (a record no
        # longer there is not read again: nothing to key).
        done.again += len(missed) if attempt == 0 else 0
        docs = list(collection.find({"_id": {"$in": missed}}, projection))
    done.left += len(docs)
    return done


def rekey_all(entity: str, fields: t.Sequence[str]) -> int:
    """Rewrite every record's keys that differ; how many were rewritten."""
    everyone = ids(entity)
    rewritten = 0
    for start in range(0, len(everyone), CHUNK):
        rewritten += rekey(entity, everyone[start:start + CHUNK], fields).rewritten
    return rewritten
