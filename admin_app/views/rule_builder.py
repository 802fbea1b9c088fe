"""The rules screen's builder: the rows an admin fills in, to and from a rule document.

Most rules are a list of comparisons that must all (or any) hold and a few actions, so the
screen offers that as plain controls, and keeps JSON for the rest (a condition nested in
another). Values are typed as text and read by the field's type, as a form reads them
(`from_text`), then written as the rule compares them (`to_json`), so "2026-3-1" for a
date is refused and "yes" for a tick box is true. A value a type cannot read is passed on
as typed, for `checks.fitted` to refuse with its sentence naming the rule: one set of
refusals, whichever way a rule arrives.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

from ..customising.checked import DictionaryError
from ..dictionary import conditional
from ..dictionary.conditional.shape import Combination, Comparison, ConditionalRule
from ..dictionary.types import Invalid

# (value posted, words shown); "is not" and "is not empty" are a `not` / `empty: false`.
COMPARISONS = (("equals", "equals"), ("not_equals", "is not"), ("one_of", "one of"),
               ("empty", "is empty"), ("not_empty", "is not empty"), ("before", "before"),
               ("after", "after"))
NO_VALUE = ("empty", "not_empty")
LIST_ACTIONS = (("show", "Show"), ("hide", "Hide"), ("mandatory", "Mandatory"),
                ("read_only", "Read-only"))
CONDITION_ROWS = 5  # at least this many rows, empty ones ignored
CHOICE_ROWS = 2
MORE_ROWS = 3  # rows added by "More rows" (the page works without a script)
MOST_ROWS = 50  # a hand-made request cannot make the page read more


@dataclass
class Row:
    """One comparison, as typed."""

    field: str = ""
    op: str = "equals"
    value: str = ""

    @property
    def empty(self) -> bool:
        return not self.field.strip() and not self.value.strip()


@dataclass
class ChoiceRow:
    """One narrowing of a field's choices: the allowed values, separated by commas."""

    field: str = ""
    values: str = ""

    @property
    def empty(self) -> bool:
        return not self.field.strip() and not self.values.strip()


@dataclass
class Builder:
    """The builder's controls, as shown or as posted."""

    name: str = ""
    description: str = ""
    match: str = "all"
    rows: list[Row] = field(default_factory=list)
    actions: dict[str, list[str]] = field(default_factory=dict)
    except_directory_sync: bool = False
    choices: list[ChoiceRow] = field(default_factory=list)

    def padded(self, condition_rows: int = CONDITION_ROWS,
               choice_rows: int = CHOICE_ROWS) -> Builder:
        """With blank rows to fill in: at least the minimum, and always one spare."""
        rows = self.rows + [Row() for _ in range(max(condition_rows, len(self.rows) + 1)
                                                 - len(self.rows))]
        choices = self.choices + [ChoiceRow() for _ in range(
            max(choice_rows, len(self.choices) + 1) - len(self.choices))]
        return Builder(self.name, self.description, self.match, rows, dict(self.actions),
                       self.except_directory_sync, choices)


# -- a posted form ---------------------------------------------------------------------------

def posted(form: t.Any) -> Builder:
    """The builder as a request's form (a MultiDict) holds it, every row kept as typed."""
    def rows_of(count_key: str, least: int) -> int:
        try:
            count = int(form.get(count_key) or least)
        except ValueError:
            count = least
        return min(max(count, least), MOST_ROWS)

    rows = [Row(form.get(f"when-{i}-field", ""), form.get(f"when-{i}-op", "equals"),
                form.get(f"when-{i}-value", ""))
            for i in range(rows_of("condition_rows", CONDITION_ROWS))]
    choices = [ChoiceRow(form.get(f"choices-{i}-field", ""), form.get(f"choices-{i}-values", ""))
               for i in range(rows_of("choice_rows", CHOICE_ROWS))]
    return Builder(form.get("name", ""), form.get("description", ""),
                   "any" if form.get("match") == "any" else "all", rows,
                   {action: [n for n in form.getlist(action) if n] for action, _ in LIST_ACTIONS},
                   bool(form.get("except_directory_sync")), choices)


