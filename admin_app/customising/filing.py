"""The dictionary as a reviewable file: export, plan an import, apply it.

The file is the whole dictionary in stable, sorted JSON, so it can live in version
control and be diffed. An import changes the dictionary only through the checked
operations the screens use (`fields.py`, `entities.py`, `layouts.py`), so a file gets
exactly their guard rails.

It is planned first, and the plan writes nothing: every definition in the file is put
to the check-only counterpart of the operation that would write it, judged against the
dictionary as the whole file would leave it (a layout may place a field the same file
adds; a conditional rule may name one, and is judged against the fields and the other
rules as the file leaves them). One refused definition refuses the file, with every
problem listed by its place in the file. A plan without problems is then carried out by
the operations themselves, in an order where each step's checks hold (entity words,
fields added, rules retired or changed that fit already, the other field changes, then
rules added or changed that need them, then layouts; `_RuleOrder`), each recording its
change in the History and moving the version. A dry run is the same plan, stopped before
the writes.

Nothing is ever deleted: a field or a rule missing from the file is retired (a field's
data stays in the records), never dropped. A file without a "rules" list (one exported
before Dictadmin had conditional rules) leaves the rules as they are: its field changes
must then still fit them, as on the screens.
"""

from __future__ import annotations

import json
import typing as t
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

from ..dictionary import conditional, history, impact
from ..dictionary.conditional.shape import ConditionalRule
from ..dictionary.documents import (
    EntityDefinition,
    FieldDefinition,
    LayoutDefinition,
    RuleDefinition,
)
from .checked import DictionaryError
from .conditional_rules import (
    add_rule,
    change_in_words,
    check_rule,
    retire_rule,
    rule_in_words,
    update_rule,
)
from .entities import check_relabel_entity, relabel_entity
from .fields import add_field, check_add_field, check_update_field, update_field
from .layouts import arrange_layout, check_arrange_layout

# Local bookkeeping that does not belong in a shared file.
NOT_FILED = {"_id", "id", "revision"}
KINDS: dict[str, tuple[type, tuple[str, ...]]] = {
    "entities": (EntityDefinition, ("name",)),
    "fields": (FieldDefinition, ("entity", "name")),
    "layouts": (LayoutDefinition, ("entity", "level")),
}
# Conditional rules: a list of rule documents (`conditional.shape`), optional in a file.
RULES = "rules"
RULE_KEY = ("entity", "name")
SINGULAR = {"entities": "entity", "fields": "field", "layouts": "layout", RULES: "rule"}
KEY_MISSING = {
    "entities": "An entity needs a name, as text.",
    "fields": "A field needs an entity and a name, both as text.",
    "layouts": "A layout needs an entity and a level, both as text.",
    RULES: "A rule needs an entity and a name, both as text.",
}
REASON = "file import"  # what the History says about each change an import makes


def _plain(document: t.Any) -> dict[str, t.Any]:
    data = history.plain(document)
    if isinstance(document, EntityDefinition):
        data["name"] = document.pk
    return {k: v for k, v in data.items() if k not in NOT_FILED and v is not None}


def snapshot_definitions() -> dict[str, list[dict[str, t.Any]]]:
    result = {}
    for kind, (model, key) in KINDS.items():
        docs = [_plain(d) for d in model.objects]
        result[kind] = sorted(docs, key=lambda d, key=key: tuple(str(d.get(k)) for k in key))
    # The rule documents as the rules screen and the browser read them, retired ones too.
    result[RULES] = sorted((r.document() for r in RuleDefinition.objects),
                           key=lambda d: (d["entity"], d["name"]))
    return result


def export(path: str | Path) -> int:
    data = snapshot_definitions()
    Path(path).write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n",
                          encoding="utf-8")
    return sum(len(v) for v in data.values())


@dataclass
class Step:
    """One definition to write: where the file holds it, what changes (in words), and
    the checked operation, with its arguments, that will make the change."""

    place: str
    lines: list[str]
    write: t.Callable[[], t.Any]


