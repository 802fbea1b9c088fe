"""Changing a field's type without losing a value or silently changing what it means.

A type change rewrites the value of every record that holds one, and the definition that
says how to read them. No store Dictadmin runs on (MongoDB without a replica set, the
embedded store, mongomock) gives a transaction across those writes, so the change is made
safe by a journal, an undo log written before anything is touched:

1. **Check** (reads only). Every value is judged by `conversion.convert`: it converts only if it
   means the same under the new type. If some do not and the admin did not choose to keep
   them aside, `NotConverting` names the count and the first records; nothing is written.
2. **Journal.** A `TypeChange` (collection `dictionary_type_changes`) is saved in state
   "staged" with the definition before and after, then one row per record whose stored
   value changes (`dictionary_type_change_values`): the record's slots before (`old`) and
   after (`new`), a slot being the field or its `<name>_old`. The id of the History entry
   the change will write is chosen now and kept in the journal.
3. **Swap** (state "swapping"). The definition first, compare-and-set on its revision, so
   a stale save fails before any record is touched; then each record, through the record
   write path (`admin_app.records`, way in "dictionary", batch: the journal's id) with
   the slots the journal recorded as the values seen, so a record edited since the check
   stops the change and each converted record gets one change set in its history; then
   the shared version counter.
4. **Commit.** The History entry is inserted under the id chosen in step 2. That single
   insert is the commit point: a journal left in "swapping" whose History entry exists is
   finished; one without it is undone.

**Undo.** If anything raises during the swap, every record whose slots still hold what
the swap wrote gets its old slots back, the definition gets its old attributes back if it
still has the new type, and a `<name>_old` definition the change created goes. Each of
those writes is conditional on the state the journal recorded, so undo can run any number
of times, never overwrites a value someone wrote after the change, and leaves records the
swap never reached alone. Undo writes go through the write path too, so a record's
history shows the conversion and its undoing. A process killed mid-way leaves its
journal in "swapping" (or "staged"); `flask dictionary recover` then finishes or undoes
it, and the type-change screen warns about it until then.

**Revert.** The journal keeps each changed record's old and new slots, so reverting from
History restores the exact old values (`007` stays the text `007`), but only in records
whose slots still hold what the change wrote. A revert is itself a journaled type change:
all or nothing, recorded in History, and revertible.
"""

from __future__ import annotations

import itertools
import logging
import os
import socket
import typing as t
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import mongoengine as me
from bson import ObjectId

from ..dictionary import history, impact
from ..dictionary.conversion import convert
from ..dictionary.documents import FieldDefinition, bump_version
from ..dictionary.snapshot import Snapshot, load
from .checked import WRITES, DictionaryError, stale, validate

if t.TYPE_CHECKING:
    from ..records import Trace

log = logging.getLogger(__name__)

SHOWN = 20  # refused records listed for the admin
BATCH = 1000
# A change whose process says nothing for this long is taken as interrupted, even on
# another machine (or when its pid was reused).
SILENT_FOR = timedelta(minutes=10)
UNFINISHED = ("staged", "swapping")
RECOVER = "flask --app admin_app dictionary recover"

_MISSING = object()


def _same(a: t.Any, b: t.Any) -> bool:
    """Equal and of the same type: 5 and 5.0, or 1 and True, are different stored values."""
    return type(a) is type(b) and a == b


# -- the journal -----------------------------------------------------------------------------

class TypeChange(me.Document):
    """One type change (or revert), written before any record is touched."""

    meta = {"collection": "dictionary_type_changes",
            "indexes": [("entity", "name", "state"), "history"]}

    entity = me.StringField(required=True)
    name = me.StringField(required=True)
    label = me.StringField(required=True)
    old_type = me.StringField(required=True)
    new_type = me.StringField(required=True)
    state = me.StringField(required=True, default="staged",
                           choices=("staged", "swapping", "done", "undone"))
    revision = me.IntField(required=True)  # the definition's revision the change was checked at
    before = me.DictField()  # the whole definition, before and after
    after = me.DictField()
    backup = me.StringField()  # `<name>_old`, when values are kept aside
    backup_created = me.BooleanField(default=False)
    converted = me.IntField(default=0)
    kept_aside = me.IntField(default=0)
    restored = me.IntField(default=0)  # a revert: values put back
    left = me.IntField(default=0)  # a revert: values edited since, left as they are
    reverts = me.ObjectIdField()  # the journal of the change this one reverts
    history = me.ObjectIdField(required=True)  # the History entry; once it exists: committed
    reason = me.StringField(default="")
    actor = me.StringField()
    owner = me.StringField()  # host:pid of the process making the change
    started_at = me.DateTimeField()
    heartbeat = me.DateTimeField()


