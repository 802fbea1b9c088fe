"""Writes to the dictionary; every write moves the shared version so all processes notice.

Guard rails live here, so every way of changing the dictionary (screens, CLI, file
import) gets them: names are checked, system fields keep their type, a type change that
would strand existing values is refused with the count, and a save based on a stale
copy of a definition is refused rather than overwriting someone else's change.
"""

from __future__ import annotations

import re
import typing as t
from datetime import date

from bson import ObjectId
from mongoengine.errors import DoesNotExist, ValidationError

from . import history, impact, rules
from .documents import (
    FIELD_TYPES,
    DictionaryVersion,
    EntityDefinition,
    FieldDefinition,
    LayoutDefinition,
    LayoutSection,
    LevelDefinition,
)
from .snapshot import Field

CONVERTIBLE = tuple(t_ for t_ in FIELD_TYPES if t_ not in ("reference", "choice"))
NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
# Names a custom field cannot take: MongoDB and MongoEngine internals, record columns the
# code uses, and attributes of the generated forms (WTForms and DictionaryForm).
RESERVED = frozenset({
    "id", "pk", "objects", "updated_at", "revision", "external_id", "entity", "level",
    "data", "errors", "meta", "populate_obj", "process", "validate", "csrf_token",
    "form_errors", "hidden_tag", "dictionary_fields", "layout_sections", "dictionary_level",
    "carried_values",
})


class DictionaryError(ValueError):
    """A dictionary change that cannot be applied; the message is for the admin."""


class StaleDefinition(DictionaryError):
    """Someone saved this definition after the admin opened it."""


def check_name(entity: str, name: str) -> None:
    """A name becomes a key in every record: refuse one that MongoDB, the generated forms
    or another field of the entity already use."""
    if not isinstance(name, str) or not NAME.match(name):
        raise DictionaryError(
            f"{name!r} cannot be a field name: use 1 to 40 lower-case letters, digits and "
            f"underscores, starting with a letter (no '$', '.' or spaces).")
    if name in RESERVED:
        raise DictionaryError(f"{name!r} is reserved by Dictadmin; choose another name.")
    if FieldDefinition.objects(entity=entity, name=name).first() is not None:
        raise DictionaryError(f"{entity} already has a field named {name!r}.")


def check_add_field(entity: str, name: str, label: str, type: str, *,
                    sections: dict[str, str] | None = None, placed_by_layouts: bool = False,
                    **attributes: t.Any) -> FieldDefinition:
    """Raise what `add_field` would raise, writing nothing, so that a caller adding many
    definitions (a dictionary file) can refuse them all before adding any. Returns the
    definition as `add_field` would save it."""
    return _new_field(entity, name, label, type, sections, attributes, placed_by_layouts)[0]


def add_field(entity: str, name: str, label: str, type: str, *,
              sections: dict[str, str] | None = None, reason: str = "",
              placed_by_layouts: bool = False, **attributes: t.Any) -> FieldDefinition:
    """Add a custom field; `sections` maps a Level to the layout section that shows it.

    A field mandatory on a Level must be shown on that Level's form (no record could be
    saved there otherwise), unless the caller places it by arranging the layouts next
    (`placed_by_layouts`: the dictionary file, whose layouts are checked as they will be).
    """
    definition, layouts = _new_field(entity, name, label, type, sections, attributes,
                                     placed_by_layouts)
    definition.save()
    summary = f"added {definition.label}"
    history.record("field", entity, name, f"{reason}: {summary}" if reason else summary, {},
                   history.plain(definition))
    for layout in layouts:
        layout.revision += 1
        layout.save()
    bump_version()
    if definition.searchable:
        _search_keys_follow(entity, name)
    return definition


# Records written per batch of the record write path (a choice rename, a type change): its
# read by a list of ids costs the embedded store the square of the list's length.
WRITES = 100
# Changes after which a field's words may enter or leave the records' search keys.
_SEARCH_KEYED = frozenset({"searchable", "retired", "type", "choices"})


def _search_keys_follow(entity: str, name: str) -> None:
    """Have every record's search keys follow the change: in a job a page shows, when a
    screen made it (`search_key_jobs`)."""
    from . import search_key_jobs

    search_key_jobs.follow(entity, name)


