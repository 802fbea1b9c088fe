"""A run: read the directory, plan, stop there for a preview, check the guards, apply.

`apply(plan)` writes the plan and nothing else, so a preview's plan is what its load
does. It writes through the record write path in batches (`records.batch`), as the
connector, way in "sync", the run's id as the batch: each record's history says the
directory changed it. An update carries the mapped fields only (what agents typed
elsewhere survives, field by field). Nothing is ever deleted: a person who left is
archived, and restored if they come back.

The write path checks each record again, as it will be (the stored values plus the
directory's): a record it refuses (say, a value made mandatory since it was stored) is
a skipped action of the run, with the rule's message, never a failed run.
"""

from __future__ import annotations

import logging
import typing as t
import uuid

from bson import ObjectId

from .. import collector, records
from ..models.kept import now
from ..records.trace import Trace
from ..store import disk_full
from . import runs
from .mapping import BECOMES
from .plan import Action, Plan, plan
from .runs import SyncRun

log = logging.getLogger(__name__)

_COUNT_OF = {"create": "created", "update": "updated", "unchanged": "unchanged",
             "archive": "archived", "restore": "restored", "conflict": "conflicts",
             "skip": "skipped"}


def counts(result: Plan) -> dict[str, int]:
    return {_COUNT_OF[k]: n for k, n in result.counts().items()}


def apply(result: Plan, trace: Trace | None = None) -> dict[str, int]:
    """Write exactly `result`: Orgs to create first, then each record's action. An action
    the write path refuses becomes a skip (its messages say why); the counts returned are
    of what was done."""
    trace = trace or Trace(records.trace.connector(result.connector), records.trace.SYNC)
    target = BECOMES[result.becomes]
    org_ids, org_problems = _create_orgs(result.orgs_to_create, trace)
    mark = {"connector": result.connector}
    creates: list[tuple[Action, dict[str, t.Any]]] = []
    updates: list[tuple[Action, dict[str, t.Any]]] = []
    archives: list[tuple[Action, dict[str, t.Any]]] = []
    for action in result.actions:
        if not action.writes:
            continue
        values = dict(action.values)
        if action.org_name:
            if action.org_name in org_problems:
                _skip(action, org_problems[action.org_name], _NO_ORG)
                continue
            values[target.org_field] = org_ids[action.org_name]
        # `directory` is the sync's own mark (never history): written whole, as the batch
        # writes top-level keys.
        if action.kind == "create":
            creates.append((action, {"level": target.level, **values, "archived": False,
                                     "directory": {**mark, "key": action.key}}))
        elif action.kind == "update":
            if action.link:
                values["directory"] = {**mark, "key": action.key}
            updates.append((action, values))
        elif action.kind == "archive":
            archives.append((action, {"archived": True, "directory": {
                **mark, "key": action.key, "archived": True}}))
        elif action.kind == "restore":
            updates.append((action, {**values, "archived": False, "directory": {
                **mark, "key": action.key, "archived": False}}))
    _write(target.entity, creates, updates, trace)
    # Archiving someone who left is never refused (as `records.archive`): whatever their
    # record lacks, they are gone.
    _write(target.entity, [], archives, trace, check=False)
    return counts(result)


def _write(entity: str, creates: list[tuple[Action, dict[str, t.Any]]],
           updates: list[tuple[Action, dict[str, t.Any]]], trace: Trace, *,
           check: bool = True) -> None:
    """One batch through the write path; each refused or vanished record's action becomes
    a skip."""
    if not (creates or updates):
        return
    outcome = records.batch.write(entity, [values for _action, values in creates],
                                  [(ObjectId(action.record), values)
                                   for action, values in updates], trace, check=check)
    for position, problems in outcome.refused_creates.items():
        _skip(creates[position][0], [p.message for p in problems], _REFUSED)
    by_id = {ObjectId(action.record): action for action, _values in updates}
    for oid, problems in outcome.refused_updates.items():
        _skip(by_id[oid], [p.message for p in problems], _REFUSED)
    for oid in outcome.missing:
        _skip(by_id[oid], [], "The record was deleted, or kept changing, while the run "
                              "wrote it; the next run writes it again.")


_REFUSED = ("The record as it would be (its stored values with the directory's) fails the "
            "dictionary's rules; it is left as it is.")
_NO_ORG = "The entry's Org cannot be created; the entry is skipped and its record left as it is."


def _skip(action: Action, messages: list[str], reason: str) -> None:
    action.kind, action.messages, action.reason = "skip", messages, reason


def _create_orgs(names: list[str], trace: Trace
                 ) -> tuple[dict[str, ObjectId], dict[str, list[str]]]:
    """The Orgs the plan names that no record is: their ids, and the rulebook's messages
    for those it refuses (an Org level with mandatory fields a name alone does not fill)."""
    if not names:
        return {}, {}
    docs = [{"_id": ObjectId(), "level": "Org", "name": name} for name in names]
    outcome = records.batch.write("customer", docs, [], trace)
    refused = {docs[position]["name"]: [f"The Org {docs[position]['name']!r} cannot be "
                                        f"created: {' '.join(p.message for p in problems)}"]
               for position, problems in outcome.refused_creates.items()}
    return {doc["name"]: doc["_id"] for doc in docs if doc["name"] not in refused}, refused