class TypeChangeValue(me.Document):
    """One record's slots before and after a type change; written and read raw."""

    meta = {"collection": "dictionary_type_change_values", "indexes": ["change"]}

    change = me.ObjectIdField(required=True)
    record = me.DynamicField(required=True)
    old = me.DictField()
    new = me.DictField()


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _rows_of(journal: TypeChange) -> t.Iterator[dict[str, t.Any]]:
    yield from TypeChangeValue._get_collection().find({"change": journal.pk})


def _stage(journal: TypeChange, rows: t.Iterable[dict[str, t.Any]]) -> int:
    """Write the journal's rows, a batch at a time; return how many."""
    collection, count = TypeChangeValue._get_collection(), 0
    iterator = iter(rows)
    while batch := list(itertools.islice(iterator, BATCH)):
        collection.insert_many([{"change": journal.pk, **row} for row in batch])
        count += len(batch)
        journal.update(set__heartbeat=_now())
    return count


def _running(journal: TypeChange) -> bool:
    """Is the process that started this change still at it?"""
    if journal.heartbeat is None or _now() - journal.heartbeat > SILENT_FOR:
        return False
    host, _, pid = (journal.owner or "").rpartition(":")
    if host != socket.gethostname():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError):
        return True
    return True


def interrupted(entity: str, name: str) -> list[TypeChange]:
    """Changes of this field's type that a stopped process left half-done."""
    return [j for j in TypeChange.objects(entity=entity, name=name, state__in=UNFINISHED)
            if not _running(j)]


def _refuse_if_unfinished(entity: str, name: str, label: str) -> None:
    for journal in TypeChange.objects(entity=entity, name=name, state__in=UNFINISHED):
        if _running(journal):
            raise DictionaryError(f"Another change of the type of {label} is under way; wait "
                                  f"for it to finish, then reload.")
        raise DictionaryError(f"A change of the type of {label} ({journal.old_type} → "
                              f"{journal.new_type}) was interrupted; run `{RECOVER}` to "
                              f"finish or undo it, then try again.")


# -- refusal ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Refused:
    """A record whose value would not convert, as the admin should see it."""

    record: t.Any
    name: str
    level: str | None
    value: str  # text quoted, so that spaces show


class NotConverting(DictionaryError):
    """Values that would not mean the same under the new type; nothing was changed."""

    def __init__(self, message: str, count: int, records: list[Refused]) -> None:
        super().__init__(message)
        self.count = count
        self.records = records


def _shown(value: t.Any) -> str:
    return value.isoformat(sep=" ") if isinstance(value, datetime) else repr(value)


def _holding(collection: t.Any, name: str, backup: str) -> t.Iterator[dict[str, t.Any]]:
    return collection.find({name: {"$nin": [None, ""]}},
                           {name: 1, backup: 1, "name": 1, "level": 1})


def check_values(definition: FieldDefinition, new_type: str) -> None:
    """Raise NotConverting if any stored value would not convert (writes nothing)."""
    model = impact.RECORDS.get(definition.entity)
    if model is None:
        return
    count, records = 0, []
    for doc in _holding(model._get_collection(), definition.name, f"{definition.name}_old"):
        if convert(doc[definition.name], new_type) is None:
            count += 1
            if len(records) < SHOWN:
                records.append(Refused(doc["_id"], doc.get("name") or str(doc["_id"]),
                                       doc.get("level"), _shown(doc[definition.name])))
    if count:
        raise NotConverting(
            f"{count} existing records hold a {definition.label} that is not a valid "
            f"{new_type}; the type was not changed. Choose to keep those values aside, or "
            f"correct them first.", count, records)


