"""The record write path: the only code that writes the record collections.

Every way in (the admin's form, the seed load, the directory sync, the portal, a type
change or choice rename, search-key upkeep, a revert, the API) creates, updates,
archives and restores records here. A write

- is checked against the record as it will be (the stored values plus the new ones) by
  the rulebook, naming each refused field by its current label;
- writes only the fields that changed, in one compare-and-set on the record's revision
  (atomic on every store: the embedded store runs each write in one SQLite transaction);
- when someone else wrote the record since it was read, reads it again and, if the
  fields overlap with what the caller saw (`seen`), refuses naming them, otherwise
  writes on top and keeps their change;
- stamps the revision, `updated_at` and the search keys, and carries its change set
  into history (`history.py`) in the same step.

A write that changes nothing writes nothing and records nothing.
"""

from __future__ import annotations

import random
import time
import typing as t
from dataclasses import dataclass, field

from bson import ObjectId

from .. import dictionary
from ..dictionary import conditional
from ..dictionary.rules import Invalid, rule
from ..models.kept import now
from ..models.records import Contact, Customer
from . import history, search_keys
from .history import LAST, same
from .trace import DICTIONARY, SYNC, Trace

MODELS: dict[str, t.Any] = {"customer": Customer, "contact": Contact}
# How often a write reads the record again after another writer moved it on, waiting a
# little longer (at random, so two writers do not meet again) each time: a record a load
# rewrites hundreds of times a second still takes a form's save within a few tries.
ATTEMPTS = 60
_LONGEST_WAIT = 0.05  # seconds


@dataclass(frozen=True)
class Problem:
    """One refused field: its name, its current label and the rulebook's message."""

    field: str
    label: str
    message: str
    code: str = "invalid"  # the rule broken (`rules.Invalid.code`)
    rule: str = ""  # the conditional rule that refused it, if one did