@dataclass
class Plan:
    steps: list[Step] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the file leaves alone, and why
    problems: list[str] = field(default_factory=list)

    @property
    def changes(self) -> list[str]:
        return [line for step in self.steps for line in step.lines]

    @property
    def empty(self) -> bool:
        return not self.steps


class DictionaryFileError(ValueError):
    """The file is not a dictionary file; the message says why."""


class ImportRefused(DictionaryError):
    """The file holds definitions the dictionary's rules refuse; nothing was written."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(f"The file was not imported ({len(problems)} problems); nothing "
                         f"was changed: " + " ".join(problems))
        self.problems = problems


class PartlyApplied(RuntimeError):
    """A write failed after the plan's checks passed: the definitions written before it
    stay (each is in the History), so the admin must be told which ones they are."""

    def __init__(self, applied: list[str], failed: str, remaining: list[str],
                 cause: BaseException) -> None:
        reason = str(cause) if isinstance(cause, DictionaryError) \
            else f"{type(cause).__name__}: {cause}"
        done = ", ".join(applied) if applied else "none"
        super().__init__(
            f"The import stopped at {failed}: {reason.rstrip('.')}. Applied before it (each "
            f"is in the History): {done}. Not applied: {', '.join([failed, *remaining])}. "
            f"Export the dictionary to see where it stands, then import the file again.")
        self.applied, self.failed, self.remaining = applied, failed, remaining


def _read(path: str | Path) -> dict[str, list[dict[str, t.Any]] | None]:
    name = Path(path).name
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise DictionaryFileError(f"Cannot read {path}: {exc}.") from exc
    except json.JSONDecodeError as exc:
        raise DictionaryFileError(f"{name} is not valid JSON: {exc.msg} at line "
                                  f"{exc.lineno}, column {exc.colno}.") from exc
    if not isinstance(data, dict) or set(data) - {*KINDS, RULES}:
        raise DictionaryFileError(f"{name} must be an object with the keys "
                                  f"{', '.join(KINDS)}. It may also hold {RULES}.")
    for kind in (*KINDS, RULES):
        items = data.get(kind, [])
        if not isinstance(items, list) or not all(isinstance(d, dict) for d in items):
            raise DictionaryFileError(f"In {name}, {kind} must be a list of objects.")
    wanted: dict[str, list[dict[str, t.Any]] | None] = {
        kind: [{k: v for k, v in d.items() if k not in NOT_FILED} for d in data.get(kind, [])]
        for kind in (*KINDS, RULES)}
    if RULES not in data:
        wanted[RULES] = None  # an older file: the rules stay as they are
    return wanted


def plan(path: str | Path) -> Plan:
    """What importing `path` would change, and its effect on existing records; writes
    nothing. A plan with problems must not be applied."""
    wanted = _read(path)
    if EntityDefinition.objects.first() is None:
        raise DictionaryError("The store has no dictionary yet: install it with `flask --app "
                              "admin_app dictionary init`, then import the file.")
    return _Planner(wanted).plan()


def execute(result: Plan) -> None:
    """Carry out a plan, each step through its checked operation, in the plan's order."""
    if result.problems:
        raise ImportRefused(result.problems)
    applied: list[str] = []
    for index, step in enumerate(result.steps):
        try:
            step.write()
        except Exception as exc:  # whatever it is, the admin must learn what was applied
            remaining = [s.place for s in result.steps[index + 1:]]
            raise PartlyApplied(applied, step.place, remaining, exc) from exc
        applied.append(step.place)


def apply(path: str | Path) -> Plan:
    """Import `path`: plan it, refuse it whole if any definition is refused, else apply."""
    result = plan(path)
    execute(result)
    return result


# The order in which a plan's steps are written (see the module's docstring).
PHASES = ("entities", "fields added", "rules first", "fields", "rules", "layouts")


