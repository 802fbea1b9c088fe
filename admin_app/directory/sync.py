"""A run: read the directory, plan, stop there for a preview, check the guards, apply.

`apply(plan)` writes the plan and nothing else, so a preview's plan is what its load
does. Writes go straight to the collection like the importer's: `$set` of the mapped
fields only (what agents typed elsewhere survives) and `$inc` of `revision`, so a form
opened before the run refuses to overwrite it. Nothing is ever deleted: a person who
left is archived, and restored if they come back.
"""

from __future__ import annotations

import logging
import typing as t
import uuid

from bson import ObjectId

from .. import collector
from ..models import search, upkeep
from ..models.kept import now
from . import runs
from .plan import BECOMES, Plan, plan
from .runs import SyncRun

log = logging.getLogger(__name__)

_COUNT_OF = {"create": "created", "update": "updated", "unchanged": "unchanged",
             "archive": "archived", "restore": "restored", "conflict": "conflicts",
             "skip": "skipped"}


def counts(result: Plan) -> dict[str, int]:
    return {_COUNT_OF[k]: n for k, n in result.counts().items()}


def apply(result: Plan) -> dict[str, int]:
    """Write exactly `result`: Orgs to create first, then each record's action."""
    target = BECOMES[result.becomes]
    collection = target.collection()
    moment = now()
    org_ids = _create_orgs(result.orgs_to_create, moment)
    mark = {"connector": result.connector}
    creates = []
    for action in result.actions:
        values = dict(action.values)
        if action.org_name:
            values[target.org_field] = org_ids[action.org_name]
        if action.kind == "create":
            creates.append({"_id": ObjectId(), "level": target.level, **values,
                            "archived": False, "updated_at": moment, "revision": 1,
                            "directory": {**mark, "key": action.key}})
        elif action.kind == "update":
            if action.link:
                values["directory"] = {**mark, "key": action.key}
            _update(collection, action.record, values, moment)
        elif action.kind == "archive":
            _update(collection, action.record,
                    {"archived": True, "directory.archived": True}, moment)
        elif action.kind == "restore":
            _update(collection, action.record,
                    {**values, "archived": False, "directory.archived": False}, moment)
    if creates:
        for doc in creates:
            doc["search_keys"] = search.keys_for(target.entity, doc)
        collection.insert_many(creates, ordered=False)
    # The `$set`s above changed some records' values: their search keys follow.
    upkeep.refresh(collection, target.entity,
                   [ObjectId(a.record) for a in result.actions
                    if a.kind in ("update", "restore") and a.record])
    return counts(result)


def _update(collection: t.Any, record: str | None, values: dict[str, t.Any],
            moment: t.Any) -> None:
    collection.update_one({"_id": ObjectId(record)},
                          {"$set": {**values, "updated_at": moment}, "$inc": {"revision": 1}})


def _create_orgs(names: list[str], moment: t.Any) -> dict[str, ObjectId]:
    from ..models import Customer

    if not names:
        return {}
    docs = [{"_id": ObjectId(), "level": "Org", "name": name, "archived": False,
             "updated_at": moment, "revision": 1,
             "search_keys": search.keys_for("customer", {"name": name})} for name in names]
    Customer._get_collection().insert_many(docs, ordered=False)
    return {doc["name"]: doc["_id"] for doc in docs}


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
        log.exception("Directory sync of %s failed", connector.name)
        record.status, record.ended = "failed", now()
        record.reason = f"The run stopped on an unexpected error: {type(exc).__name__}: {exc}"
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
        apply(result)
        record.status, record.applied = "complete", True
        record.reason = ("Applied with the guards overridden by an admin." if result.held
                         else None)
    record.ended = now()
    runs.save(record, actions)
    return record


def _describe(record: SyncRun, result: Plan) -> list[dict[str, t.Any]]:
    """Fill in what the run found; return its actions, stored apart (see `runs.save`)."""
    record.counts = counts(result)
    record.errors = [f"{a.dn or a.key}: {' '.join(a.messages) or a.reason}"
                     for a in result.actions if a.kind in ("skip", "conflict")][:runs.MAX_ERRORS]
    record.guards = [{"name": g.name, "passed": g.passed, "verdict": g.verdict}
                     for g in result.guards]
    record.map_warnings = result.map_warnings
    record.orgs_to_create = result.orgs_to_create
    record.fingerprint = result.fingerprint()
    return result.as_stored()


def _preview_reason(result: Plan) -> str:
    if result.failed:
        return (f"Preview of an incomplete read: a load would fail. "
                f"{result.reason or ''}").strip()
    if result.held:
        return "Preview: a load would be held for an admin's approval (see the guards)."
    return "Preview: nothing was written."
