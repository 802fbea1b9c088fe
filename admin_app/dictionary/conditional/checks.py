"""Whether a conditional rule fits the dictionary, checked when it is saved.

A rule is refused, with a sentence naming it, when a field it names is not a live field
of its entity, an action does not fit a field's type (a tick box cannot be mandatory: it
always has a value; only a field with choices can be narrowed), a value does not fit its
field, or it closes a circle of rules (one rule's condition reads a field another rule
acts on, round to the first; rules in a circle could hide each other's fields for
ever). A rule may lock the field its own condition reads ("once Closed, read-only") but
not show, hide, require or narrow it.

`fitted` also writes each compared value as the field's JSON gives it ("2026-1-2" is
refused, " Finance" becomes "Finance"), so that the browser and the server compare
like with like.
"""

from __future__ import annotations

import typing as t
from dataclasses import replace

from bson import ObjectId

from ..types import Invalid, of
from .shape import Actions, Combination, Condition, ConditionalRule

# The system field that switches a record's layout: a form must always show it.
LEVEL = "level"


class RuleRefused(ValueError):
    """A rule the dictionary cannot hold; the message names the rule and says why."""


def fitted(rule: ConditionalRule, fields: t.Mapping[str, t.Any],
           others: t.Iterable[ConditionalRule] = ()) -> ConditionalRule:
    """`rule` with its values as the fields store them, or RuleRefused. `fields`: the
    entity's field definitions by name (as they will be); `others`: the entity's other
    rules, for the circle check. A retired rule is not in force, so it is not fitted."""
    if rule.retired:
        return rule
    live = {n: f for n, f in fields.items() if not f.retired}
    when = _condition(rule, rule.when, live)
    then = _actions(rule, rule.then, live)
    fitted_rule = replace(rule, when=when, then=then)
    _no_circle(fitted_rule, [o for o in others if not o.retired and o.name != rule.name], live)
    return fitted_rule


def _refuse(rule: ConditionalRule, why: str) -> RuleRefused:
    return RuleRefused(f"Rule {rule.name}: {why}")


def _field(rule: ConditionalRule, name: str, live: t.Mapping[str, t.Any]) -> t.Any:
    if name not in live:
        known = ", ".join(sorted(live))
        raise _refuse(rule, f"{rule.entity} has no field {name!r} (its fields are {known}).")
    return live[name]


def _condition(rule: ConditionalRule, condition: Condition,
               live: t.Mapping[str, t.Any]) -> Condition:
    if isinstance(condition, Combination):
        return Combination(condition.op,
                           tuple(_condition(rule, p, live) for p in condition.parts))
    definition = _field(rule, condition.field, live)
    kind, op = of(definition.type), condition.op
    if op == "empty":
        if kind.always_set:
            raise _refuse(rule, f"{definition.label} is a tick box: it is never empty; test "
                                f"whether it equals true or false.")
        return condition
    if op in ("before", "after") and not kind.in_time:
        raise _refuse(rule, f"{op} compares dates, and {definition.label} is a "
                            f"{definition.type} field.")
    if op == "one_of":
        return replace(condition, value=[_value(rule, definition, v) for v in condition.value])
    return replace(condition, value=_value(rule, definition, condition.value))


def _value(rule: ConditionalRule, definition: t.Any, value: t.Any) -> t.Any:
    """One compared value as the field's JSON gives it (a multiple choice's value is one
    of its choices)."""
    kind = of(definition.type)
    if value is None or value == "":
        raise _refuse(rule, f"give a value to compare {definition.label} with, or test "
                            f"whether it is empty.")
    try:
        if kind.has_choices:
            if not isinstance(value, str):
                raise Invalid("compare it with one of its choices at a time; for several, "
                              "use one_of with a list of choices.")
            if value not in definition.choices:
                raise Invalid(f"{value!r} is not one of the choices of {definition.label} "
                              f"({', '.join(definition.choices)}).")
            return value
        if kind.is_reference:
            if not isinstance(value, str) or not ObjectId.is_valid(value):
                raise Invalid(f"{definition.label} is compared by the id of a record "
                              f"(24 hexadecimal digits).")
            return value
        parsed = kind.from_json(definition, value)
        kind.check(definition, parsed)
        return kind.to_json(definition, kind.to_storage(definition, parsed))
    except Invalid as exc:
        raise _refuse(rule, f"the value {value!r} does not fit {definition.label}: "
                            f"{exc}") from exc


def _actions(rule: ConditionalRule, then: Actions, live: t.Mapping[str, t.Any]) -> Actions:
    for action in ("show", "hide", "mandatory", "read_only"):
        for name in getattr(then, action):
            definition = _field(rule, name, live)
            if action in ("show", "hide") and name == LEVEL:
                raise _refuse(rule, f"{definition.label} switches the form's layout: it "
                                    f"cannot be shown or hidden by a rule.")
            if action == "mandatory" and of(definition.type).always_set:
                raise _refuse(rule, f"{definition.label} is a tick box: it always has a "
                                    f"value, so it cannot be mandatory.")
    for name, allowed in then.choices:
        definition = _field(rule, name, live)
        if not of(definition.type).has_choices:
            raise _refuse(rule, f"only a field with choices can have them narrowed, and "
                                f"{definition.label} is a {definition.type} field.")
        unknown = [v for v in allowed if v not in definition.choices]
        if unknown:
            raise _refuse(rule, f"{', '.join(map(repr, unknown))} "
                                f"{'is' if len(unknown) == 1 else 'are'} not among the "
                                f"choices of {definition.label} "
                                f"({', '.join(definition.choices)}).")
    if set(then.show) & set(then.hide):
        both = ", ".join(live[n].label for n in sorted(set(then.show) & set(then.hide)))
        raise _refuse(rule, f"it both shows and hides {both}; keep one.")
    return then


def _edges(rule: ConditionalRule) -> set[tuple[str, str]]:
    """(field read, field acted on); reading and locking the same field is no edge."""
    acted = {*rule.then.show, *rule.then.hide, *rule.then.mandatory,
             *(n for n, _ in rule.then.choices)}
    return {(r, a) for r in rule.reads() for a in rule.touches() if r != a or a in acted}


def _no_circle(rule: ConditionalRule, others: list[ConditionalRule],
               live: t.Mapping[str, t.Any]) -> None:
    by_edge: dict[tuple[str, str], str] = {}
    for each in [*others, rule]:
        for edge in _edges(each):
            by_edge.setdefault(edge, each.name)
    graph: dict[str, set[str]] = {}
    for read, acted in by_edge:
        graph.setdefault(read, set()).add(acted)
    path = _circle(graph)
    if path is None:
        return
    steps = [f"{by_edge[(a, b)]} reads {_label(live, a)} and acts on {_label(live, b)}"
             for a, b in zip(path, path[1:], strict=False)]
    if len(path) == 2:  # the rule reads and acts on one field
        raise _refuse(rule, f"it reads {_label(live, path[0])} and acts on it; a rule may "
                            f"only lock the field it reads.")
    raise _refuse(rule, f"the rules would go round in a circle: {'; '.join(steps)}. Change "
                        f"one of them so that no field depends on itself.")


def _label(live: t.Mapping[str, t.Any], name: str) -> str:
    return live[name].label if name in live else name


def _circle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle as a path that ends where it starts, or None."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return path[path.index(node):] + [node]
        if node in done:
            return None
        for nxt in sorted(graph.get(node, ())):
            found = visit(nxt, [*path, node])
            if found:
                return found
        done.add(node)
        return None

    for start in sorted(graph):
        found = visit(start, [])
        if found:
            return found
    return None