class _Planner:
    """Plans one file. `fields` holds every field as the file would leave it, so that
    checks which depend on other definitions of the file are judged against that."""

    def __init__(self, wanted: dict[str, list[dict[str, t.Any]] | None]) -> None:
        self.wanted = wanted
        self.result = Plan()
        self.stored = {(f.entity, f.name): f for f in FieldDefinition.objects}
        self.fields: dict[tuple[str, ...], FieldDefinition] = dict(self.stored)
        self.layouts_checked: set[tuple[str, ...]] = set()
        self.layout_places: dict[tuple[str, ...], str] = {}  # where the file holds each
        self.phases: dict[str, list[Step]] = {phase: [] for phase in PHASES}
        self.phase = PHASES[0]
        # A file with rules judges them against its fields itself (`_rules`); the field
        # checks then leave the rules out. Without rules, fields must fit the stored ones.
        self.rules_filed = wanted[RULES] is not None
        self.field_rules: tuple[ConditionalRule, ...] | None = () if self.rules_filed \
            else None

    def plan(self) -> Plan:
        for place, ident, new in self._each("entities"):
            self._entity(place, ident[0], new)
        self.phase = "fields"
        in_file = set()
        for place, ident, new in self._each("fields"):
            in_file.add(ident)
            self._field(place, ident, new)
        self._retire_missing(in_file)
        self.phase = "layouts"
        for place, ident, new in self._each("layouts"):
            self.layout_places[ident] = place
            self._layout(place, ident, new)
        self._keep_mandatory_fields_placed()
        self._rules()
        self.result.steps = [step for phase in PHASES for step in self.phases[phase]]
        return self.result

    def _each(self, kind: str) -> t.Iterator[tuple[str, tuple[str, ...], dict[str, t.Any]]]:
        """The file's definitions of `kind` with their place, each identified once."""
        key = RULE_KEY if kind == RULES else KINDS[kind][1]
        seen: dict[tuple[str, ...], str] = {}
        for index, new in enumerate(self.wanted[kind] or ()):
            ident = tuple(new.get(k) for k in key)
            place = f"{kind}[{index}]"
            if not all(isinstance(part, str) and part for part in ident):
                self._problem(place, KEY_MISSING[kind])
                continue
            place += f" ({'.'.join(ident)})"
            if ident in seen:
                self._problem(place, f"The file defines {SINGULAR[kind]} {'.'.join(ident)} "
                                     f"twice (also {seen[ident]}); keep one.")
                continue
            seen[ident] = place
            yield place, ident, new

    def _problem(self, place: str, message: str) -> None:
        self.result.problems.append(f"{place}: {message}")

    def _check(self, place: str, check: t.Callable[..., t.Any], *args: t.Any,
               **kwargs: t.Any) -> t.Any:
        """The check's verdict: what it returns, or None with its refusal noted."""
        try:
            return check(*args, **kwargs)
        except DictionaryError as exc:
            self._problem(place, str(exc))
            return None

    def _step(self, place: str, lines: list[str], operation: t.Callable[..., t.Any],
              *args: t.Any, **kwargs: t.Any) -> None:
        self._step_in(self.phase, place, lines, operation, *args, **kwargs)

    def _step_in(self, phase: str, place: str, lines: list[str],
                 operation: t.Callable[..., t.Any], *args: t.Any, **kwargs: t.Any) -> None:
        if lines:
            self.phases[phase].append(Step(place, lines, partial(operation, *args, **kwargs)))

    # -- entities: only the words of their Levels can change ------------------------------

    def _entity(self, place: str, name: str, new: dict[str, t.Any]) -> None:
        stored = EntityDefinition.objects(name=name).first()
        if stored is None:
            known = ", ".join(sorted(e.pk for e in EntityDefinition.objects))
            self._problem(place, f"There is no entity {name!r}: a dictionary file can change "
                                 f"the words of the existing entities ({known}) but cannot "
                                 f"add one.")
            return
        words = self._level_words(place, stored, new)
        if words is None:
            return
        relabelled = self._check(place, check_relabel_entity, name, words)
        if relabelled is None:
            return
        self._step(place, _lines("entities", (name,), _plain(stored), _plain(relabelled)),
                   relabel_entity, name, words, expected_revision=stored.revision,
                   reason=REASON)

    def _level_words(self, place: str, stored: EntityDefinition,
                     new: dict[str, t.Any]) -> dict[str, tuple[str, str]] | None:
        """The file's words for each Level, or None (with the problem noted) when the
        file asks for more than new words: Levels are part of the code."""
        unknown = sorted(set(new) - {"name", "singular", "plural", "levels"})
        if unknown:
            self._problem(place, f"These cannot be set on an entity: {', '.join(unknown)}; a "
                                 f"file can change the words of its Levels.")
            return None
        levels = new.get("levels")
        if not isinstance(levels, list) or not all(
                isinstance(lv, dict) and set(lv) <= {"name", "singular", "plural"}
                and all(isinstance(lv.get(k), str) for k in ("name", "singular", "plural"))
                for lv in levels):
            self._problem(place, "levels must be a list of objects, each with a name, a "
                                 "singular and a plural, as text.")
            return None
        names = [lv.name for lv in stored.levels]
        if [lv["name"] for lv in levels] != names:
            self._problem(place, f"The Levels of {stored.pk} are {', '.join(names)}, in that "
                                 f"order: a file can change their words but cannot add, "
                                 f"remove or reorder them.")
            return None
        first = levels[0]
        if (new.get("singular", first["singular"]), new.get("plural", first["plural"])) \
                != (first["singular"], first["plural"]):
            self._problem(place, f"singular and plural must be the words of the first Level, "
                                 f"{first['name']} ({first['singular']!r}, "
                                 f"{first['plural']!r}): change that Level's words and "
                                 f"these follow.")
            return None
        return {lv["name"]: (lv["singular"], lv["plural"]) for lv in levels}

    # -- fields: added, changed, or retired when the file leaves them out -----------------

    def _field(self, place: str, ident: tuple[str, ...], new: dict[str, t.Any]) -> None:
        unknown = sorted(set(new) - set(FieldDefinition._fields))
        if unknown:
            self._problem(place, f"These cannot be set on a field: {', '.join(unknown)}.")
            return
        stored = self.stored.get(ident)
        if stored is None:
            self._add_field(place, ident, new)
        else:
            self._change_field(place, ident, stored, new)

    def _add_field(self, place: str, ident: tuple[str, ...], new: dict[str, t.Any]) -> None:
        entity, name = ident
        label, type_ = new.get("label"), new.get("type")
        attributes = {k: v for k, v in new.items() if k not in ("entity", "name", "label",
                                                                 "type")}
        added = self._check(place, check_add_field, entity, name, label, type_,
                            placed_by_layouts=True, **attributes)
        if added is None:
            return
        self.fields[ident] = added
        self._step_in("fields added", place, [f"add field {entity}.{name}"], add_field,
                      entity, name, label, type_, reason=REASON, placed_by_layouts=True,
                      **attributes)

    def _change_field(self, place: str, ident: tuple[str, ...], stored: FieldDefinition,
                      new: dict[str, t.Any]) -> None:
        entity, name = ident
        old = _plain(stored)
        # A key the file leaves out means the attribute's default, not "no change".
        changes = {k: _value(FieldDefinition, new, k) for k in set(old) | set(new)
                   if k not in ("entity", "name")
                   and _value(FieldDefinition, old, k) != _value(FieldDefinition, new, k)}
        if not changes:
            return
        if "system" in changes:
            self._problem(place, f"Whether a field is a system field is fixed by Dictadmin: "
                                 f"keep system {bool(stored.system)} for {entity}.{name}.")
            return
        changed = self._check(place, check_update_field, entity, name, changes,
                              placed_by_layouts=True, rules=self.field_rules)
        if changed is None:
            return
        self.fields[ident] = changed
        self._step(place, _lines("fields", ident, old, _plain(changed)), update_field,
                   entity, name, expected_revision=stored.revision, reason=REASON,
                   placed_by_layouts=True, **changes)

    def _retire_missing(self, in_file: set[tuple[str, ...]]) -> None:
        for ident, stored in sorted(self.stored.items()):
            if ident in in_file or stored.retired:
                continue
            dotted = ".".join(ident)
            if stored.system:
                self.result.notes.append(f"keep field {dotted} (not in the file, but system "
                                         f"fields cannot be retired)")
                continue
            place = f"field {dotted} (not in the file)"
            retired = self._check(place, check_update_field, *ident, {"retired": True},
                                  rules=self.field_rules)
            if retired is None:
                continue
            self.fields[ident] = retired
            held = _records_with_value(*ident)
            self._step(place, [f"retire field {dotted} (not in the file; {held} records keep "
                               f"their values)"],
                       update_field, *ident, expected_revision=stored.revision, reason=REASON,
                       retired=True)

    # -- layouts: checked against the fields as the file leaves them ----------------------

    def _layout(self, place: str, ident: tuple[str, ...], new: dict[str, t.Any]) -> None:
        unknown = sorted(set(new) - {"entity", "level", "sections"})
        if unknown:
            self._problem(place, f"These cannot be set on a layout: {', '.join(unknown)}.")
            return
        sections = _sections(new.get("sections"))
        if sections is None:
            self._problem(place, "sections must be a list of objects, each with a title "
                                 "(text) and fields (a list of field names).")
            return
        stored = LayoutDefinition.objects(entity=ident[0], level=ident[1]).first()
        old = _plain(stored) if stored is not None else {}
        if stored is not None and _value(LayoutDefinition, old, "sections") \
                == _value(LayoutDefinition, new, "sections"):
            return  # unchanged; still checked if the file makes a field mandatory here
        self.layouts_checked.add(ident)
        arranged = self._check(place, check_arrange_layout, *ident, sections,
                               fields=self._fields_of(ident[0]))
        if arranged is None:
            return
        self._step(place, _lines("layouts", ident, old, _plain(arranged)), arrange_layout,
                   *ident, sections, expected_revision=stored.revision, reason=REASON)

    def _keep_mandatory_fields_placed(self) -> None:
        """A field the file makes mandatory on a Level must be on that Level's form, as
        `arrange_layout` requires, also when the file leaves that layout as it is."""
        levels = set()
        for ident, final in self.fields.items():
            if final.retired:
                continue
            before = self.stored.get(ident)
            had = set() if before is None or before.retired else set(before.mandatory or ())
            levels |= {(ident[0], level) for level in set(final.mandatory or ()) - had}
        for entity, level in sorted(levels - self.layouts_checked):
            stored = LayoutDefinition.objects(entity=entity, level=level).first()
            if stored is None:
                continue  # no form for that Level, so nothing to place the field on
            place = self.layout_places.get((entity, level),
                                           f"layout {entity}.{level} (not in the file)")
            sections = [(s.title, list(s.fields)) for s in stored.sections]
            self._check(place, check_arrange_layout, entity, level, sections,
                        fields=self._fields_of(entity))

    def _fields_of(self, entity: str) -> list[FieldDefinition]:
        return [f for (e, _), f in self.fields.items() if e == entity]

    # -- rules: judged against the fields and the other rules as the file leaves them ------

    def _rules(self) -> None:
        stored = {(r.entity, r.name): r for r in RuleDefinition.objects}
        if not self.rules_filed:
            live = sum(1 for r in stored.values() if not r.retired)
            if live:
                self.result.notes.append(f"keep the {live} rules in force as they are (the "
                                         f"file has no rules list)")
            return
        filed: dict[tuple[str, str], tuple[str, dict[str, t.Any], ConditionalRule]] = {}
        for place, _, new in self._each(RULES):
            try:
                rule = conditional.from_document(new)
            except conditional.ShapeError as exc:
                self._problem(place, str(exc))
                continue
            ident = (rule.entity, rule.name)  # the name as it will be saved
            if ident in filed:
                self._problem(place, f"The file defines rule {'.'.join(ident)} twice (also "
                                     f"{filed[ident][0]}); keep one.")
                continue
            filed[ident] = (place, new, rule)
        final: dict[tuple[str, str], ConditionalRule] = {}
        for ident, (place, new, _) in filed.items():
            others = [rule for (entity, name), (_, _, rule) in filed.items()
                      if entity == ident[0] and name != ident[1]]
            fitted = self._check(place, check_rule, new, fields=self._fields_of(ident[0]),
                                 others=others)
            if fitted is not None:
                final[ident] = fitted
        if self.result.problems:
            return  # a refused file is not written, so its steps need no order
        places = {ident: place for ident, (place, _, _) in filed.items()}
        for phase, step in _RuleOrder(self, stored, final, places).steps():
            self.phases[phase].append(step)

    def labels(self, entity: str) -> dict[str, FieldDefinition]:
        """The entity's fields by name as the file leaves them."""
        return {f.name: f for f in self._fields_of(entity)}

    def fields_between(self, entity: str) -> dict[str, FieldDefinition]:
        """The entity's fields after the file's additions, before its other changes."""
        return {name: self.stored.get((e, name), f) for (e, name), f in self.fields.items()
                if e == entity}