def _check_backup(definition: FieldDefinition, new_type: str, backup: str) -> bool:
    """True when some values will be kept aside; refuse if that would overwrite any."""
    model = impact.RECORDS.get(definition.entity)
    if model is None:
        return False
    aside = occupied = 0
    for doc in _holding(model._get_collection(), definition.name, backup):
        if convert(doc[definition.name], new_type) is None:
            aside += 1
            occupied += doc.get(backup) not in (None, "")
    if occupied:
        raise DictionaryError(
            f"{occupied} records that would keep their {definition.label} aside already hold "
            f"a value in {backup}; restore that field and move or clear those values first, "
            f"or correct the values that do not convert.")
    return aside > 0


# -- changing --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Outcome:
    definition: FieldDefinition
    converted: int
    kept_aside: int


def check(definition: FieldDefinition, before: dict[str, t.Any], *, keep_unconverted: bool,
          expected_revision: int | None = None) -> bool:
    """Raise what `change` would raise before it writes (reads only): another change of
    this field's type under way or interrupted, no new type, a stale copy (when
    `expected_revision` is given), values that would not convert, or values kept aside
    that would overwrite others. True when some values will be kept aside."""
    entity, name, label = definition.entity, definition.name, before["label"]
    _refuse_if_unfinished(entity, name, label)
    if definition.type == before["type"]:
        raise DictionaryError(f"{label} is already {definition.type}.")
    if expected_revision is not None and definition.revision != expected_revision:
        raise stale(label)
    if not keep_unconverted:
        check_values(definition, definition.type)
        return False
    return _check_backup(definition, definition.type, f"{name}_old")


def change(definition: FieldDefinition, before: dict[str, t.Any], *, keep_unconverted: bool,
           expected_revision: int | None = None, reason: str = "") -> Outcome:
    """Give a field a new type, converting every stored value, all or nothing (see the
    module docstring). `definition` is the field as the change leaves it, its new type
    and any other attribute set and checked by `fields` (not saved); `before` is the
    stored definition, plain (`history.plain`)."""
    entity, name = definition.entity, definition.name
    revision = definition.revision if expected_revision is None else expected_revision
    keeps_aside = check(definition, before, keep_unconverted=keep_unconverted,
                        expected_revision=revision)
    journal = _journal(definition, before, revision, reason,
                       backup=f"{name}_old" if keeps_aside else None)
    model = impact.RECORDS.get(entity)
    try:
        journal.converted, journal.kept_aside = _stage_conversion(journal, model)
    except Exception as exc:
        _discard(journal)
        if isinstance(exc, DictionaryError):
            raise
        log.exception("Staging the type change of %s.%s failed", entity, name)
        raise DictionaryError(f"The type of {before['label']} was not changed: the records "
                              f"could not be read ({exc}). Nothing was written; try "
                              f"again.") from exc
    journal.save()
    _swap(journal)
    saved = FieldDefinition.objects.get(entity=entity, name=name)
    return Outcome(saved, journal.converted, journal.kept_aside)


def _journal(definition: FieldDefinition, before: dict[str, t.Any], revision: int,
             reason: str, **extra: t.Any) -> TypeChange:
    now = _now()
    return TypeChange(
        entity=definition.entity, name=definition.name, label=before["label"],
        old_type=before["type"], new_type=definition.type, revision=revision,
        before=before, after=history.plain(definition), reason=reason,
        actor=history.actor(), owner=f"{socket.gethostname()}:{os.getpid()}",
        started_at=now, heartbeat=now, history=ObjectId(), **extra).save()


