"""Many records at once, for the seed load and the directory sync: the same checks,
stamps and history as `write.py`, in batches instead of a round trip per record.

A batch reads the records it updates in one query, writes its new records in one
insert (one transaction on the embedded store) and each update as its own
compare-and-set, then logs every change set of the batch in one insert. Before writing
it leaves an intent naming its records, so that a batch killed half-way has the change
sets its records carry logged by the next `history.repair` (see `history.py`).
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

from bson import ObjectId

from .. import dictionary
from ..models.kept import now
from . import history
from .trace import Trace
from .write import (
    Missing,
    Overlap,
    Planned,
    Problem,
    Refused,
    collection_of,
    new_document,
    overlapping,
    plan,
    update,
)


class Interrupted(Exception):
    """A write failed part-way (a full disk): `outcome` says what the batch had written
    before it; `__cause__` is the store's error."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__("the batch stopped part-way")
        self.outcome = outcome


@dataclass
class Outcome:
    """What a batch did: ids created and updated, how many updates changed nothing, and
    the records the rulebook refused (creates by their position in the batch, updates
    by id), each with its problems."""

    created: list[t.Any] = field(default_factory=list)
    updated: list[t.Any] = field(default_factory=list)
    unchanged: int = 0
    refused_creates: dict[int, list[Problem]] = field(default_factory=dict)
    refused_updates: dict[t.Any, list[Problem]] = field(default_factory=dict)
    missing: list[t.Any] = field(default_factory=list)
    # Updates given `seen` whose fields someone else changed since (nothing written).
    overlapped: list[t.Any] = field(default_factory=list)


def write(entity: str, creates: t.Sequence[t.Mapping[str, t.Any]],
          updates: t.Sequence[tuple[t.Any, t.Mapping[str, t.Any]]], trace: Trace, *,
          check: bool = True, dry_run: bool = False,
          seen: t.Mapping[t.Any, t.Mapping[str, t.Any]] | None = None, exact: bool = False,
          snapshot: t.Any = None) -> Outcome:
    """Create `creates` and merge `updates` ((id, changes), each writing only the fields
    it carries); refused records are reported and the rest written. `seen`, `exact` and
    `snapshot` as for `write.update` (`seen` by record id)."""
    outcome = Outcome()
    snapshot = snapshot or dictionary.current()
    moment = now()
    new_documents, changes = [], []
    for position, values in enumerate(creates):
        try:
            document, change = new_document(entity, values, trace, snapshot, check=check,
                                             moment=moment)
        except Refused as refused:
            outcome.refused_creates[position] = refused.problems
            continue
        new_documents.append(document)
        changes.append(change)
    collection = collection_of(entity)
    ids = [oid for oid, _values in updates]
    current = {d["_id"]: d for d in collection.find({"_id": {"$in": ids}})} if ids else {}
    planned: list[tuple[t.Mapping[str, t.Any], Planned]] = []
    for oid, wanted in updates:
        stored = current.get(oid)
        if stored is None:
            outcome.missing.append(oid)
            continue
        if seen is not None and overlapping(stored, wanted, seen.get(oid, {})):
            outcome.overlapped.append(oid)
            continue
        try:
            planned_write = plan(entity, stored, wanted, trace, snapshot, check=check,
                                 exact=exact, moment=moment)
        except Refused as refused:
            outcome.refused_updates[oid] = refused.problems
            continue
        if planned_write is None:
            outcome.unchanged += 1
            continue
        planned.append((wanted, planned_write))
    if dry_run or not (new_documents or planned):
        outcome.created = [d["_id"] for d in new_documents]
        outcome.updated = [p.stored["_id"] for _wanted, p in planned]
        return outcome
    try:
        intent = history.intend(entity, [d["_id"] for d in new_documents]
                                + [p.stored["_id"] for _wanted, p in planned])
        _apply(entity, collection, new_documents, planned, changes, trace, check, outcome,
               seen=seen, exact=exact, snapshot=snapshot)
        history.done(intent)
    except Exception as exc:
        raise Interrupted(outcome) from exc
    return outcome


def _apply(entity: str, collection: t.Any, new_documents: list[dict[str, t.Any]],
           planned: list[tuple[t.Mapping[str, t.Any], Planned]],
           changes: list[dict[str, t.Any]], trace: Trace,
           check: bool, outcome: Outcome, *,
           seen: t.Mapping[t.Any, t.Mapping[str, t.Any]] | None = None, exact: bool = False,
           snapshot: t.Any = None) -> None:
    history.catch_up([p.stored for _wanted, p in planned])  # what a killed writer left
    if new_documents:
        collection.insert_many(new_documents, ordered=True)  # one transaction: all or none
        outcome.created = [d["_id"] for d in new_documents]
    for wanted, planned_write in planned:
        oid = planned_write.stored["_id"]
        if collection.update_one(*planned_write.write()).matched_count:
            outcome.updated.append(oid)
            if planned_write.change is not None:
                changes.append(planned_write.change)
            continue
        # another writer came between
        _again(entity, oid, wanted, trace, check, outcome,
               seen=None if seen is None else seen.get(oid, {}), exact=exact, snapshot=snapshot)
    history.log(changes)


def _again(entity: str, oid: ObjectId, wanted: t.Mapping[str, t.Any], trace: Trace,
           check: bool, outcome: Outcome, *, seen: t.Mapping[str, t.Any] | None = None,
           exact: bool = False, snapshot: t.Any = None) -> None:
    """One record another writer moved on between the batch's read and its write: merge
    its fields on top of theirs, as a single write."""
    try:
        written = update(entity, oid, wanted, trace, check=check, seen=seen, exact=exact,
                         snapshot=snapshot)
    except Refused as refused:
        outcome.refused_updates[oid] = refused.problems
    except Overlap:
        (outcome.missing if seen is None else outcome.overlapped).append(oid)
    except Missing:
        outcome.missing.append(oid)
    else:
        if written.changed:
            outcome.updated.append(oid)
        else:
            outcome.unchanged += 1
