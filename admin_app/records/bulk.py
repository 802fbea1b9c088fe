"""One change made to many records at once from a list: archive, restore, or set a field.

A bulk change is two steps, so that nothing happens before a person has read what will:
`prepare` reads which records the selection (rows, or everything a filter matches) holds
and at which revision each was, and keeps them in a pending `BulkChange`; the
confirmation page says the count and the change; `run` then writes them.

Every record goes through the record write path in batches (`batch.write`): the rulebook
and the conditional rules check each, and the whole change is one batch id in history.
A record someone changed after the confirmation is refused, not re-read: the person
confirmed a change to the records as they were, so the result names each such record
and leaves it alone. A record the rules refuse is listed with the reasons; the rest apply.
"""

from __future__ import annotations

import typing as t
from datetime import timedelta

from bson import ObjectId
from mongoengine import BooleanField, DictField, DynamicField, IntField, ListField, StringField

from .. import background, dictionary
from ..models.kept import now
from . import batch
from .trace import FORM, Trace, Who
from .write import collection_of

ARCHIVE, RESTORE, SET = "archive", "restore", "set"
ACTIONS = (ARCHIVE, RESTORE, SET)
VERBS = {ARCHIVE: "Archive", RESTORE: "Restore"}
# Up to this many records a change runs in the request; more run as a job (the app's
# BULK_IN_REQUEST setting overrides it).
IN_REQUEST = 1000
# A selection larger than this is refused: the pending change keeps every record's id.
MOST = 100_000
CHUNK = 500  # records read and written per batch
REFUSALS_KEPT = 1000  # refused records listed by name on the result
# A change prepared and never confirmed (the person went back to the list) is dropped
# this long after: each keeps the ids of every record it would change.
PENDING_KEPT = timedelta(days=1)
CHANGED_SINCE = "changed by someone else since the confirmation; it was left as it is"
GONE = "no longer exists"


class NotAllowed(Exception):
    """The change asked for is one this person may not make one record at a time."""


class BulkChange(background.Job):
    """A bulk change: pending (confirmation shown), then queued, running, done or failed."""

    meta = {"collection": "bulk_changes", "indexes": ["-created_at"]}
    ENDED = "the bulk change's process ended unexpectedly"

    entity = StringField(required=True)
    level = StringField()  # the Level listed (customers)
    endpoint = StringField()  # the list it came from (customer, org, contact)
    action = StringField(required=True)
    field = StringField()  # SET: the field's name
    value = DynamicField()  # SET: the stored value (None: emptied)
    question = StringField()  # "Archive 1,240 Customers matching …?"
    list_args = ListField(ListField(StringField()))  # the list's URL, to go back to
    ids = ListField(DynamicField())
    revisions = ListField(IntField())
    login = StringField()  # who confirmed it: the login's id (history's `who`)
    confirmed = BooleanField(default=False)
    updated = IntField(default=0)
    unchanged = IntField(default=0)
    refused_count = IntField(default=0)
    refused = ListField(DictField())  # {"record", "name", "why"}

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        kwargs.setdefault("status", "pending")
        super().__init__(*args, **kwargs)

    @property
    def pending(self) -> bool:
        return self.status == "pending"

    def who(self) -> Who:
        return Who("login", self.login or "", self.started_by or "")


def settable(snapshot: t.Any, entity: str, level: str) -> list[t.Any]:
    """The fields a person may set in bulk: those the record's form at this Level lets
    them set one record at a time (the Level itself moves a record to another list, and
    Archive is its own action)."""
    shown = [n for section in snapshot.layout(entity, level) for n in section.fields]
    return [snapshot.field(entity, n) for n in shown if n not in ("level", "archived")]


def may(snapshot: t.Any, entity: str, level: str, action: str, name: str | None) -> None:
    """Refuse (NotAllowed) a change the form at this Level does not offer."""
    if action not in ACTIONS:
        raise NotAllowed("Choose archive, restore or set a field.")
    if action in (ARCHIVE, RESTORE):
        shown = {n for section in snapshot.layout(entity, level) for n in section.fields}
        if "archived" not in shown:
            raise NotAllowed("Records of this list cannot be archived or restored from "
                             "their form, so not in bulk either.")
        return
    if name not in {f.name for f in settable(snapshot, entity, level)}:
        raise NotAllowed("That field cannot be set from this list's form, so not in bulk "
                         "either. Choose one of the fields offered.")


def selection(query: dict[str, t.Any], ids: t.Sequence[str] | None) -> dict[str, t.Any]:
    """The list's query, narrowed to the rows ticked (None: everything it matches)."""
    if ids is None:
        return dict(query)
    chosen = [ObjectId(i) for i in ids if ObjectId.is_valid(i)]
    if "_id" in query:
        return {"$and": [query, {"_id": {"$in": chosen}}]}
    return {**query, "_id": {"$in": chosen}}