def _new_field(entity: str, name: str, label: str, type: str, sections: dict[str, str] | None,
               attributes: dict[str, t.Any], placed_by_layouts: bool = False
               ) -> tuple[FieldDefinition, list[LayoutDefinition]]:
    """Every check of `add_field`, all before anything is written; returns what to save."""
    if entity not in impact.RECORDS:
        raise DictionaryError(f"There is no entity {entity!r}.")
    check_name(entity, name)
    if type not in FIELD_TYPES:
        raise DictionaryError(f"{type!r} is not a field type; choose one of "
                              f"{', '.join(FIELD_TYPES)}.")
    if not isinstance(label, str) or not label.strip():
        raise DictionaryError("A field needs a label.")
    if attributes.pop("system", False):
        raise DictionaryError("Only the fields Dictadmin ships are system fields; an added "
                              "field cannot be one.")
    unknown = set(attributes) - set(FieldDefinition._fields) | ({"id", "revision"}
                                                               & set(attributes))
    if unknown:
        raise DictionaryError(f"These cannot be set on a new field: "
                              f"{', '.join(sorted(unknown))}.")
    if type == "reference" and not attributes.get("target"):
        raise DictionaryError("A reference field must say what it refers to.")
    if type == "choice" and not attributes.get("choices"):
        raise DictionaryError("A choice list needs at least one choice.")
    _check_levels(entity, label, attributes.get("mandatory"))
    if not placed_by_layouts:
        _check_placed(entity, label, attributes.get("mandatory"), set(sections or {}))
    definition = FieldDefinition(entity=entity, name=name, label=label.strip(), type=type,
                                 system=False, **attributes)
    _validate(definition)
    check_customer_flags(entity, definition.label, type, False,
                         definition.customer_visible, definition.customer_editable)
    _check_pattern(attributes.get("pattern"), type)
    layouts = []
    for level, title in (sections or {}).items():
        layout = LayoutDefinition.objects(entity=entity, level=level).first()
        section = next((s for s in layout.sections if s.title == title), None) if layout else None
        if section is None:
            raise DictionaryError(f"The {level} layout of {entity} has no section {title!r}.")
        section.fields.append(name)
        layouts.append(layout)
    return definition, layouts


def check_update_field(entity: str, name: str, changes: dict[str, t.Any], *,
                       placed_by_layouts: bool = False) -> FieldDefinition:
    """Raise what `update_field` would raise for `changes`, writing nothing; returns the
    definition as the change would leave it (not saved).

    `check_field_change` holds the rules on the change itself; this adds the checks
    `update_field` makes on attribute names and values, so that a caller checking many
    changes at once (a dictionary file) refuses exactly what `update_field` would.
    """
    definition = FieldDefinition.objects(entity=entity, name=name).first()
    if definition is None:
        raise DictionaryError(f"There is no field {name!r} on {entity}.")
    _check_attributes(changes)
    if not placed_by_layouts:
        _check_newly_mandatory_placed(definition, changes)
    for key, value in changes.items():
        setattr(definition, key, value)
    _validate(definition)
    check_field_change(entity, name, changes)
    return definition


def _check_attributes(changes: dict[str, t.Any]) -> None:
    unknown = set(changes) - set(FieldDefinition._fields) | ({"entity", "name"} & set(changes))
    if unknown:
        raise DictionaryError(f"These cannot be changed on a field: {', '.join(sorted(unknown))}.")


def _validate(definition: t.Any) -> None:
    """MongoEngine's own checks (types, allowed values), told as a DictionaryError: a
    definition can come from a file holding any JSON, and its author needs a sentence."""
    try:
        definition.validate()
    except ValidationError as exc:
        problems = "; ".join(
            f"{key}: {message}" if not isinstance(message, dict)  # a list: one per item
            else f"{key}: {'; '.join(map(str, message.values()))}"
            for key, message in sorted((exc.to_dict() or {}).items()))
        raise DictionaryError(f"These settings are not valid: {problems or exc}. Correct them "
                              f"and try again.") from exc


def bump_version() -> int:
    doc = DictionaryVersion.objects(id="dictionary").modify(
        upsert=True, new=True, inc__number=1
    )
    return doc.number