def document(builder: Builder, entity: str, fields: t.Mapping[str, t.Any], *,
             name: str | None = None, retired: bool = False) -> dict[str, t.Any]:
    """The rule document the builder describes (DictionaryError naming the rule when a row
    is half filled in). `fields`: the entity's live fields by name; `name`: the rule's
    name when it is being edited (it cannot change)."""
    name = (name if name is not None else builder.name).strip()
    if not name:
        raise DictionaryError("A rule needs a name: type one in Name.")
    parts = []
    for number, row in enumerate(builder.rows, start=1):
        if row.empty:
            continue
        parts.append(_comparison(name, number, row, fields))
    if not parts:
        raise DictionaryError(f"Rule {name} needs a condition: choose a field in a row under "
                              f"When.")
    then: dict[str, t.Any] = {action: list(builder.actions.get(action, ()))
                              for action, _ in LIST_ACTIONS if builder.actions.get(action)}
    narrowed: dict[str, list[str]] = {}
    for number, row in enumerate(builder.choices, start=1):
        if row.empty:
            continue
        if not row.field.strip():
            raise DictionaryError(f"Rule {name}: choice row {number} has values but no field; "
                                  f"choose the field whose choices it narrows.")
        narrowed[row.field] = _split(row.values)
    if narrowed:
        then["choices"] = narrowed
    data: dict[str, t.Any] = {"name": name, "entity": entity,
                              "when": {builder.match: parts}, "then": then}
    if builder.description.strip():
        data["description"] = builder.description.strip()
    if builder.except_directory_sync:
        data["except_directory_sync"] = True
    if retired:
        data["retired"] = True
    return data


def _comparison(name: str, number: int, row: Row, fields: t.Mapping[str, t.Any]
                ) -> dict[str, t.Any]:
    if not row.field.strip():
        raise DictionaryError(f"Rule {name}: condition row {number} has a value but no field; "
                              f"choose the field it compares.")
    definition = fields.get(row.field)
    op = row.op if row.op in dict(COMPARISONS) else "equals"
    if op in NO_VALUE:
        return {"field": row.field, "empty": op == "empty"}
    if op == "one_of":
        return {"field": row.field, "one_of": [typed(definition, v) for v in _split(row.value)]
                or [None]}
    value = typed(definition, row.value)
    if op == "not_equals":
        return {"not": {"field": row.field, "equals": value}}
    return {"field": row.field, op: value}


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def typed(definition: t.Any, text: str) -> t.Any:
    """A value typed for a field, as the rule compares it (None: nothing typed). A choice
    is compared by its text, a reference by its id; what a type cannot read is left as
    typed, for the dictionary's checks to refuse in a sentence."""
    text = text.strip()
    if not text:
        return None
    if definition is None:
        return text
    kind = definition.kind
    if kind.has_choices or kind.is_reference:
        return text
    try:
        return kind.to_json(definition, kind.to_storage(definition,
                                                        kind.from_text(definition, text)))
    except Invalid:
        return text


# -- a stored rule ---------------------------------------------------------------------------

def of_rule(rule: ConditionalRule, fields: t.Mapping[str, t.Any]) -> Builder | None:
    """The builder showing `rule`, or None when it cannot show it exactly (a condition
    nested in another, a field no longer live, a value holding a comma): then the rule is
    edited as JSON."""
    when = rule.when
    parts = when.parts if isinstance(when, Combination) and when.op in ("all", "any") \
        else (when,)
    rows = [_row(part, fields) for part in parts]
    if any(row is None for row in rows):
        return None
    named = [n for action, _ in LIST_ACTIONS for n in getattr(rule.then, action)]
    named += [n for n, _ in rule.then.choices]
    if any(n not in fields for n in named) or any(
            "," in v for _, values in rule.then.choices for v in values):
        return None
    match = when.op if isinstance(when, Combination) and when.op == "any" else "all"
    return Builder(rule.name, rule.description, match, [r for r in rows if r is not None],
                   {action: list(getattr(rule.then, action)) for action, _ in LIST_ACTIONS},
                   rule.except_directory_sync,
                   [ChoiceRow(n, ", ".join(values)) for n, values in rule.then.choices])


def _row(condition: t.Any, fields: t.Mapping[str, t.Any]) -> Row | None:
    negated = isinstance(condition, Combination) and condition.op == "not"
    if negated:
        condition = condition.parts[0]
        if not isinstance(condition, Comparison) or condition.op != "equals":
            return None
    if not isinstance(condition, Comparison) or condition.field not in fields:
        return None
    if condition.op == "empty":
        return Row(condition.field, "empty" if condition.value else "not_empty")
    values = condition.value if condition.op == "one_of" else [condition.value]
    shown = [_shown(v) for v in values]
    if any(s is None or (condition.op == "one_of" and "," in s) for s in shown):
        return None
    op = "not_equals" if negated else condition.op
    return Row(condition.field, op, ", ".join(t.cast(list[str], shown)))


def _shown(value: t.Any) -> str | None:
    """A compared value as the value box shows it (None: the box cannot)."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float | str):
        return str(value)
    return None


def described(rule: ConditionalRule, fields: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """What the rules list and the record page say of a rule, with the current labels:
    its condition in words, the fields it reads, and what it does to which fields."""
    def label(name: str) -> str:
        return fields[name].label if name in fields else name

    acts = [(words, [label(n) for n in getattr(rule.then, action)])
            for action, words in LIST_ACTIONS if getattr(rule.then, action)]
    acts += [(f"Choices of {label(n)}", list(values)) for n, values in rule.then.choices]
    return {"rule": rule, "when": conditional.words(rule.when, fields),
            "reads": [label(n) for n in sorted(rule.reads())], "acts": acts}