def _stage_conversion(journal: TypeChange, model: t.Any) -> tuple[int, int]:
    """Journal every record whose value changes; return (converted, kept aside). A value
    that no longer passes the check made just before stops the change."""
    if model is None:
        return 0, 0
    name, backup, counts = journal.name, f"{journal.name}_old", {"converted": 0, "aside": 0}

    def rows() -> t.Iterator[dict[str, t.Any]]:
        for doc in _holding(model._get_collection(), name, backup):
            old_value, new_value = doc[name], convert(doc[name], journal.new_type)
            if new_value is None:
                if journal.backup is None or doc.get(backup) not in (None, ""):
                    raise DictionaryError(f"A {journal.label} was edited while its type was "
                                          f"being checked; nothing was changed. Try again.")
                counts["aside"] += 1
                old = {name: old_value, **({backup: doc[backup]} if backup in doc else {})}
                yield {"record": doc["_id"], "old": old, "new": {backup: old_value}}
                continue
            counts["converted"] += 1
            if not _same(old_value, new_value):
                yield {"record": doc["_id"], "old": {name: old_value}, "new": {name: new_value}}

    _stage(journal, rows())
    return counts["converted"], counts["aside"]


def _discard(journal: TypeChange) -> None:
    TypeChangeValue._get_collection().delete_many({"change": journal.pk})
    journal.delete()


@dataclass(frozen=True)
class _Writer:
    """How one journal's record writes are made: by whom (the signed-in admin, or the
    command line for `recover`), in the journal's batch, under the dictionary as stored
    now (which knows the new type and a `<name>_old` the change has just created)."""

    entity: str
    trace: Trace
    snapshot: Snapshot


def _writer(journal: TypeChange) -> _Writer:
    from .. import records

    trace = records.trace.by_request(records.trace.DICTIONARY).in_batch(journal.pk)
    return _Writer(journal.entity, trace, load())


def _move(writer: _Writer, moves: list[tuple[t.Any, dict[str, t.Any], dict[str, t.Any]]]
          ) -> set[t.Any]:
    """Move each record's slots from `have` to `want` ((record, have, want)), in one batch
    of the write path, only where they still hold `have`: a record edited since is never
    given a stale conversion. Returns the records left as they are (edited since, or
    gone). Each record moved gets one change set, and its revision moves, so an edit form
    opened before the change is refused rather than writing a value of the old type back.
    A value that stays the same value (5 becoming 5.0) is stored under its new type but
    records no history."""
    from .. import records

    updates, seen = [], {}
    for record, have, want in moves:
        updates.append((record, {**{slot: None for slot in have if slot not in want}, **want}))
        seen[record] = {**{slot: None for slot in want if slot not in have}, **have}
    outcome = records.batch.write(writer.entity, [], updates, writer.trace, seen=seen,
                                  exact=True, snapshot=writer.snapshot)
    return set(outcome.overlapped) | set(outcome.missing)


def _swap_records(writer: _Writer, rows: list[dict[str, t.Any]]) -> bool:
    """Convert these journal rows' records; False if any was edited since the check."""
    return not _move(writer, [(row["record"], row["old"], row["new"]) for row in rows])


def _undo_records(writer: _Writer, collection: t.Any, rows: list[dict[str, t.Any]]) -> int:
    """Put the old slots back; return how many records could not be (edited since the
    swap), which are left as they are. A record the swap never reached holds its old
    slots already, and counts as put back."""
    stuck = _move(writer, [(row["record"], row["new"], row["old"]) for row in rows])
    if not stuck:
        return 0
    docs = {d["_id"]: d for d in collection.find({"_id": {"$in": list(stuck)}})}
    return sum(not _holds(docs.get(row["record"], {}), row["old"], row["new"])
               for row in rows if row["record"] in stuck)


def _holds(doc: dict[str, t.Any], side: dict[str, t.Any], other: dict[str, t.Any]) -> bool:
    """Does the record hold exactly `side` in the slots a journal row is about?"""
    return all(_same(doc.get(slot, _MISSING), side.get(slot, _MISSING))
               for slot in set(side) | set(other))


def _definition_update(source: dict[str, t.Any], target: dict[str, t.Any],
                       revision: int | None = None) -> dict[str, t.Any]:
    """The update from one definition to another; the revision moves on, or is set to
    `revision` when an undo puts the very definition back."""
    changed = [k for k in set(source) | set(target) if source.get(k) != target.get(k)]
    sets = {k: target[k] for k in changed if target.get(k) is not None}
    update: dict[str, t.Any] = {}
    if revision is None:
        update["$inc"] = {"revision": 1}
    else:
        sets["revision"] = revision
    if sets:
        update["$set"] = sets
    if unsets := {k: "" for k in changed if target.get(k) is None}:
        update["$unset"] = unsets
    return update