def update_field(entity: str, name: str, *, expected_revision: int | None = None,
                 keep_unconverted: bool = False, reason: str = "",
                 placed_by_layouts: bool = False, **changes: t.Any) -> FieldDefinition:
    """Change attributes of one field definition (label, mandatory, help_text…).

    `expected_revision` is the revision the admin's screen showed; if the stored one has
    moved since, the save is refused instead of silently overwriting the other change.
    A new `type` converts the stored values; values that would not convert make it refuse,
    unless `keep_unconverted` moves them to a retired text field `<name>_old`.
    """
    try:
        definition = FieldDefinition.objects.get(entity=entity, name=name)
    except DoesNotExist as exc:
        raise DictionaryError(f"There is no field {name!r} on {entity}.") from exc
    _check_attributes(changes)
    _check_change(definition, changes)
    if not placed_by_layouts:
        _check_newly_mandatory_placed(definition, changes)
    if changes.get("type", definition.type) != definition.type:
        from . import retype

        changed = retype.change(definition, changes, keep_unconverted=keep_unconverted,
                                expected_revision=expected_revision, reason=reason).definition
        _search_keys_follow(entity, name)
        return changed
    revision = definition.revision if expected_revision is None else expected_revision
    stored_label = definition.label
    before = history.plain(definition)
    for key, value in changes.items():
        setattr(definition, key, value)
    _validate(definition)
    _compare_and_set(FieldDefinition, definition, revision, stored_label, **changes)
    bump_version()
    if _SEARCH_KEYED & set(changes):
        _search_keys_follow(entity, name)
    saved = FieldDefinition.objects.get(pk=definition.pk)
    after = history.plain(saved)
    summary = history.describe(before, after)
    history.record("field", entity, name, f"{reason}: {summary}" if reason else summary,
                   before, after)
    return saved


def revert(change_id: t.Any) -> str:
    """Put a definition back as it was before the recorded change; say what was reverted.

    Reverting the addition of a field retires it (its data stays in the records).
    Reverting a type change also puts the old values back (see `retype.revert`).
    """
    from . import retype

    change = history.DictionaryChange.objects(pk=change_id).first()
    if change is None:
        raise DictionaryError("That change is not in the history.")
    before = change.before or {}
    if change.kind == "field" and (journal := retype.journal_of(change.pk)) is not None:
        reverted = retype.revert(journal)
        _search_keys_follow(change.entity, change.name)
        return reverted
    if change.kind == "field":
        if not before:
            update_field(change.entity, change.name, retired=True)
            return f"{change.entity}.{change.name} is retired again"
        current = history.plain(FieldDefinition.objects.get(entity=change.entity,
                                                            name=change.name))
        changes = {k: v for k, v in before.items()
                   if k not in ("entity", "name") and current.get(k) != v}
        if not changes:
            raise DictionaryError("The field is already as it was before that change.")
        update_field(change.entity, change.name, **changes)
    elif not before:
        raise DictionaryError(f"That change added the {change.kind}; it can be edited, not "
                              f"removed.")
    elif change.kind == "entity":
        relabel_entity(change.entity, {lv["name"]: (lv["singular"], lv["plural"])
                                       for lv in before["levels"]})
    elif change.kind == "layout":
        arrange_layout(change.entity, change.name,
                       [(s["title"], list(s["fields"])) for s in before["sections"]])
    return f"{change.entity}{'.' + change.name if change.name else ''} is as it was before"


def change_type(entity: str, name: str, new_type: str, *, keep_unconverted: bool,
                expected_revision: int | None = None) -> tuple[int, int]:
    """Change a field's type, all or nothing (see `retype`); return (values converted,
    values kept aside). Values that would not convert raise `retype.NotConverting`."""
    from . import retype

    if entity not in impact.RECORDS:
        raise DictionaryError(f"There is no entity {entity!r}.")
    definition = FieldDefinition.objects(entity=entity, name=name).first()
    if definition is None:
        raise DictionaryError(f"There is no field {name!r} on {entity}.")
    _check_change(definition, {"type": new_type})
    outcome = retype.change(definition, {"type": new_type}, keep_unconverted=keep_unconverted,
                            expected_revision=expected_revision)
    _search_keys_follow(entity, name)
    return outcome.converted, outcome.kept_aside


