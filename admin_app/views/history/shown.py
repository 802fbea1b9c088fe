"""Change sets as the History pages show them: labels then and now, readable values, the
batch named and linked.

A change set names each field by its definition's stable id and keeps the label it had
then; the label it has now is looked up by that id, so a relabelled field shows both and
a retired one says so. Values are read by `records.shown` (dates, Yes / No, references
by their record's name: one query per target for a whole page). Labels and values are
user input: the templates show them as text, never as markup.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass
from datetime import datetime

from bson import ObjectId
from flask import url_for

from ... import dictionary
from ...directory.runs import SyncRun
from ...importer.jobs import SeedJob
from ...records.history import definition_of
from ...records.shown import Names, readable
from ...records.trace import DICTIONARY, WAY_WORDS
from ...records.write import MODELS
from ..secure import signed_in_role


@dataclass
class Line:
    """One field of a change set."""

    field_id: str
    label: str  # its label then
    now: str | None  # its label now, when it differs (None: the same)
    retired: bool  # retired from the dictionary since
    gone: bool  # no longer in the dictionary at all
    old: str
    new: str


@dataclass
class Batch:
    """The import job, sync run or other batch a change set belongs to."""

    id: str
    words: str
    url: str | None  # its own page (None: none, or not for this role)


@dataclass
class Record:
    """The record a change set changed (on a batch's list, which spans records)."""

    words: str  # "Customer: Alice Carter"
    history_url: str


@dataclass
class Entry:
    id: str
    at: datetime
    who: str
    way: str
    created: bool
    lines: list[Line]
    batch: Batch | None = None
    record: Record | None = None
    revision: int = 0
    revertible: bool = False  # offered a Revert (see records.revert for what is not)


def entries(docs: list[dict[str, t.Any]], *, with_records: bool = False) -> list[Entry]:
    """The page's change sets, ready to show (a few queries for the whole page)."""
    snapshot = dictionary.current()
    names = Names()
    names.prime((_target(snapshot, doc["entity"], line), value) for doc in docs
                for line in doc.get("fields") or () for value in (line.get("old"),
                                                                   line.get("new")))
    batches = batch_words({doc.get("batch") for doc in docs} - {None, ""})
    records = record_words(docs, snapshot) if with_records else {}
    return [Entry(id=str(doc["_id"]), at=doc["at"], who=(doc.get("who") or {}).get("name", ""),
                  way=WAY_WORDS.get(doc.get("way", ""), doc.get("way", "")),
                  created=bool(doc.get("created")),
                  lines=[_line(snapshot, doc["entity"], line, names)
                         for line in doc.get("fields") or ()],
                  batch=batches.get(doc.get("batch") or ""),
                  record=records.get(doc["record"]), revision=int(doc.get("revision") or 0),
                  revertible=not doc.get("created") and doc.get("way") != DICTIONARY)
            for doc in docs]


def _target(snapshot: dictionary.Snapshot, entity: str,
            line: t.Mapping[str, t.Any]) -> str | None:
    definition = definition_of(snapshot, entity, line)
    return definition.target if definition is not None else None


def _line(snapshot: dictionary.Snapshot, entity: str, line: t.Mapping[str, t.Any],
          names: Names) -> Line:
    definition = definition_of(snapshot, entity, line)
    then = str(line.get("label") or line.get("name") or "")
    target = definition.target if definition is not None else None
    return Line(field_id=str(line.get("id") or line.get("name") or ""), label=then,
                now=definition.label if definition is not None and definition.label != then
                else None,
                retired=bool(definition is not None and definition.retired),
                gone=definition is None,
                old=readable(line.get("old"), target, names),
                new=readable(line.get("new"), target, names))


def batch_words(ids: t.Iterable[str]) -> dict[str, Batch]:
    """Each batch named: an import job by its file, a sync run by its connector and
    start; linked to its page (a sync run's for admins only: agents do not see runs)."""
    wanted = [ObjectId(i) for i in ids if ObjectId.is_valid(i)]
    found = {i: Batch(i, f"batch {i}", None) for i in ids}
    if not wanted:
        return found
    for job in SeedJob.objects(pk__in=wanted).only("filename"):
        found[str(job.pk)] = Batch(str(job.pk), f"import of {job.filename or 'a file'}",
                                   url_for("seed.job", job_id=str(job.pk)))
    for run in SyncRun.objects(pk__in=wanted).only("connector", "started"):
        started = f", {run.started:%Y-%m-%d %H:%M} UTC" if run.started else ""
        found[str(run.pk)] = Batch(str(run.pk), f"sync run of {run.connector}{started}",
                                   url_for("directory_runs.detail", run_id=str(run.pk))
                                   if signed_in_role() == "admin" else None)
    return found


def record_words(docs: list[dict[str, t.Any]],
                 snapshot: dictionary.Snapshot) -> dict[ObjectId, Record]:
    """The records these change sets changed, named (one query per entity)."""
    found: dict[ObjectId, Record] = {}
    for entity, model in MODELS.items():
        ids = list({doc["record"] for doc in docs if doc.get("entity") == entity})
        if not ids:
            continue
        for record in model._get_collection().find({"_id": {"$in": ids}},
                                                   {"name": 1, "level": 1}):
            found[record["_id"]] = Record(f"{record_kind(snapshot, entity, record)}: "
                                          f"{record.get('name') or '(no name)'}",
                                          url_for("history.record", entity=entity,
                                                  record_id=str(record["_id"])))
    return found


def record_kind(snapshot: dictionary.Snapshot, entity: str, record: t.Mapping[str, t.Any]) -> str:
    """The record's Level's word (Customer, Org, Contact), as its own page says it."""
    words = snapshot.entities.get(entity)
    return words.level(record.get("level")).singular if words is not None else entity


def edit_endpoint(entity: str, record: t.Mapping[str, t.Any]) -> str:
    """The record's own page: the Org list's for an Org, the Customer list's otherwise."""
    if entity == "contact":
        return "contact.edit_view"
    return "org.edit_view" if record.get("level") == "Org" else "customer.edit_view"