class Refused(Exception):
    """The rulebook refused the record as it would be; nothing was written."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(" ".join(p.message for p in problems))
        self.problems = problems


class Overlap(Exception):
    """Someone else changed fields this write also changes, since the caller read them;
    nothing was written. `current` is the record as stored now."""

    def __init__(self, fields: list[str], current: dict[str, t.Any]) -> None:
        super().__init__(", ".join(fields))
        self.fields = fields
        self.current = current


class Missing(Exception):
    """The record does not exist (or, when the caller asked, is archived)."""


@dataclass
class Written:
    """What a write did. `changed`: the fields it changed; `others`: the fields someone
    else had changed since the caller read the record, kept as they wrote them."""

    record: dict[str, t.Any]
    changed: list[str] = field(default_factory=list)
    change: dict[str, t.Any] | None = None
    others: list[str] = field(default_factory=list)

    @property
    def revision(self) -> int:
        return int(self.record.get("revision") or 0)


def model(entity: str) -> t.Any:
    return MODELS[entity]


def collection_of(entity: str) -> t.Any:
    return MODELS[entity]._get_collection()


# -- checking ---------------------------------------------------------------------------

def level_of(entity: str, values: t.Mapping[str, t.Any], snapshot: t.Any = None) -> str:
    snapshot = snapshot or dictionary.current()
    levels = snapshot.memo(("level names", entity),
                           lambda: tuple(lv.name for lv in snapshot.entity(entity).levels))
    level = values.get("level")
    return level if level in levels else levels[0]


def problems(entity: str, record: t.Mapping[str, t.Any], changed: t.Iterable[str],
             snapshot: t.Any = None, *, before: t.Mapping[str, t.Any] | None = None,
             way: str | None = None) -> list[Problem]:
    """What the rulebook and the conditional rules say of a record as it would be: each
    changed field's value; every field mandatory on its Level or by a rule in force
    (unless a rule hides it); every choice a rule narrows; and each changed field a rule
    makes read-only, in the record as it was (`before`; None: a new record, whose
    read-only fields may hold only their default) or as it would be. `way`: the way in
    (the directory sync may change what a rule lets it)."""
    snapshot = snapshot or dictionary.current()
    level = level_of(entity, record, snapshot)
    rules = _rules(snapshot, entity, level)
    state = conditional.evaluate(snapshot, entity, record, level)
    found: dict[str, Problem] = {}
    changed = list(changed)
    for name in changed:
        checking = rules.get(name)
        if checking is not None and not _empty(record.get(name)):
            _check(found, checking, record.get(name))
    for problem in _lacking(entity, record, snapshot, state):
        found.setdefault(problem.field, problem)
    for problem in _narrowed(snapshot, entity, record, state):
        found.setdefault(problem.field, problem)
    if state.read_only or (before is not None and _any_rules(snapshot, entity)):
        for problem in _locked(snapshot, entity, record, changed, before, state, way):
            found.setdefault(problem.field, problem)
    return list(found.values())


def lacking(entity: str, record: t.Mapping[str, t.Any], snapshot: t.Any = None
            ) -> list[Problem]:
    """The fields mandatory for the record (on its Level or by a rule in force, and not
    hidden by one) that it holds no value for (a new record is refused for these; so is
    an update that would leave one empty)."""
    snapshot = snapshot or dictionary.current()
    level = level_of(entity, record, snapshot)
    return _lacking(entity, record, snapshot,
                    conditional.evaluate(snapshot, entity, record, level))


def _empty(value: t.Any) -> bool:
    return value is None or value == "" or value == []


def _any_rules(snapshot: t.Any, entity: str) -> bool:
    return bool(conditional.evaluator.compiled(snapshot, entity).rules)


def _by_rule(snapshot: t.Any, entity: str, state: conditional.State, action: str,
             name: str) -> tuple[str, str]:
    """The first rule that caused `action` on `name`, and its condition in words."""
    rule_name = state.why.get((action, name), ("",))[0]
    for held in state.holding:
        if held.name == rule_name:
            fields = conditional.evaluator.compiled(snapshot, entity).fields
            return rule_name, conditional.words(held.when, fields)
    return "", ""


def _lacking(entity: str, record: t.Mapping[str, t.Any], snapshot: t.Any,
             state: conditional.State) -> list[Problem]:
    definitions_ = definitions(entity, snapshot)
    found = []
    for name in sorted(state.mandatory):
        if not _empty(record.get(name)) or name not in definitions_:
            continue
        label = definitions_[name].label
        rule_name, why = _by_rule(snapshot, entity, state, "mandatory", name)
        level = level_of(entity, record, snapshot)
        if rule_name and not definitions_[name].is_mandatory(level):
            found.append(Problem(name, label, f"{label} is mandatory when {why} (rule "
                                              f"{rule_name}).", "mandatory", rule_name))
        else:
            found.append(Problem(name, label, f"{label} is mandatory.", "mandatory"))
    return found


def _narrowed(snapshot: t.Any, entity: str, record: t.Mapping[str, t.Any],
              state: conditional.State) -> list[Problem]:
    found = []
    for name, allowed in sorted(state.choices.items()):
        value = record.get(name)
        if _empty(value):
            continue
        values = value if isinstance(value, list) else [value]
        if all(v in allowed for v in values):
            continue
        label = definitions(entity, snapshot)[name].label
        rule_name, why = _by_rule(snapshot, entity, state, "choices", name)
        offered = ", ".join(allowed) if allowed else "none"
        found.append(Problem(name, label, f"{label} can only be {offered} when {why} (rule "
                                          f"{rule_name}).", "not_a_choice", rule_name))
    return found


def _locked(snapshot: t.Any, entity: str, record: t.Mapping[str, t.Any],
            changed: list[str], before: t.Mapping[str, t.Any] | None,
            state: conditional.State, way: str | None) -> list[Problem]:
    """The changed fields a rule locks, as the record was or as it would be."""
    by_sync = way == SYNC
    states = [state]
    if before is not None:
        states.append(conditional.evaluate(snapshot, entity, before,
                                           level_of(entity, before, snapshot)))
    definitions_ = definitions(entity, snapshot)
    found = []
    for name in changed:
        holding = next((s for s in states if s.locked(name, by_sync=by_sync)), None)
        if holding is None or name not in definitions_:
            continue
        was = before.get(name) if before is not None else definitions_[name].default
        if same(was, record.get(name)):
            continue
        label = definitions_[name].label
        rule_name, why = _by_rule(snapshot, entity, holding, "read_only", name)
        found.append(Problem(name, label, f"{label} is read-only when {why} (rule "
                                          f"{rule_name}); it was not changed.", "read_only",
                             rule_name))
    return found


def _rules(snapshot: t.Any, entity: str, level: str) -> dict[str, t.Any]:
    """The rule of every live field on a Level (asked for every record of a load: kept
    for the dictionary version)."""
    return snapshot.memo(("record rules", entity, level),
                         lambda: {f.name: rule(snapshot, entity, f.name, level)
                                  for f in snapshot.live_fields(entity)})


def _check(found: dict[str, Problem], checking: t.Any, value: t.Any) -> None:
    try:
        checking.check(value)
    except Invalid as exc:
        found[checking.field.name] = Problem(checking.field.name, checking.label, str(exc),
                                             exc.code)


def definitions(entity: str, snapshot: t.Any) -> dict[str, t.Any]:
    return snapshot.fields.get(entity, {})


# -- one record ---------------------------------------------------------------------------

def create(entity: str, values: t.Mapping[str, t.Any], trace: Trace, *,
           check: bool = True) -> Written:
    """A new record of `entity` holding `values` (stored form; None: no value)."""
    snapshot = dictionary.current()
    document, change = new_document(entity, values, trace, snapshot, check=check)
    collection_of(entity).insert_one(document)
    history.log([change])
    return Written(document, [line["name"] for line in change["fields"]], change)


def new_document(entity: str, values: t.Mapping[str, t.Any], trace: Trace, snapshot: t.Any,
                  *, check: bool, moment: t.Any = None) -> tuple[dict[str, t.Any], dict]:
    moment = moment or now()
    document = {"_id": values.get("_id") or ObjectId(), "archived": False,
                **{k: v for k, v in values.items() if v is not None and k != "_id"}}
    if entity == "customer":
        document.setdefault("level", level_of(entity, document, snapshot))
    if check and trace.way != DICTIONARY:
        found = problems(entity, document, document, snapshot, way=trace.way)
        if found:
            raise Refused(found)
    document.update(revision=1, updated_at=moment,
                    search_keys=search_keys.keys_for(entity, document))
    change = history.entry(entity, document["_id"], 1, trace, snapshot.version,
                           history.field_changes(definitions(entity, snapshot), {}, document,
                                                 document, created=True),
                           created=True, moment=moment)
    document[LAST] = history.carried(change)
    return document, change


def update(entity: str, record_id: t.Any, changes: t.Mapping[str, t.Any], trace: Trace, *,
           seen: t.Mapping[str, t.Any] | None = None, revision: int | None = None,
           unless_archived: bool = False, check: bool = True, exact: bool = False,
           snapshot: t.Any = None) -> Written:
    """Set `changes` (stored form; None removes the value) on one record.

    - `revision`: write only if the record is still at that revision (else Overlap
      naming every field it changes that moved);
    - `seen`: the values the caller read for the fields it changes; a field someone else
      changed since then refuses the write (Overlap), any other change of theirs is kept;
    - neither: a per-field merge, as the seed load and the directory sync write.

    `exact`: a value of another type is a change even when it is the same value (a type
    change stores 5 as 5.0); such a change moves the record but records no history line.
    `snapshot`: the dictionary the write is made under (default: this request's); a type
    change passes the one it moves to, which knows a `<name>_old` it has just created.
    """
    collection = collection_of(entity)
    snapshot = snapshot or dictionary.current()
    oid = record_id if isinstance(record_id, ObjectId) else ObjectId(str(record_id))
    for attempt in range(ATTEMPTS):
        if attempt > 1:
            time.sleep(random.uniform(0, min(_LONGEST_WAIT, 0.001 * 2 ** attempt)))  # noqa: S311
        current = collection.find_one({"_id": oid})
        if current is None or (unless_archived and current.get("archived") is True):
            raise Missing(str(oid))
        at = int(current.get("revision") or 0)
        if revision is not None and at != revision and seen is None:
            moved = [n for n in changes if not same(current.get(n), changes[n])]
            raise Overlap(moved, current)
        if seen is not None and (theirs := overlapping(current, changes, seen)):
            raise Overlap(theirs, current)
        planned = plan(entity, current, changes, trace, snapshot, check=check, exact=exact)
        if planned is None:
            return Written(current)
        history.catch_up([current])  # a change set a killed writer left unlogged
        if collection.update_one(*planned.write()).matched_count:
            if planned.change is not None:
                history.log([planned.change])
            stored = {**planned.after, "revision": at + 1}
            others = _others(seen, revision, at, current, changes)
            return Written(stored, sorted(planned.diff), planned.change, others)
    raise Overlap(sorted(changes), collection.find_one({"_id": oid}) or {})


@dataclass(frozen=True)
class Planned:
    """One record's write, worked out from the record as read: the values that change,
    the record as it will be, its change set (None: no dictionary field moved)."""

    entity: str
    stored: dict[str, t.Any]
    diff: dict[str, t.Any]
    after: dict[str, t.Any]
    change: dict[str, t.Any] | None

    @property
    def at(self) -> int:
        return int(self.stored.get("revision") or 0)

    def write(self) -> tuple[dict[str, t.Any], dict[str, t.Any]]:
        """The compare-and-set: (filter, update) for `update_one`."""
        return (at_revision(self.stored["_id"], self.at),
                update_of(self.entity, self.diff, self.after, self.change))


def plan(entity: str, stored: dict[str, t.Any], changes: t.Mapping[str, t.Any], trace: Trace,
         snapshot: t.Any, *, check: bool = True, exact: bool = False,
         moment: t.Any = None) -> Planned | None:
    """What setting `changes` on the record as read would write (None: nothing changes),
    checked by the rulebook on the record as it will be (Refused). The one place that
    decides a write, for `update` and for batches."""
    diff = differing(stored, changes, exact=exact)
    if not diff:
        return None
    after = {k: v for k, v in {**stored, **diff}.items() if v is not None}
    if check and trace.way != DICTIONARY:
        found = problems(entity, after, diff, snapshot, before=stored, way=trace.way)
        if found:
            raise Refused(found)
    at = int(stored.get("revision") or 0)
    lines = history.field_changes(definitions(entity, snapshot), stored, after, diff)
    change = history.entry(entity, stored["_id"], at + 1, trace, snapshot.version, lines,
                           moment=moment) if lines else None
    return Planned(entity, stored, diff, after, change)


def overlapping(current: t.Mapping[str, t.Any], changes: t.Mapping[str, t.Any],
                seen: t.Mapping[str, t.Any]) -> list[str]:
    """The fields of `changes` someone else changed since the caller read `seen` (to
    anything but what this write sets)."""
    return [n for n in changes if n in seen and not same(current.get(n), seen[n])
            and not same(current.get(n), changes[n])]


def differing(current: t.Mapping[str, t.Any], changes: t.Mapping[str, t.Any], *,
              exact: bool = False) -> dict[str, t.Any]:
    """The changes that change a stored value (`exact`: or its type, 5 to 5.0)."""
    if exact:
        return {n: v for n, v in changes.items()
                if type(current.get(n)) is not type(v) or current.get(n) != v}
    return {n: v for n, v in changes.items() if not same(current.get(n), v)}


def _others(seen: t.Mapping[str, t.Any] | None, revision: int | None, at: int,
            current: t.Mapping[str, t.Any], changes: t.Mapping[str, t.Any]) -> list[str]:
    """Fields someone else changed since the caller read the record (kept as theirs)."""
    if seen is None or revision is None or revision == at:
        return []
    return sorted(n for n in seen if n not in changes and not same(current.get(n), seen[n]))


def at_revision(oid: ObjectId, revision: int) -> dict[str, t.Any]:
    """The record, only while still at `revision` (none stored: 0)."""
    return {"_id": oid, "revision": {"$in": [None, 0]} if revision == 0 else revision}


def update_of(entity: str, diff: t.Mapping[str, t.Any], after: t.Mapping[str, t.Any],
               change: dict[str, t.Any] | None) -> dict[str, t.Any]:
    sets = {n: v for n, v in diff.items() if v is not None}
    sets.update(updated_at=now(), search_keys=search_keys.keys_for(entity, after))
    if change is not None:
        sets[LAST] = history.carried(change)
    update: dict[str, t.Any] = {"$inc": {"revision": 1}, "$set": sets}
    if unsets := {n: "" for n, v in diff.items() if v is None}:
        update["$unset"] = unsets
    return update


def archive(entity: str, record_id: t.Any, trace: Trace) -> Written:
    return update(entity, record_id, {"archived": True}, trace, check=False)


def restore(entity: str, record_id: t.Any, trace: Trace) -> Written:
    return update(entity, record_id, {"archived": False}, trace)


# -- upkeep -------------------------------------------------------------------------------
# (Search keys alone are rewritten by `rekeying.py`.)

def fill_archive_flags(entity: str) -> int:
    """Give records of an older store the boolean Archive flag the lists ask for."""
    return int(collection_of(entity).update_many(
        {"archived": {"$exists": False}}, {"$set": {"archived": False}}).modified_count)