def check_field_change(entity: str, name: str, changes: dict[str, t.Any]) -> None:
    """Raise DictionaryError if `update_field` would refuse these changes (writes nothing)."""
    definition = FieldDefinition.objects(entity=entity, name=name).first()
    if definition is None:
        raise DictionaryError(f"There is no field {name!r} on {entity}.")
    _check_change(definition, changes)
    if changes.get("type", definition.type) != definition.type:
        from . import retype

        retype.check_values(definition, changes["type"])


def preview(definition: FieldDefinition, changes: dict[str, t.Any]) -> list[str]:
    """What a field change would mean for existing records, for the admin to confirm."""
    if definition.entity not in impact.RECORDS:
        return []
    entity, name, label = definition.entity, definition.name, changes.get("label",
                                                                          definition.label)
    effects = []
    added = set(changes.get("mandatory", ())) - set(definition.mandatory or ())
    if added and (lacking := impact.lacking(entity, name, sorted(added))):
        effects.append(f"{lacking} existing records lack a {label}; they stay editable and "
                       f"will be asked for it when next saved.")
    max_length = changes.get("max_length")
    if max_length and max_length < (definition.max_length or 10**9) \
            and (long := impact.too_long(entity, name, max_length)):
        effects.append(f"{long} existing values are longer than {max_length} characters.")
    low, high = changes.get("minimum"), changes.get("maximum")
    if (low, high) != (definition.minimum, definition.maximum):
        bounds = Field(entity, name, label, definition.type, minimum=low, maximum=high).bounds()
        if outside := impact.out_of_range(entity, name, *bounds):
            effects.append(f"{outside} existing values are outside the new range.")
    pattern = changes.get("pattern")
    if pattern and pattern != definition.pattern:
        _check_pattern(pattern, definition.type)
        if odd := impact.not_matching(entity, name, pattern):
            effects.append(f"{odd} existing values do not match the new pattern.")
    return effects


def _check_pattern(pattern: str | None, field_type: str) -> None:
    """A pattern that does not compile, cannot run in bounded time or does not suit the
    type would break or hang every form that shows the field: refused, in the rulebook's
    words."""
    try:
        rules.check_pattern(pattern, field_type)
    except rules.PatternError as exc:
        raise DictionaryError(str(exc)) from exc


def _check_levels(entity: str, label: str, mandatory: t.Any) -> None:
    """Mandatory on a Level the entity does not have (a typo) would never be enforced."""
    if not mandatory or not isinstance(mandatory, list | tuple):
        return  # absent, or not a list: MongoEngine's validation says so
    from .documents import EntityDefinition

    definition = EntityDefinition.objects(name=entity).first()
    levels = [level.name for level in definition.levels] if definition else []
    unknown = sorted({str(level) for level in mandatory} - set(levels))
    if unknown:
        raise DictionaryError(f"{label} cannot be mandatory on {', '.join(unknown)}: "
                              f"the Levels of {entity} are {', '.join(levels)}.")


def _check_placed(entity: str, label: str, mandatory: t.Any, placed_on: set[str]) -> None:
    """A field mandatory on a Level must be on that Level's form, or no record of that Level
    could be saved from the screens (`arrange_layout` keeps it so from the layout's side)."""
    if not isinstance(mandatory, list | tuple):
        return
    hidden = sorted({str(level) for level in mandatory} - placed_on)
    if hidden:
        raise DictionaryError(f"{label} is not on the {', '.join(hidden)} form of {entity}, so "
                              f"it cannot be mandatory there: show it on that form first "
                              f"(its layout under Data → Dictionary).")


def _check_newly_mandatory_placed(definition: FieldDefinition,
                                  changes: dict[str, t.Any]) -> None:
    newly = set(changes.get("mandatory") or ()) - set(definition.mandatory or ())
    if not newly or changes.get("retired", definition.retired):
        return
    layouts = {layout.level: layout
               for layout in LayoutDefinition.objects(entity=definition.entity)}
    placed_on = {level for level in newly if level not in layouts  # no form to show it on
                 or any(definition.name in section.fields
                        for section in layouts[level].sections)}
    _check_placed(definition.entity, changes.get("label", definition.label), sorted(newly),
                  placed_on)