def _swap(journal: TypeChange) -> None:
    journal.update(set__state="swapping", set__heartbeat=_now())
    try:
        fields = FieldDefinition._get_collection()
        if not fields.update_one({"entity": journal.entity, "name": journal.name,
                                  "revision": journal.revision},
                                 _definition_update(journal.before, journal.after)).matched_count:
            raise stale(journal.label)
        if journal.backup:
            _create_backup(journal)
        writer, rows = _writer(journal), _rows_of(journal)
        while batch := list(itertools.islice(rows, WRITES)):
            if not _swap_records(writer, batch):
                raise DictionaryError(f"A {journal.label} was edited while its type was being "
                                      f"changed, so the change was undone. Try again.")
            journal.update(set__heartbeat=_now())
        bump_version()
        _commit(journal)
    except Exception as exc:
        _undo_after(journal, exc)
    journal.update(set__state="done")


def _undo_after(journal: TypeChange, exc: Exception) -> t.NoReturn:
    try:
        _undo(journal)
    except Exception as undo_exc:
        log.exception("Undoing the type change of %s.%s failed", journal.entity, journal.name)
        raise DictionaryError(
            f"Changing the type of {journal.label} failed half-way ({exc}), and it could not "
            f"be undone ({undo_exc}). Run `{RECOVER}` once the store answers again.") from exc
    if isinstance(exc, DictionaryError):
        raise exc
    log.exception("The type change of %s.%s failed", journal.entity, journal.name)
    raise DictionaryError(
        f"Changing the type of {journal.label} failed half-way ({exc}); the change was "
        f"undone: every value and the definition are as they were. Try again; if it fails "
        f"again, check the store.") from exc


def _create_backup(journal: TypeChange) -> None:
    if FieldDefinition.objects(entity=journal.entity, name=journal.backup).first() is not None:
        return
    journal.update(set__backup_created=True)  # first, so that undo knows to remove it
    journal.backup_created = True
    FieldDefinition(entity=journal.entity, name=journal.backup, type="text", retired=True,
                    label=f"{journal.label} (before {journal.new_type})").save()


def _summary(journal: TypeChange) -> str:
    described = history.describe(journal.before, journal.after)
    if journal.reverts:
        left = f", {journal.left} edited since left as they are" if journal.left else ""
        return f"revert: {described}; {journal.restored} values restored{left}"
    aside = f", {journal.kept_aside} kept aside in {journal.backup}" if journal.kept_aside \
        else ""
    text = f"{described}; {journal.converted} values converted{aside}"
    return f"{journal.reason}: {text}" if journal.reason else text


def _commit(journal: TypeChange) -> None:
    """Insert the History entry: the one write that makes the change final."""
    saved = FieldDefinition.objects.get(entity=journal.entity, name=journal.name)
    history.record("field", journal.entity, journal.name, _summary(journal), journal.before,
                   history.plain(saved), id=journal.history,
                   details={"converted": journal.converted, "kept_aside": journal.kept_aside,
                            "restored": journal.restored, "left": journal.left,
                            "type_change": journal.pk})


def _undo(journal: TypeChange) -> int:
    """Put records and definition back from the journal; return how many records could not
    be (edited since), which are left as they are."""
    model = impact.RECORDS.get(journal.entity)
    left = 0
    if model is not None:
        collection, writer, rows = model._get_collection(), _writer(journal), _rows_of(journal)
        while batch := list(itertools.islice(rows, WRITES)):
            left += _undo_records(writer, collection, batch)
    _restore_definition(journal)
    if journal.backup_created and (model is None or not model._get_collection().count_documents(
            {journal.backup: {"$exists": True}})):
        FieldDefinition.objects(entity=journal.entity, name=journal.backup).delete()
    bump_version()
    journal.update(set__state="undone")
    TypeChangeValue._get_collection().delete_many({"change": journal.pk})
    return left