def prepare(entity: str, level: str | None, endpoint: str, query: dict[str, t.Any],
            action: str, name: str | None, value: t.Any, question: t.Callable[[int], str],
            list_args: list[tuple[str, str]], by: Who) -> BulkChange:
    """A pending change of the records `query` matches now, each at its revision;
    `question(count)` words the confirmation. ValueError: more than MOST records.
    Changes left unconfirmed for PENDING_KEPT are dropped first."""
    BulkChange.objects(status="pending", created_at__lt=now() - PENDING_KEPT).delete()
    found = list(collection_of(entity).find(query, {"_id": 1, "revision": 1})
                 .limit(MOST + 1))
    if len(found) > MOST:
        raise ValueError(f"That is more than {MOST:,} records: narrow the list with a "
                         "filter first.")
    return BulkChange(entity=entity, level=level, endpoint=endpoint, action=action,
                      field=name if action == SET else None,
                      value=value if action == SET else None,
                      question=question(len(found)), list_args=[list(a) for a in list_args],
                      ids=[d["_id"] for d in found],
                      revisions=[int(d.get("revision") or 0) for d in found],
                      login=by.ref, started_by=by.name, total=len(found)).save()


def confirm(change: BulkChange) -> bool:
    """Claim a pending change, once: of two confirmations, one runs it."""
    return bool(BulkChange.objects(pk=change.pk, status="pending").update_one(
        set__status="queued", set__confirmed=True))


def run(change_id: str) -> None:
    """Write a confirmed change, its progress stored as it goes (`flask bulk-job ID`)."""
    change = BulkChange.objects.get(pk=change_id)
    change.claim()
    try:
        tally = _apply(change, background.Progress(change))
    except Exception as exc:
        change.update(set__status="failed", set__error=f"{type(exc).__name__}: {exc}")
        raise
    change.update(set__status="done", set__done=change.total, **tally)


def _apply(change: BulkChange, progress: background.Progress) -> dict[str, t.Any]:
    snapshot = dictionary.current()
    trace = Trace(change.who(), FORM).in_batch(change.pk)
    entity = change.entity
    names = {f.name: f for f in snapshot.live_fields(entity)}
    wanted, check = _wanted(change)
    updated = unchanged = refused_count = 0
    refused: list[dict[str, str]] = []

    def refuse(record: t.Mapping[str, t.Any] | None, oid: t.Any, why: str) -> None:
        nonlocal refused_count
        refused_count += 1
        if len(refused) < REFUSALS_KEPT:
            name = str((record or {}).get("name") or oid)
            refused.append({"record": str(oid), "name": name, "why": why})

    collection = collection_of(entity)
    pairs = list(zip(change.ids, change.revisions, strict=True))
    for start in range(0, len(pairs), CHUNK):
        chunk = pairs[start:start + CHUNK]
        stored = {d["_id"]: d for d in collection.find({"_id": {"$in": [i for i, _ in chunk]}})}
        updates, seen = [], {}
        for oid, revision in chunk:
            record = stored.get(oid)
            if record is None:
                refuse(None, oid, GONE)
            elif int(record.get("revision") or 0) != revision:
                refuse(record, oid, CHANGED_SINCE)
            else:
                updates.append((oid, wanted))
                seen[oid] = {n: record.get(n) for n in wanted}
        outcome = batch.write(entity, [], updates, trace, check=check, seen=seen,
                              snapshot=snapshot)
        updated += len(outcome.updated)
        unchanged += outcome.unchanged
        for oid, problems in outcome.refused_updates.items():
            refuse(stored.get(oid), oid, " ".join(_reason(p, names) for p in problems))
        for oid in outcome.missing:
            refuse(stored.get(oid), oid, GONE)
        for oid in outcome.overlapped:
            refuse(stored.get(oid), oid, CHANGED_SINCE)
        progress(len(chunk))
    return {"set__updated": updated, "set__unchanged": unchanged,
            "set__refused_count": refused_count, "set__refused": refused}


def _wanted(change: BulkChange) -> tuple[dict[str, t.Any], bool]:
    """The values every record gets, and whether the rulebook checks them (archiving is
    never refused by it, as on a record's form: see `write.archive`)."""
    if change.action == ARCHIVE:
        return {"archived": True}, False
    if change.action == RESTORE:
        return {"archived": False}, True
    return {change.field: change.value}, True


def _reason(problem: t.Any, names: dict[str, t.Any]) -> str:
    """"Label: message" (the message names the rule that refused it, if one did)."""
    definition = names.get(problem.field)
    label = definition.label if definition is not None else problem.label
    return f"{label}: {problem.message}"
