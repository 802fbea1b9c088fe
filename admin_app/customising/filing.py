"""The dictionary as a reviewable file: export, plan an import, apply it.

The file is the whole dictionary in stable, sorted JSON, so it can live in version
control and be diffed. An import changes the dictionary only through the checked
operations the screens use (`fields.py`, `entities.py`, `layouts.py`), so a file gets
exactly their guard rails.

It is planned first, and the plan writes nothing: every definition in the file is put
to the check-only counterpart of the operation that would write it, judged against the
dictionary as the whole file would leave it (a layout may place a field the same file
adds). One refused definition refuses the file, with every problem listed by its place
in the file. A plan without problems is then carried out by the operations themselves,
in an order where each step's checks hold (entity words, then fields, then layouts),
each recording its change in the History and moving the version. A dry run is the same
plan, stopped before the writes.

Nothing is ever deleted: a field missing from the file is retired (its data stays in the
records), never dropped.
"""

from __future__ import annotations

import json
import typing as t
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from ..dictionary import history, impact
from ..dictionary.documents import EntityDefinition, FieldDefinition, LayoutDefinition
from .checked import DictionaryError
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
SINGULAR = {"entities": "entity", "fields": "field", "layouts": "layout"}
KEY_MISSING = {
    "entities": "An entity needs a name, as text.",
    "fields": "A field needs an entity and a name, both as text.",
    "layouts": "A layout needs an entity and a level, both as text.",
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


def _read(path: str | Path) -> dict[str, list[dict[str, t.Any]]]:
    name = Path(path).name
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise DictionaryFileError(f"Cannot read {path}: {exc}.") from exc
    except json.JSONDecodeError as exc:
        raise DictionaryFileError(f"{name} is not valid JSON: {exc.msg} at line "
                                  f"{exc.lineno}, column {exc.colno}.") from exc
    if not isinstance(data, dict) or set(data) - set(KINDS):
        raise DictionaryFileError(f"{name} must be an object with the keys "
                                  f"{', '.join(KINDS)}.")
    for kind in KINDS:
        items = data.get(kind, [])
        if not isinstance(items, list) or not all(isinstance(d, dict) for d in items):
            raise DictionaryFileError(f"In {name}, {kind} must be a list of objects.")
    return {kind: [{k: v for k, v in d.items() if k not in NOT_FILED}
                   for d in data.get(kind, [])] for kind in KINDS}


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


class _Planner:
    """Plans one file. `fields` holds every field as the file would leave it, so that
    checks which depend on other definitions of the file are judged against that."""

    def __init__(self, wanted: dict[str, list[dict[str, t.Any]]]) -> None:
        self.wanted = wanted
        self.result = Plan()
        self.stored = {(f.entity, f.name): f for f in FieldDefinition.objects}
        self.fields: dict[tuple[str, ...], FieldDefinition] = dict(self.stored)
        self.layouts_checked: set[tuple[str, ...]] = set()
        self.layout_places: dict[tuple[str, ...], str] = {}  # where the file holds each

    def plan(self) -> Plan:
        for place, ident, new in self._each("entities"):
            self._entity(place, ident[0], new)
        in_file = set()
        for place, ident, new in self._each("fields"):
            in_file.add(ident)
            self._field(place, ident, new)
        self._retire_missing(in_file)
        for place, ident, new in self._each("layouts"):
            self.layout_places[ident] = place
            self._layout(place, ident, new)
        self._keep_mandatory_fields_placed()
        return self.result

    def _each(self, kind: str) -> t.Iterator[tuple[str, tuple[str, ...], dict[str, t.Any]]]:
        """The file's definitions of `kind` with their place, each identified once."""
        key = KINDS[kind][1]
        seen: dict[tuple[str, ...], str] = {}
        for index, new in enumerate(self.wanted[kind]):
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
        if lines:
            self.result.steps.append(Step(place, lines, partial(operation, *args, **kwargs)))

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
        self._step(place, [f"add field {entity}.{name}"], add_field, entity, name, label,
                   type_, reason=REASON, placed_by_layouts=True, **attributes)

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
                              placed_by_layouts=True)
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
            retired = self._check(place, check_update_field, *ident, {"retired": True})
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