class _RuleOrder:
    """An order for a file's rule steps in which each operation's own check holds when it
    runs, found by running the checks over a copy of the rules as each step leaves them.

    Retiring always holds. A changed rule is written before the field changes when it
    already fits the fields (as the file's additions leave them), else after them; one
    whose old form would not fit the changed fields is retired first and put back after
    (`update_rule` can do both at once). Rules the file adds come last. Should a step
    close a circle that some old form still makes, every changed rule is retired first
    instead: that always holds, as what stays in force is then a part of the rules as the
    file leaves them, which fit the fields as the file leaves them."""

    def __init__(self, planner: _Planner, stored: dict[tuple[str, str], RuleDefinition],
                 final: dict[tuple[str, str], ConditionalRule],
                 places: dict[tuple[str, str], str]) -> None:
        self.planner, self.stored, self.final, self.places = planner, stored, final, places
        self.rules: dict[tuple[str, str], ConditionalRule] = {}

    def steps(self) -> list[tuple[str, Step]]:
        found = self._try(set())
        if found is None:
            found = self._try({i for i, rule in self.final.items() if not rule.retired
                               and i in self.stored and not self.stored[i].retired})
        if found is None:  # cannot happen (see the docstring); said, never hidden
            self.planner._problem(RULES, "The rules cannot be written in an order that keeps "
                                         "each one valid; change fewer of them at once.")
            return []
        return found

    def _fits(self, rule: ConditionalRule, fields: t.Mapping[str, t.Any]) -> bool:
        """Whether `update_rule` would save `rule` as it is, given the copy's rules."""
        others = [r for (entity, name), r in self.rules.items()
                  if entity == rule.entity and name != rule.name]
        try:
            saved = conditional.fitted(rule, fields, others)
        except conditional.RuleRefused:
            return False
        return saved.document() == rule.document()

    def _try(self, retire_first: set[tuple[str, str]]) -> list[tuple[str, Step]] | None:
        between, final = self.planner.fields_between, self.planner.labels
        self.rules = {i: conditional.from_document(r.document()) for i, r in
                      self.stored.items()}
        first: list[tuple[str, Step]] = []
        for ident, stored in sorted(self.stored.items()):
            if ident not in self.final and not stored.retired:
                self.rules[ident] = replace(self.rules[ident], retired=True)
                place = f"rule {'.'.join(ident)} (not in the file)"
                first.append(("rules first", Step(place, [f"retire {place}"], partial(
                    retire_rule, *ident, expected_revision=stored.revision, reason=REASON))))
        pending = []
        for ident, rule in self.final.items():
            stored = self.stored.get(ident)
            if stored is not None and rule.document() == stored.document():
                continue
            if stored is None or not rule.retired and (
                    ident in retire_first or not self._fits(rule, between(ident[0]))):
                pending.append(ident)
                continue
            self.rules[ident] = rule
            first.append(("rules first", self._write(ident)))
        again = set()
        for ident in pending:  # the field changes come next: rules in force must fit them
            stored = self.stored.get(ident)
            if stored is None or stored.retired:
                continue
            if ident in retire_first or not self._fits(self.rules[ident], final(ident[0])):
                self.rules[ident] = replace(self.rules[ident], retired=True)
                line = f"retire rule {'.'.join(ident)} for now (it is put back in force below)"
                first.append(("rules first", Step(self.places[ident], [line], partial(
                    retire_rule, *ident, expected_revision=stored.revision, reason=REASON))))
                again.add(ident)
        later: list[tuple[str, Step]] = []
        while pending:
            ready = [i for i in pending
                     if self.final[i].retired or self._fits(self.final[i], final(i[0]))]
            if not ready:
                return None
            for ident in ready:
                self.rules[ident] = self.final[ident]
                later.append(("rules", self._write(ident, again=ident in again)))
                pending.remove(ident)
        return first + later

    def _write(self, ident: tuple[str, str], again: bool = False) -> Step:
        """The step that writes the file's rule: added, or changed (`again`: from the
        retired-for-now state a step before it left, one revision on)."""
        rule, stored = self.final[ident], self.stored.get(ident)
        dotted, labels = ".".join(ident), self.planner.labels(ident[0])
        document, place = rule.document(), self.places[ident]
        if stored is None:
            retired = " (retired)" if rule.retired else ""
            return Step(place, [f"add rule {dotted}{retired}: {rule_in_words(rule, labels)}"],
                        partial(add_rule, document, reason=REASON))
        lines = [f"change rule {dotted}: {line}"
                 for line in change_in_words(stored.document(), document, labels)]
        if again:
            lines.append(f"put rule {dotted} back in force")
        return Step(place, lines, partial(update_rule, document, reason=REASON,
                                          expected_revision=stored.revision + int(again)))


