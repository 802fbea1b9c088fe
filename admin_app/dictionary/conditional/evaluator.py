"""The one authority on conditional rules: for a record's values, which fields are
shown, mandatory, read-only, and which choices they offer.

The record write path asks it for every way in (form, seed load, directory sync,
portal, API), the forms ask it to lay out a record's page, and the browser runs a
translation of this module (`static/conditions.js`) over the same rule documents; one
table of cases (`tests/rule_cases.json`) holds both to the same answers.

How rules and the Level's flags combine (the most restrictive wins):
- a field named by a rule's `show` is hidden unless one such rule holds; a field named
  by a holding rule's `hide` is hidden whatever shows it;
- a field is mandatory when its Level makes it so or a holding rule does, unless it is
  hidden: a hidden field is never mandatory, and hiding keeps the stored value;
- a field is read-only when a holding rule makes it so; the directory sync may still
  change it if every such rule says `except_directory_sync`;
- a field's choices are those of every holding rule that narrows it (the intersection),
  in the dictionary's order.

Values are compared as JSON gives them (`FieldType.to_json`): dates as YYYY-MM-DD, a
reference as its id; empty is no value, "" or []; an unticked box is false, never empty.
`equals` on a multiple choice means "includes", `one_of` "includes any of".
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

from .shape import Combination, Comparison, Condition, ConditionalRule

if t.TYPE_CHECKING:
    from ..snapshot import Snapshot


SEEN_STATES = 10_000  # states kept per entity and dictionary version


@dataclass(frozen=True)
class State:
    """What the rules in force make of one record's fields. `why` names, for each
    (action, field), the holding rules that caused it."""

    hidden: frozenset[str] = frozenset()
    mandatory: frozenset[str] = frozenset()
    read_only: frozenset[str] = frozenset()
    # The read-only fields the directory sync may still change.
    sync_may_change: frozenset[str] = frozenset()
    choices: dict[str, tuple[str, ...]] = field(default_factory=dict)
    holding: tuple[ConditionalRule, ...] = ()
    why: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)

    def locked(self, name: str, *, by_sync: bool = False) -> bool:
        return name in self.read_only and not (by_sync and name in self.sync_may_change)

    def document(self) -> dict[str, t.Any]:
        """The state as the case table and the browser's evaluator write it."""
        return {"hidden": sorted(self.hidden), "mandatory": sorted(self.mandatory),
                "read_only": sorted(self.read_only),
                "choices": {n: list(v) for n, v in sorted(self.choices.items())}}


@dataclass(frozen=True)
class Compiled:
    """An entity's live rules under one dictionary version, with what evaluating needs."""

    rules: tuple[ConditionalRule, ...]
    read: tuple[str, ...]  # the fields any condition reads
    fields: dict[str, t.Any]  # name → snapshot Field, live fields only
    level_mandatory: dict[str, frozenset[str]]  # Level → the fields it makes mandatory
    shown_by: frozenset[str]  # fields some rule shows (hidden unless one holds)


def compiled(snapshot: Snapshot, entity: str) -> Compiled:
    def build() -> Compiled:
        rules = tuple(r for r in snapshot.conditional_rules.get(entity, ()) if not r.retired)
        fields = {f.name: f for f in snapshot.live_fields(entity)}
        levels = [lv.name for lv in snapshot.entity(entity).levels] \
            if entity in snapshot.entities else []
        return Compiled(
            rules, tuple(sorted(set().union(*(r.reads() for r in rules)))), fields,
            {lv: frozenset(n for n, f in fields.items()
                           if f.is_mandatory(lv) and not f.kind.always_set) for lv in levels},
            frozenset(n for r in rules for n in r.then.show))
    return snapshot.memo(("conditional rules", entity), build)


def comparable(definition: t.Any, value: t.Any) -> t.Any:
    """A stored value as rules compare it (None: empty)."""
    if definition is not None and definition.kind.always_set:
        return bool(value)
    if value is None or value == "" or value == []:
        return None
    return definition.kind.to_json(definition, value) if definition is not None else value