def check_customer_flags(entity: str, label: str, field_type: str, system: bool,
                         visible: t.Any, editable: t.Any) -> None:
    """The portal's flags, as a field will have them. Customers see only what is flagged
    visible and change only what is flagged editable, so the flags must not let them see
    another entity's fields or change what the desk or the code relies on: system fields
    (Level, Org, Archive…) and references (a picker would search other records)."""
    if not visible and not editable:
        return
    if entity != "customer":
        raise DictionaryError(f"{label}: only customer fields can be shown to customers in "
                              f"the portal.")
    if editable and not visible:
        raise DictionaryError(f"{label} cannot be editable by the customer without being "
                              f"visible to the customer: tick both.")
    if editable and system:
        raise DictionaryError(f"{label} is a system field: customers can see it but not "
                              f"change it.")
    if editable and field_type == "reference":
        raise DictionaryError(f"{label} refers to other records: customers can see it but "
                              f"not change it.")


def _check_change(definition: FieldDefinition, changes: dict[str, t.Any]) -> None:
    _check_pattern(changes.get("pattern"), changes.get("type", definition.type))
    check_customer_flags(
        definition.entity, changes.get("label", definition.label),
        changes.get("type", definition.type), bool(definition.system),
        changes.get("customer_visible", definition.customer_visible),
        changes.get("customer_editable", definition.customer_editable))
    if "system" in changes and bool(changes["system"]) != bool(definition.system):
        raise DictionaryError("Which fields are system fields comes with Dictadmin; it "
                              "cannot be changed.")
    if "mandatory" in changes:
        _check_levels(definition.entity, changes.get("label", definition.label),
                      changes["mandatory"])
    if definition.system and changes.get("retired"):
        raise DictionaryError(f"{definition.label} is a system field: it can be relabelled "
                              f"but not retired.")
    if definition.system and "choices" in changes \
            and list(changes["choices"] or ()) != list(definition.choices or ()):
        # The Level's choices are the Levels the code knows (Customer, Org): renaming
        # one would empty the Orgs list. Their words are changed as entity words.
        raise DictionaryError(f"{definition.label} is a system field: its choices are fixed; "
                              f"change the words shown for them under Words.")
    new_type = changes.get("type", definition.type)
    if new_type == definition.type:
        return
    if definition.system:
        raise DictionaryError(f"{definition.label} is a system field: its type cannot change.")
    if new_type not in CONVERTIBLE:
        raise DictionaryError(f"Fields can be converted to {', '.join(CONVERTIBLE)}, "
                              f"not {new_type!r}.")
    # Whether the stored values convert is `retype`'s business: it reads them once.


def _compare_and_set(model: t.Any, definition: t.Any, expected_revision: int | None,
                     what: str, **values: t.Any) -> None:
    """Save only if nobody saved since `expected_revision`: of two admins, one wins."""
    revision = definition.revision if expected_revision is None else expected_revision
    updated = model.objects(pk=definition.pk, revision=revision).update_one(
        inc__revision=1, **{f"set__{k}": v for k, v in values.items()})
    if not updated:
        raise _stale(what)


def _stale(what: str) -> StaleDefinition:
    return StaleDefinition(f"{what} was changed by someone else after you opened it; reload "
                           f"to see their change, then make yours again.")


def check_relabel_entity(entity: str, words: dict[str, tuple[str, str]]) -> EntityDefinition:
    """Raise what `relabel_entity` would raise, writing nothing; returns the entity as it
    would be saved, so a caller checking many changes (a dictionary file) sees the words
    exactly as they will be stored."""
    return _relabelled(_entity_definition(entity), words)