DISK_FULL = ("The disk is full, so the run stopped part-way: the records it had written "
             "stay; free some space and run it again, which writes only what still differs "
             "from the directory.")


def run(connector: t.Any, *, dry_run: bool = False, force: bool = False,
        scheduled: bool = False, expect: str | None = None,
        read: t.Callable[[t.Any], t.Any] | None = None, started_by: str | None = None,
        once_since: t.Any = None) -> SyncRun:
    """One run of `connector`, recorded. `expect` is the fingerprint of a reviewed plan:
    the load refuses when the plan it makes now differs. `once_since`: a scheduled run
    does nothing if one already started after that moment (two schedulers, one run).

    A run that finds the connector's lease taken is returned unsaved, status "failed"."""
    holder = uuid.uuid4().hex
    record = SyncRun(connector=connector.name, dry_run=dry_run, scheduled=scheduled,
                     forced=force, config_revision=int(connector.config_revision or 0),
                     started_by=started_by)
    if not runs.acquire(connector.name, holder):
        record.status, record.ended = "failed", now()
        record.reason = (f"Another run of the connector {connector.name!r} is in progress; "
                         f"this one did nothing.")
        return record
    try:
        if once_since is not None and runs.scheduled_since(connector.name, once_since):
            record.status, record.ended = "failed", now()
            record.reason = "The connector's scheduled run for today has already run."
            return record
        record.save()
        # Reading, planning and writing make about a million small objects, none in a
        # cycle: the cyclic collector's passes over them cost a third of a run.
        with collector.paused():
            return _run(record, connector, dry_run, force, scheduled, expect, read)
    except Exception as exc:  # a run must end recorded, whatever broke
        record.status, record.ended = "failed", now()
        if disk_full(exc):
            log.error("Directory sync of %s stopped: the disk is full (%s)", connector.name, exc)
            record.reason = DISK_FULL
        else:
            log.exception("Directory sync of %s failed", connector.name)
            record.reason = (f"The run stopped on an unexpected error: "
                             f"{type(exc).__name__}: {exc}")
        if record.pk:
            record.save()
        return record
    finally:
        runs.release(connector.name, holder)


def _run(record: SyncRun, connector: t.Any, dry_run: bool, force: bool, scheduled: bool,
         expect: str | None, read: t.Callable[[t.Any], t.Any] | None) -> SyncRun:
    if read is None:
        from .reader import read
    extract = read(connector)
    result = plan(connector, extract)
    actions = _describe(record, result)
    if scheduled and not dry_run and runs.config_moved(connector):
        dry_run = record.dry_run = True
        record.reason = ("The connector's base DN, filter or map changed since its last load "
                         "(or it never loaded): this scheduled run only previews. Review it "
                         "and press Load.")
    if dry_run:
        record.status = "preview"
        record.reason = record.reason or _preview_reason(result)
    elif result.failed:
        record.status = "failed"
        record.reason = (f"The directory was not read completely, so nothing was written "
                         f"and nobody was archived: {result.reason or 'no reason was given.'}")
    elif expect is not None and result.fingerprint() != expect:
        record.status = "failed"
        record.reason = ("The directory or the records changed since the preview: the plan "
                         "is no longer the one reviewed, so nothing was written. Review the "
                         "new preview.")
    elif result.held and not force:
        record.status = "held"
        record.reason = " ".join(g.verdict for g in result.guards
                                 if not g.passed and g.name in ("entries", "archive limit")) \
            + " Nothing was written."
    else:
        done = apply(result, Trace(records.trace.connector(connector.name),
                                   records.trace.SYNC, batch=str(record.pk)))
        if done != record.counts:  # the write path refused some: skips now, with reasons
            actions = _tally(record, result)
        record.status, record.applied = "complete", True
        record.reason = ("Applied with the guards overridden by an admin." if result.held
                         else None)
    record.ended = now()
    runs.save(record, actions)
    return record


def _describe(record: SyncRun, result: Plan) -> list[dict[str, t.Any]]:
    """Fill in what the run found; return its actions, stored apart (see `runs.save`)."""
    actions = _tally(record, result)
    record.guards = [{"name": g.name, "passed": g.passed, "verdict": g.verdict}
                     for g in result.guards]
    record.map_warnings = result.map_warnings
    record.orgs_to_create = result.orgs_to_create
    record.fingerprint = result.fingerprint()
    return actions


def _tally(record: SyncRun, result: Plan) -> list[dict[str, t.Any]]:
    """The run's counts and per-entry errors; its actions as stored."""
    record.counts = counts(result)
    record.errors = [f"{a.dn or a.key}: {' '.join(a.messages) or a.reason}"
                     for a in result.actions if a.kind in ("skip", "conflict")][:runs.MAX_ERRORS]
    return result.as_stored()


def _preview_reason(result: Plan) -> str:
    if result.failed:
        return (f"Preview of an incomplete read: a load would fail. "
                f"{result.reason or ''}").strip()
    if result.held:
        return "Preview: a load would be held for an admin's approval (see the guards)."
    return "Preview: nothing was written."