def _sections(value: t.Any) -> list[tuple[str, list[str]]] | None:
    """A file's sections as `arrange_layout` takes them, or None if they are malformed."""
    if not isinstance(value, list):
        return None
    sections = []
    for section in value:
        if not isinstance(section, dict) or set(section) - {"title", "fields"}:
            return None
        title, names = section.get("title"), section.get("fields", [])
        if not isinstance(title, str) or not isinstance(names, list) \
                or not all(isinstance(n, str) for n in names):
            return None
        sections.append((title, names))
    return sections


def _lines(kind: str, ident: tuple[str, ...], old: dict[str, t.Any],
           new: dict[str, t.Any]) -> list[str]:
    """One line per attribute the write changes, from the definition as it is to the
    definition as the checked operation would save it."""
    model = KINDS[kind][0]
    label = f"{SINGULAR[kind]} {'.'.join(ident)}"
    return [f"change {label}: {k} {_value(model, old, k)!r} → {_value(model, new, k)!r}"
            + _effect(kind, new, k)
            for k in sorted(set(old) | set(new))
            if _value(model, old, k) != _value(model, new, k)]


def _effect(kind: str, new: dict[str, t.Any], attribute: str) -> str:
    if kind != "fields" or attribute != "mandatory" or not new.get("mandatory"):
        return ""
    if new["entity"] not in impact.RECORDS:
        return ""
    lacking = impact.lacking(new["entity"], new["name"], new["mandatory"])
    return f" ({lacking} existing records lack a value)"


def _records_with_value(entity: str, name: str) -> int:
    return impact.holding(entity, name) if entity in impact.RECORDS else 0


def _value(model: t.Any, definition: dict[str, t.Any], attribute: str) -> t.Any:
    """The attribute's value, or its default when the definition leaves it out."""
    if attribute in definition:
        return definition[attribute]
    field = model._fields.get(attribute)
    default = field.default if field is not None else None
    return default() if callable(default) else default
