"""What a conditional rule is: its document (as stored and as filed) read into a tree.

A rule says: when a condition holds on a record's values, then act on some of its
fields. The document (`to_document` / `from_document`) is what the dictionary stores,
the dictionary file carries and the browser receives:

    {"name": "finance-needs-cost-centre", "entity": "customer",
     "when": {"all": [{"field": "department", "equals": "Finance"},
                      {"not": {"field": "level", "equals": "Org"}}]},
     "then": {"show": ["cost_centre"], "mandatory": ["cost_centre"]}}

Conditions are `all` / `any` (lists) and `not` over comparisons of one field:
`equals`, `one_of` (a list), `empty` (true/false), `before` / `after` (dates). Actions
are `show`, `hide`, `mandatory`, `read_only` (lists of field names) and `choices`
(field → allowed values); `except_directory_sync` lets the directory sync change the
fields the rule makes read-only. Reading a document only checks its shape; whether its
fields and values fit the dictionary is `checks.py`'s.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

COMBINATORS = ("all", "any", "not")
COMPARISONS = ("equals", "one_of", "empty", "before", "after")
LIST_ACTIONS = ("show", "hide", "mandatory", "read_only")
ACTIONS = (*LIST_ACTIONS, "choices")
KEYS = ("name", "entity", "description", "when", "then", "except_directory_sync", "retired")


class ShapeError(ValueError):
    """A rule document that is not a rule; the message says where and why."""


@dataclass(frozen=True)
class Comparison:
    field: str
    op: str  # one of COMPARISONS
    value: t.Any

    def fields(self) -> set[str]:
        return {self.field}

    def document(self) -> dict[str, t.Any]:
        return {"field": self.field, self.op: self.value}


@dataclass(frozen=True)
class Combination:
    op: str  # "all", "any" or "not" (one part)
    parts: tuple[Condition, ...]

    def fields(self) -> set[str]:
        return set().union(*(p.fields() for p in self.parts))

    def document(self) -> dict[str, t.Any]:
        if self.op == "not":
            return {"not": self.parts[0].document()}
        return {self.op: [p.document() for p in self.parts]}


Condition = Comparison | Combination


@dataclass(frozen=True)
class Actions:
    show: tuple[str, ...] = ()
    hide: tuple[str, ...] = ()
    mandatory: tuple[str, ...] = ()
    read_only: tuple[str, ...] = ()
    choices: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def fields(self) -> set[str]:
        named = {n for action in LIST_ACTIONS for n in getattr(self, action)}
        return named | {n for n, _ in self.choices}

    def document(self) -> dict[str, t.Any]:
        data: dict[str, t.Any] = {a: list(getattr(self, a)) for a in LIST_ACTIONS
                                  if getattr(self, a)}
        if self.choices:
            data["choices"] = {n: list(values) for n, values in self.choices}
        return data


@dataclass(frozen=True)
class ConditionalRule:
    name: str
    entity: str
    when: Condition
    then: Actions
    description: str = ""
    except_directory_sync: bool = False
    retired: bool = False
    # The stored definition's revision (0: not stored), for a compare-and-set.
    revision: int = field(default=0, compare=False)

    def reads(self) -> set[str]:
        return self.when.fields()

    def touches(self) -> set[str]:
        return self.then.fields()

    def document(self) -> dict[str, t.Any]:
        return document(self.name, self.entity, self.when.document(), self.then.document(),
                        self.description, self.except_directory_sync, self.retired)


def document(name: str, entity: str, when: dict[str, t.Any], then: dict[str, t.Any],
             description: str = "", except_directory_sync: bool = False,
             retired: bool = False) -> dict[str, t.Any]:
    """A rule's document, with the optional keys only when they say something."""
    data: dict[str, t.Any] = {"name": name, "entity": entity, "when": when, "then": then}
    if description:
        data["description"] = description
    if except_directory_sync:
        data["except_directory_sync"] = True
    if retired:
        data["retired"] = True
    return data


