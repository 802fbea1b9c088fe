"""Record history: one change set per write that changed a dictionary field.

A change set names each field by its definition's id (a relabel, a type change or
retiring the field keeps it), with the label it had then, the old and the new stored
value; who made it, the way in, the batch or request, the dictionary version and the
time; and `revision`, the record's revision the change produced, which orders a
record's history exactly (every write moves it, under the store's compare-and-set).

**Written with the change, in the same step.** A record and its history live in two
collections, and neither MongoDB without a replica set nor the embedded store (one
file per collection) writes two collections in one transaction. So the change set rides
in the record's own atomic write, as `last_change`, and is then copied here under the
same id. A process killed between the two leaves the change set in the record: the next
write of that record, any reading of its history (`for_record`), a batch's intent
(`intents`, below) and `flask history repair` copy it before anything relies on it. The
history entry is thereby present exactly when the change is, and never twice.
"""

from __future__ import annotations

import os
import socket
import typing as t
from datetime import datetime

import mongoengine as me
from bson import ObjectId
from pymongo.errors import BulkWriteError, DuplicateKeyError

from ..models.kept import now

# The record's key holding its last change set (internal: never shown, exported or history).
LAST = "last_change"
# Keys a record holds that are not its values: never history.
INTERNAL = frozenset({"_id", "revision", "search_keys", "updated_at", LAST, "directory"})


class RecordChange(me.Document):
    """One change set (read through this class; written as plain documents in batches)."""

    meta = {
        "collection": "record_history",
        # Newest first per record, optionally for one way in or one field; a batch's
        # changes; the retention prune by age. Sorted by `seq`, the revision as text: the
        # embedded store walks a text index in order, so a record's first page of 10,000
        # changes reads 20 of them.
        "indexes": [("record", "-seq"), ("record", "way", "-seq"),
                    ("record", "fields.id", "-seq"),
                    ("record", "way", "fields.id", "-seq"),
                    ("batch", "_id"), ("request", "_id"), "at"],
    }

    entity = me.StringField(required=True)
    record = me.ObjectIdField(required=True)
    revision = me.IntField(required=True)
    seq = me.StringField(required=True)  # `revision` as fixed-width text (see `sequence`)
    at = me.DateTimeField(required=True)
    who = me.DictField()  # {kind, ref, name}: see trace.Who
    way = me.StringField(required=True)
    batch = me.StringField()
    request = me.StringField()
    version = me.IntField()  # the dictionary version the change was made under
    created = me.BooleanField(default=False)
    # [{id, name, label, old, new}]: old is absent on a create
    fields = me.ListField(me.DictField())

    def field_ids(self) -> set[str]:
        return {f.get("id") or f.get("name") for f in self.fields}


def collection() -> t.Any:
    return RecordChange._get_collection()


def sequence(revision: int) -> str:
    """A revision as text that sorts as the number does."""
    return f"{revision:012d}"


def entry(entity: str, record: t.Any, revision: int, trace: t.Any, version: int,
          fields: list[dict[str, t.Any]], *, created: bool = False,
          moment: datetime | None = None) -> dict[str, t.Any]:
    """A change set as stored (its `_id` chosen now, so the record can carry it)."""
    return {"_id": ObjectId(), "entity": entity, "record": record, "revision": revision,
            "seq": sequence(revision), "at": moment or now(), "who": trace.who.stored(),
            "way": trace.way, "batch": trace.batch, "request": trace.request,
            "version": version, "created": created, "fields": fields}


def field_changes(definitions: t.Mapping[str, t.Any], before: t.Mapping[str, t.Any],
                  after: t.Mapping[str, t.Any], names: t.Iterable[str], *,
                  created: bool = False) -> list[dict[str, t.Any]]:
    """The history lines of the named keys whose stored value moved (dictionary fields
    only, live or retired)."""
    lines = []
    for name in names:
        definition = definitions.get(name)
        if definition is None or name in INTERNAL:
            continue
        old, new = before.get(name), after.get(name)
        if not created and same(old, new):
            continue
        if created and new is None:
            continue
        line = {"id": definition.id or name, "name": name, "label": definition.label,
                "new": new}
        if not created:
            line["old"] = old
        lines.append(line)
    return lines


def definition_of(snapshot: t.Any, entity: str,
                  line: t.Mapping[str, t.Any]) -> t.Any:
    """The field a history line names, as the dictionary has it now: by its stable id
    (a relabel or type change keeps it), else by name; None when the field is gone."""
    by_id = snapshot.memo(("fields by id", entity), lambda: {
        f.id: f for f in snapshot.fields.get(entity, {}).values() if f.id})
    return by_id.get(line.get("id") or "") \
        or snapshot.fields.get(entity, {}).get(line.get("name") or "")