def _restore_definition(journal: TypeChange) -> None:
    """Give the definition its old attributes back, if it still has the new type. Untouched
    since the swap, it gets its old revision too, so it is exactly as before and a form
    opened before the change can still be saved; edited since, its revision moves on."""
    fields = FieldDefinition._get_collection()
    ours = {"entity": journal.entity, "name": journal.name, "type": journal.new_type}
    if not fields.update_one({**ours, "revision": journal.revision + 1},
                             _definition_update(journal.after, journal.before,
                                                journal.revision)).matched_count:
        fields.update_one({**ours, "revision": {"$gt": journal.revision + 1}},
                          _definition_update(journal.after, journal.before))


def recover() -> list[str]:
    """Finish or undo every type change a stopped process left half-done; say what."""
    said = []
    for journal in TypeChange.objects(state__in=UNFINISHED):
        where = f"{journal.entity}.{journal.name} ({journal.old_type} → {journal.new_type}, " \
                f"started {journal.started_at:%Y-%m-%d %H:%M} UTC by {journal.actor})"
        if _running(journal):
            said.append(f"{where}: still under way in process {journal.owner}; left alone.")
        elif history.DictionaryChange.objects(pk=journal.history).first() is not None:
            journal.update(set__state="done")
            said.append(f"{where}: had been written in full; marked finished.")
        else:
            left = _undo(journal)
            edited = f"; {left} records edited since were left as they are" if left else ""
            said.append(f"{where}: undone, values and definition are as before{edited}.")
    return said


# -- revert ----------------------------------------------------------------------------------

def journal_of(change_id: t.Any) -> TypeChange | None:
    """The journal of a History entry, if that entry is a type change."""
    return TypeChange.objects(history=change_id, state="done").first()


def revert(journal: TypeChange) -> str:
    """Undo a finished type change: the old type back, and the exact old values in the
    records that still hold what it wrote. Say what was done."""
    definition = FieldDefinition.objects(entity=journal.entity, name=journal.name).first()
    if definition is None:
        raise DictionaryError(f"There is no field {journal.name!r} on {journal.entity}.")
    if TypeChange.objects(reverts=journal.pk, state="done").first() is not None \
            and definition.type == journal.old_type:
        raise DictionaryError("That type change has been reverted already.")
    if definition.type != journal.new_type:
        raise DictionaryError(f"{definition.label} is now {definition.type}, not "
                              f"{journal.new_type}: revert the later change of its type "
                              f"first.")
    _refuse_if_unfinished(journal.entity, journal.name, definition.label)
    before = history.plain(definition)
    changed = {k for k in set(journal.before) | set(journal.after)
               if journal.before.get(k) != journal.after.get(k)}
    for key in changed:
        setattr(definition, key, journal.before.get(key))
    validate(definition)
    undo = _journal(definition, before, definition.revision, "", reverts=journal.pk)
    counts = {"restored": 0, "left": 0}

    def rows() -> t.Iterator[dict[str, t.Any]]:
        model = impact.RECORDS.get(journal.entity)
        if model is None:
            return
        rows_of = _rows_of(journal)
        while batch := list(itertools.islice(rows_of, BATCH)):
            docs = {d["_id"]: d for d in model._get_collection().find(
                {"_id": {"$in": [r["record"] for r in batch]}})}
            for row in batch:
                if _holds(docs.get(row["record"], {}), row["new"], row["old"]):
                    counts["restored"] += 1
                    yield {"record": row["record"], "old": row["new"], "new": row["old"]}
                else:
                    counts["left"] += 1

    try:
        _stage(undo, rows())
    except Exception as exc:
        _discard(undo)
        log.exception("Staging the revert of %s.%s failed", journal.entity, journal.name)
        raise DictionaryError(f"The type change of {definition.label} was not reverted: the "
                              f"records could not be read ({exc}). Try again.") from exc
    undo.restored, undo.left = counts["restored"], counts["left"]
    undo.save()
    _swap(undo)
    where, old_type = f"{journal.entity}.{journal.name}", journal.old_type
    if undo.left:
        verb = "was" if undo.left == 1 else "were"
        return (f"{where} is {old_type} again; {undo.left} values edited since {verb} left "
                f"as they are, and the other {undo.restored} are as they were before")
    if undo.restored:
        return f"{where} is {old_type} again and its {undo.restored} changed values are as " \
               f"they were before"
    return f"{where} is {old_type} again, as it was before"