def from_document(data: t.Any, revision: int = 0) -> ConditionalRule:
    """The rule a document describes (ShapeError naming the part that is wrong)."""
    if not isinstance(data, dict):
        raise ShapeError("A rule must be an object with a name, an entity, when and then.")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ShapeError("A rule needs a name, as text.")
    name = name.strip()
    unknown = sorted(set(data) - set(KEYS))
    if unknown:
        raise ShapeError(f"Rule {name}: these cannot be set on a rule: {', '.join(unknown)}.")
    entity = data.get("entity")
    if not isinstance(entity, str) or not entity:
        raise ShapeError(f"Rule {name} needs an entity, as text.")
    description = data.get("description") or ""
    if not isinstance(description, str):
        raise ShapeError(f"Rule {name}: its description must be text.")
    for flag in ("except_directory_sync", "retired"):
        if not isinstance(data.get(flag, False), bool):
            raise ShapeError(f"Rule {name}: {flag} must be true or false.")
    if "when" not in data:
        raise ShapeError(f"Rule {name} needs a condition (when).")
    return ConditionalRule(name, entity, condition(data["when"], name), actions(data.get("then"),
                                                                               name),
                           description.strip(), bool(data.get("except_directory_sync")),
                           bool(data.get("retired")), revision)


def condition(data: t.Any, rule: str, depth: int = 0) -> Condition:
    """A condition tree; deeper than 20 levels is refused (no person writes that)."""
    if depth > 20:
        raise ShapeError(f"Rule {rule}: its condition is nested more than 20 deep.")
    if not isinstance(data, dict) or not data:
        raise ShapeError(f"Rule {rule}: a condition must be an object such as "
                         f'{{"field": "department", "equals": "Finance"}} or {{"all": [...]}}.')
    combinators = [k for k in COMBINATORS if k in data]
    if combinators:
        op = combinators[0]
        if len(data) != 1:
            raise ShapeError(f"Rule {rule}: a condition with {op} must hold nothing else; "
                             f"put the other tests inside it.")
        if op == "not":
            return Combination("not", (condition(data["not"], rule, depth + 1),))
        parts = data[op]
        if not isinstance(parts, list) or not parts:
            raise ShapeError(f"Rule {rule}: {op} must be a list of one or more conditions.")
        return Combination(op, tuple(condition(p, rule, depth + 1) for p in parts))
    field_name = data.get("field")
    if not isinstance(field_name, str) or not field_name:
        raise ShapeError(f"Rule {rule}: a comparison needs a field, as text, and one of "
                         f"{', '.join(COMPARISONS)}; combine them with all, any or not.")
    ops = [k for k in data if k != "field"]
    if len(ops) != 1 or ops[0] not in COMPARISONS:
        raise ShapeError(f"Rule {rule}: the comparison of {field_name} must use exactly one "
                         f"of {', '.join(COMPARISONS)}.")
    op, value = ops[0], data[ops[0]]
    if op == "one_of" and (not isinstance(value, list) or not value):
        raise ShapeError(f"Rule {rule}: one_of for {field_name} must be a list of values.")
    if op == "empty" and not isinstance(value, bool):
        raise ShapeError(f"Rule {rule}: empty for {field_name} must be true or false.")
    return Comparison(field_name, op, value)


def actions(data: t.Any, rule: str) -> Actions:
    if not isinstance(data, dict) or not data:
        raise ShapeError(f"Rule {rule} needs actions (then): show, hide, mandatory, read_only "
                         f"or choices.")
    unknown = sorted(set(data) - set(ACTIONS))
    if unknown:
        raise ShapeError(f"Rule {rule}: {', '.join(unknown)} is not an action; the actions "
                         f"are {', '.join(ACTIONS)}.")
    lists = {}
    for action in LIST_ACTIONS:
        names = data.get(action, [])
        if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
            raise ShapeError(f"Rule {rule}: {action} must be a list of field names.")
        lists[action] = tuple(dict.fromkeys(names))
    choices = data.get("choices", {})
    if not isinstance(choices, dict) or not all(
            isinstance(values, list) and values and all(isinstance(v, str) for v in values)
            for values in choices.values()):
        raise ShapeError(f"Rule {rule}: choices must map each field name to a list of the "
                         f"values it may take.")
    if not any(lists.values()) and not choices:
        raise ShapeError(f"Rule {rule} needs at least one field to act on.")
    return Actions(**lists, choices=tuple((n, tuple(dict.fromkeys(v)))
                                          for n, v in sorted(choices.items())))