def values_of(rules: Compiled, record: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    return {n: comparable(rules.fields.get(n), record.get(n)) for n in rules.read}


def holds(condition: Condition, values: t.Mapping[str, t.Any]) -> bool:
    if isinstance(condition, Combination):
        if condition.op == "all":
            return all(holds(p, values) for p in condition.parts)
        if condition.op == "any":
            return any(holds(p, values) for p in condition.parts)
        return not holds(condition.parts[0], values)
    return compare(condition, values.get(condition.field))


def compare(comparison: Comparison, value: t.Any) -> bool:
    op, wanted = comparison.op, comparison.value
    if op == "empty":
        return (value is None) is wanted
    if value is None:
        return False
    if op == "equals":
        return wanted in value if isinstance(value, list) else _same(value, wanted)
    if op == "one_of":
        if isinstance(value, list):
            return any(item in wanted for item in value)
        return any(_same(value, w) for w in wanted)
    if not isinstance(value, str) or not isinstance(wanted, str):
        return False
    return value < wanted if op == "before" else value > wanted


def _same(value: t.Any, wanted: t.Any) -> bool:
    """Equal as JSON values: true is not 1, 1 is 1.0."""
    return isinstance(value, bool) is isinstance(wanted, bool) and value == wanted


def evaluate(snapshot: Snapshot, entity: str, record: t.Mapping[str, t.Any],
             level: str) -> State:
    """The state of a record's fields under the Level's flags and the rules in force."""
    rules = compiled(snapshot, entity)
    base = rules.level_mandatory.get(level, frozenset())
    if not rules.rules:
        return State(mandatory=base)
    values = values_of(rules, {**record, "level": level} if "level" in rules.fields
                       else record)
    # Records of a load share their values (a department, a Level), and a seed load asks
    # twice per record (its up-front check, then the write path): the state of values
    # already seen is looked up. Bounded, and kept with the dictionary version.
    seen = snapshot.memo(("conditional states", entity), dict)
    key = (level, *(tuple(v) if isinstance(v, list) else v for v in values.values()))
    state = seen.get(key)
    if state is None:
        if len(seen) >= SEEN_STATES:
            seen.clear()
        state = seen[key] = _state(rules, base, values)
    return state


def _state(rules: Compiled, base: frozenset[str], values: dict[str, t.Any]) -> State:
    holding = tuple(r for r in rules.rules if holds(r.when, values))
    why: dict[tuple[str, str], list[str]] = {}
    for r in holding:
        for action in ("show", "hide", "mandatory", "read_only"):
            for name in getattr(r.then, action):
                why.setdefault((action, name), []).append(r.name)
        for name, _ in r.then.choices:
            why.setdefault(("choices", name), []).append(r.name)
    hidden = {n for n in rules.shown_by if ("show", n) not in why}
    hidden |= {n for (action, n) in why if action == "hide"}
    hidden &= set(rules.fields)
    mandatory = (base | {n for (a, n) in why if a == "mandatory"
                         and not rules.fields[n].kind.always_set}) - hidden
    read_only = {n for (a, n) in why if a == "read_only"}
    exempt = {n for n in read_only
              if all(r.except_directory_sync for r in holding if n in r.then.read_only)}
    choices: dict[str, tuple[str, ...]] = {}
    for r in holding:
        for name, allowed in r.then.choices:
            if name in rules.fields:
                current = choices.get(name, rules.fields[name].choices)
                choices[name] = tuple(c for c in current if c in allowed)
    return State(frozenset(hidden), frozenset(mandatory & set(rules.fields)),
                 frozenset(read_only), frozenset(exempt), choices, holding,
                 {k: tuple(v) for k, v in why.items()})


def explain(snapshot: Snapshot, entity: str, record: t.Mapping[str, t.Any],
            level: str) -> list[tuple[ConditionalRule, bool, str]]:
    """Every live rule of the entity: whether it holds for the record, and its
    condition in words with the fields' current labels."""
    rules = compiled(snapshot, entity)
    values = values_of(rules, {**record, "level": level} if "level" in rules.fields
                       else record)
    return [(r, holds(r.when, values), words(r.when, rules.fields)) for r in rules.rules]


def words(condition: Condition, fields: t.Mapping[str, t.Any]) -> str:
    """A condition as a sentence's clause: "Department is Finance and Level is not Org"."""
    if isinstance(condition, Combination):
        if condition.op == "not":
            inner = condition.parts[0]
            if isinstance(inner, Comparison) and inner.op in ("equals", "one_of", "empty"):
                return _comparison_words(inner, fields, negated=True)
            return f"not ({words(inner, fields)})"
        joined = f" {'and' if condition.op == 'all' else 'or'} ".join(
            f"({words(p, fields)})" if isinstance(p, Combination) and p.op != "not"
            and len(p.parts) > 1 else words(p, fields) for p in condition.parts)
        return joined
    return _comparison_words(condition, fields)


def _comparison_words(c: Comparison, fields: t.Mapping[str, t.Any], negated: bool = False
                      ) -> str:
    label = fields[c.field].label if c.field in fields else c.field
    is_ = "is not" if negated else "is"
    if c.op == "empty":
        empty = c.value is not negated
        return f"{label} is {'empty' if empty else 'not empty'}"
    if c.op == "equals":
        return f"{label} {is_} {_shown(c.value)}"
    if c.op == "one_of":
        return f"{label} {is_} one of {', '.join(_shown(v) for v in c.value)}"
    return f"{label} is {c.op} {_shown(c.value)}"


def _shown(value: t.Any) -> str:
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return str(value)