def relabel_entity(entity: str, words: dict[str, tuple[str, str]], *,
                   expected_revision: int | None = None, reason: str = "") -> None:
    """Rename an entity's Levels: `words` maps a Level to (singular, plural)."""
    definition = _entity_definition(entity)
    before = history.plain(definition)
    relabelled = _relabelled(definition, words)
    _compare_and_set(EntityDefinition, definition, expected_revision,
                     f"The words for {before['plural']}", levels=relabelled.levels,
                     singular=relabelled.singular, plural=relabelled.plural)
    bump_version()
    after = history.plain(EntityDefinition.objects.get(pk=entity))
    summary = ", ".join(f"{old['plural']} → {new['plural']}"
                        for old, new in zip(before["levels"], after["levels"], strict=True))
    history.record("entity", entity, None, f"{reason}: {summary}" if reason else summary,
                   before, after)


def _entity_definition(entity: str) -> EntityDefinition:
    definition = EntityDefinition.objects(name=entity).first()
    if definition is None:
        raise DictionaryError(f"There is no entity {entity!r}: entities come with Dictadmin "
                              f"and cannot be added; only their words can change.")
    return definition


def _relabelled(definition: EntityDefinition,
                words: dict[str, tuple[str, str]]) -> EntityDefinition:
    """`definition` with the new words (not saved). The entity's own words follow its
    first Level, which is what the menu and headings use."""
    names = [level.name for level in definition.levels]
    unknown = sorted(set(words) - set(names))
    if unknown:
        raise DictionaryError(f"{definition.pk} has no Level {', '.join(map(repr, unknown))}; "
                              f"its Levels are {', '.join(names)}, and only their words can "
                              f"change.")
    levels = []
    for level in definition.levels:
        singular, plural = (w.strip() for w in words.get(level.name,
                                                         (level.singular, level.plural)))
        if not singular or not plural:
            raise DictionaryError(f"The {level.name} Level needs a singular and a plural word.")
        levels.append(LevelDefinition(name=level.name, singular=singular, plural=plural))
    definition.levels = levels
    definition.singular, definition.plural = levels[0].singular, levels[0].plural
    return definition


def check_arrange_layout(entity: str, level: str, sections: list[tuple[str, list[str]]], *,
                         fields: t.Iterable[FieldDefinition] | None = None) -> LayoutDefinition:
    """Raise what `arrange_layout` would raise, writing nothing; returns the layout as it
    would be saved.

    `fields` are the entity's fields as they will be when the layout is saved (by
    default, as they are stored). A caller that changes fields and layouts together (a
    dictionary file) passes them, so that a field it adds can be placed and a field it
    makes mandatory must be.
    """
    return _arranged(_layout_definition(entity, level), sections, fields)


def arrange_layout(entity: str, level: str, sections: list[tuple[str, list[str]]], *,
                   expected_revision: int | None = None, reason: str = "") -> None:
    """Set a Level's form layout: sections in order, each with its fields in order."""
    layout = _layout_definition(entity, level)
    before = history.plain(layout)
    arranged = _arranged(layout, sections, None)
    _compare_and_set(LayoutDefinition, layout, expected_revision, f"The {level} layout",
                     sections=arranged.sections)
    bump_version()
    after = history.plain(LayoutDefinition.objects.get(pk=layout.pk))
    summary = history.describe(before, after)
    history.record("layout", entity, level, f"{reason}: {summary}" if reason else summary,
                   before, after)


def _layout_definition(entity: str, level: str) -> LayoutDefinition:
    layout = LayoutDefinition.objects(entity=entity, level=level).first()
    if layout is None:
        raise DictionaryError(f"There is no {level} layout for {entity}: each Level of an "
                              f"entity has one layout, which can be arranged but not added.")
    return layout


def _arranged(layout: LayoutDefinition, sections: list[tuple[str, list[str]]],
              fields: t.Iterable[FieldDefinition] | None) -> LayoutDefinition:
    """`layout` with `sections` (not saved), refused if the form would lose a field it
    needs: the Level switch, or a field mandatory at this Level."""
    entity, level = layout.entity, layout.level
    fields = list(FieldDefinition.objects(entity=entity) if fields is None else fields)
    known = {f.name for f in fields}
    placed: list[str] = []
    for title, names in sections:
        if not title.strip():
            raise DictionaryError("Every section needs a title.")
        unknown = [n for n in names if n not in known]
        if unknown:
            raise DictionaryError(f"Section {title!r} names fields that do not exist: "
                                  f"{', '.join(unknown)}.")
        placed += names
    twice = sorted({n for n in placed if placed.count(n) > 1})
    if twice:
        raise DictionaryError(f"These fields are placed more than once: {', '.join(twice)}.")
    if entity == "customer" and "level" not in placed:
        raise DictionaryError("The Level field must stay on the form: it switches the layout.")
    mandatory = [f.label for f in fields
                 if not f.retired and level in (f.mandatory or []) and f.name not in placed]
    if mandatory:
        raise DictionaryError(f"Mandatory fields must stay on the {level} form: "
                              f"{', '.join(mandatory)}.")
    layout.sections = [LayoutSection(title=t_.strip(), fields=list(n)) for t_, n in sections]
    return layout