def same(a: t.Any, b: t.Any) -> bool:
    """Equal as stored values: a missing value, None and "" alike; 1 and 1.0 alike, but
    never True and 1."""
    if _blank(a) or _blank(b):
        return _blank(a) and _blank(b)
    if type(a) is not type(b):
        numbers = (int, float)
        return (type(a) in numbers and type(b) in numbers) and a == b
    return bool(a == b)


def _blank(value: t.Any) -> bool:
    return value is None or (isinstance(value, str) and value == "")


def log(entries: list[dict[str, t.Any]]) -> None:
    """Copy change sets into the history (in one batch); any already there are kept."""
    if not entries:
        return
    try:
        collection().insert_many(entries, ordered=False)
    except BulkWriteError as exc:
        if any(e.get("code") != 11000 for e in exc.details.get("writeErrors", [])):
            raise
    except DuplicateKeyError:
        pass


def unlogged(documents: t.Iterable[t.Mapping[str, t.Any]]) -> list[dict[str, t.Any]]:
    """The change sets these records carry that the history lacks (a writer killed
    between the record and its history), ready to log."""
    carried = {doc[LAST]["_id"]: doc for doc in documents
               if isinstance(doc.get(LAST), dict) and doc[LAST].get("_id") is not None}
    if not carried:
        return []
    # The records too: on a sharded cluster (record_history keyed on the record) the
    # question goes only to the shards holding these records' history.
    records = list({doc["_id"] for doc in carried.values()})
    found = {d["_id"] for d in collection().find(
        {"_id": {"$in": list(carried)}, "record": {"$in": records}}, {"_id": 1})}
    return [_restored(carried[oid]) for oid in carried if oid not in found]


def _restored(document: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    change = dict(document[LAST])
    if change.get("created") and "fields" not in change:
        # A create carries no copy of its values: they are the record's own until it is
        # next written, and a writer logs this change set before it writes again.
        change["fields"] = field_changes(_definitions(change.get("entity")), {}, document,
                                         document, created=True)
    return change


def _definitions(entity: t.Any) -> t.Mapping[str, t.Any]:
    from .. import dictionary

    return dictionary.current().fields.get(entity, {})


def carried(change: dict[str, t.Any]) -> dict[str, t.Any]:
    """What the record carries of its change set: all of it, but a create's values,
    which are the record's own (a bulk load's records stay as small as they can)."""
    if not change.get("created"):
        return change
    return {k: v for k, v in change.items() if k != "fields"}


def catch_up(documents: t.Iterable[t.Mapping[str, t.Any]]) -> int:
    """Log what these records carry and the history lacks; return how many."""
    missing = unlogged(documents)
    log(missing)
    return len(missing)


# -- a batch's intent ---------------------------------------------------------------------

INTENTS = "record_history_intents"


def intend(entity: str, ids: list[t.Any]) -> t.Any:
    """Before a batch writes records: which ones, so that a batch killed half-way has its
    carried change sets logged by the next `repair`, without reading every record."""
    from .. import store

    return store.database()[INTENTS].insert_one({"entity": entity, "ids": ids, "at": now(),
                                              "owner": _owner()}).inserted_id


def done(intent: t.Any) -> None:
    from .. import store

    store.database()[INTENTS].delete_one({"_id": intent})


def repair(models: t.Mapping[str, t.Any], *, everything: bool = False) -> int:
    """Log the change sets of batches that did not finish (or, with `everything`, of
    every record); return how many were missing."""
    from .. import store

    intents = store.database()[INTENTS]
    missing = 0
    if everything:
        for model in models.values():
            batch: list[dict[str, t.Any]] = []
            for doc in model._get_collection().find({LAST: {"$exists": True}}):
                batch.append(doc)
                if len(batch) >= 500:
                    missing += catch_up(batch)
                    batch = []
            missing += catch_up(batch)
    for intent in list(intents.find({})):
        if _running_elsewhere(intent.get("owner")):
            continue  # a batch still being written: its own process logs it
        model = models.get(intent.get("entity"))
        if model is not None:
            ids = intent.get("ids") or []
            for start in range(0, len(ids), 500):
                missing += catch_up(model._get_collection().find(
                    {"_id": {"$in": ids[start:start + 500]}}))
        intents.delete_one({"_id": intent["_id"]})
    return missing


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _running_elsewhere(owner: t.Any) -> bool:
    host, _, pid = str(owner or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def prune(before: datetime) -> int:
    """Delete change sets made before `before` (retention); return how many."""
    return int(collection().delete_many({"at": {"$lt": before}}).deleted_count)