def parse_choices(text: str) -> tuple[list[str], dict[str, str]]:
    """One choice a line; `Old => New` renames a choice. Returns (choices, renames)."""
    choices: list[str] = []
    renames: dict[str, str] = {}
    for line in text.splitlines():
        old, arrow, new = line.partition("=>")
        value = (new if arrow else old).strip()
        if not value:
            continue
        if arrow and old.strip():
            renames[old.strip()] = value
        if value in choices:
            raise DictionaryError(f"The choice {value!r} is listed twice.")
        choices.append(value)
    if not choices:
        raise DictionaryError("A choice list needs at least one choice.")
    return choices, renames


def choice_effects(definition: FieldDefinition, choices: list[str],
                   renames: dict[str, str]) -> list[str]:
    """What renaming or removing choices means for the records that hold them."""
    if definition.entity not in impact.RECORDS:
        return []
    collection = impact.RECORDS[definition.entity]._get_collection()
    effects = []
    for old, new in renames.items():
        held = collection.count_documents({definition.name: old})
        effects.append(f"Renaming {old!r} to {new!r}: {held} records hold {old!r}.")
    for removed in sorted(set(definition.choices or ()) - set(choices) - set(renames)):
        held = collection.count_documents({definition.name: removed})
        effects.append(f"Removing {removed!r}: {held} records hold it; they keep the value "
                       f"until edited.")
    return effects


def rename_choice_values(definition: FieldDefinition, renames: dict[str, str], *,
                         batch: t.Any = None) -> int:
    """Give the records that hold renamed choices the new ones; return how many changed.

    Through the record write path (way in "dictionary"): each record changed gets one
    change set, its revision moves (a form opened before the rename does not write the
    old choice back) and its search keys follow. A record whose choice someone changed
    since it was found keeps theirs. The change sets share `batch`: by default the
    field's latest History entry, the save of the new choice list that this follows.
    The holders of every renamed choice are found first, so `A => B` with `B => A`
    swaps them."""
    from .. import records

    entity, name = definition.entity, definition.name
    collection = impact.RECORDS[entity]._get_collection()
    held = [(old, new, [d["_id"] for d in collection.find({name: old}, {"_id": 1})])
            for old, new in renames.items()]
    trace = records.trace.by_request(records.trace.DICTIONARY).in_batch(
        batch or _rename_batch(definition))
    renamed = 0
    for old, new, ids in held:
        for start in range(0, len(ids), WRITES):
            chunk = ids[start:start + WRITES]
            outcome = records.batch.write(entity, [], [(oid, {name: new}) for oid in chunk],
                                          trace, seen={oid: {name: old} for oid in chunk})
            renamed += len(outcome.updated)
    if renamed:  # keys as the dictionary now says, should this save have changed them too
        _search_keys_follow(entity, name)
    return renamed


def _rename_batch(definition: FieldDefinition) -> t.Any:
    latest = history.DictionaryChange.objects(entity=definition.entity, kind="field",
                                              name=definition.name).order_by("-at").first()
    return latest.pk if latest is not None else ObjectId()


def parse_value(field_type: str, text: str | None, what: str) -> t.Any:
    """Read a typed setting (a default, a bound) by the rules for a value of that type;
    blank means none. Dates are kept as YYYY-MM-DD text in the definition."""
    if not (text or "").strip():
        return None
    try:
        value = rules.parse_typed(field_type, text, what)
    except rules.Invalid as exc:
        raise DictionaryError(str(exc)) from exc
    return value.isoformat() if isinstance(value, date) else value
