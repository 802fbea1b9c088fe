"""Adding and changing a field definition, checked once and then written.

Every way of changing a field (the screens, the command line, profiles, a dictionary
file) goes through here, so all get the same guard rails: names are checked, system fields
keep their type, a type change that would strand existing values is refused with the
count (`retype`), and a save based on a stale copy is refused rather than overwriting
someone else's change.

Each operation has one check, which its check-only counterpart (`check_add_field`,
`check_update_field`: a dictionary file checked whole before anything is written) and
its preview (`preview`, the screens' confirmation) call too, so that all three refuse the
same change with the same sentence.
"""

from __future__ import annotations

import re
import typing as t
from datetime import date

from bson import ObjectId

from ..dictionary import history, impact, rules, types
from ..dictionary.documents import (
    EntityDefinition,
    FieldDefinition,
    LayoutDefinition,
    bump_version,
)
from ..dictionary.snapshot import Field, portal_flags_refusal
from . import retype
from .checked import (
    WRITES,
    DictionaryError,
    compare_and_set,
    record,
    validate,
)
from .conditional_rules import rules_still_fit

FIELD_TYPES, CONVERTIBLE = types.FIELD_TYPES, types.CONVERTIBLE
NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
# Names a custom field cannot take: MongoDB and MongoEngine internals, record columns the
# code uses, and attributes of the generated forms (WTForms and DictionaryForm).
RESERVED = frozenset({
    "id", "pk", "objects", "updated_at", "revision", "external_id", "entity", "level",
    "data", "errors", "meta", "populate_obj", "process", "validate", "csrf_token",
    "form_errors", "hidden_tag", "dictionary_fields", "layout_sections", "dictionary_level",
    "carried_values",
})
# Changes after which a field's words may enter or leave the records' search keys.
_SEARCH_KEYED = frozenset({"searchable", "retired", "type", "choices"})
# Changes that may make a field filtered or not (`records/filter_keys.py`): its values'
# keys follow when what the keys are made of changed (not when a column only moves).
_FILTER_KEYED = frozenset({"filterable", "list_column"})


def search_keys_follow(entity: str, name: str) -> None:
    """Have every record's search keys follow a change of the field: in a job a page
    shows, when a screen made it (`search_key_jobs`)."""
    from . import search_key_jobs

    search_key_jobs.follow(entity, name)


def keyed_by(entity: str) -> tuple[str, ...]:
    """What the entity's search keys are made of, as the dictionary now says (searched
    fields and filtered fields, `records.search_keys.searched_fields`)."""
    from ..dictionary import latest
    from ..records import search_keys

    return tuple(search_keys.searched_fields(entity, latest()))


# -- adding ----------------------------------------------------------------------------------

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
    record("field", entity, name, f"added {definition.label}", {}, history.plain(definition),
           reason)
    for layout in layouts:
        layout.revision += 1
        layout.save()
    bump_version()
    if definition.searchable or definition.filterable or definition.list_column is not None:
        search_keys_follow(entity, name)
    return definition


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
    if types.of(type).is_reference and not attributes.get("target"):
        raise DictionaryError("A reference field must say what it refers to.")
    if types.of(type).has_choices and not attributes.get("choices"):
        raise DictionaryError("A choice list needs at least one choice.")
    _check_levels(entity, label, attributes.get("mandatory"))
    if not placed_by_layouts:
        _check_placed(entity, label, attributes.get("mandatory"), set(sections or {}))
    definition = FieldDefinition(entity=entity, name=name, label=label.strip(), type=type,
                                 system=False, **attributes)
    validate(definition)
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


# -- changing --------------------------------------------------------------------------------

def check_update_field(entity: str, name: str, changes: dict[str, t.Any], *,
                       placed_by_layouts: bool = False,
                       keep_unconverted: bool = False,
                       rules: t.Iterable[t.Any] | None = None) -> FieldDefinition:
    """Raise what `update_field` would raise for `changes`, writing nothing; returns the
    definition as the change would leave it (not saved). A caller checking many changes
    at once (a dictionary file) so refuses exactly what `update_field` would, first
    problem first. `rules`: the conditional rules the field must still fit (default: as
    stored; a file that carries rules judges them itself and passes none)."""
    definition, before = _changed_field(entity, name, changes,
                                        placed_by_layouts=placed_by_layouts, rules=rules)
    if definition.type != before["type"]:
        retype.check(definition, before, keep_unconverted=keep_unconverted)
    return definition


def update_field(entity: str, name: str, *, expected_revision: int | None = None,
                 keep_unconverted: bool = False, reason: str = "",
                 placed_by_layouts: bool = False, **changes: t.Any) -> FieldDefinition:
    """Change attributes of one field definition (label, mandatory, help_text…).

    `expected_revision` is the revision the admin's screen showed; if the stored one has
    moved since, the save is refused instead of silently overwriting the other change.
    A new `type` converts the stored values; values that would not convert make it refuse,
    unless `keep_unconverted` moves them to a retired text field `<name>_old`.
    """
    definition, before = _changed_field(entity, name, changes,
                                        placed_by_layouts=placed_by_layouts)
    if definition.type != before["type"]:
        return _retyped(definition, before, keep_unconverted=keep_unconverted,
                        expected_revision=expected_revision, reason=reason).definition
    keyed = keyed_by(entity) if _FILTER_KEYED & set(changes) else ()
    compare_and_set(FieldDefinition, definition, expected_revision, before["label"],
                    **changes)
    bump_version()
    if _SEARCH_KEYED & set(changes) or (keyed and keyed_by(entity) != keyed):
        search_keys_follow(entity, name)
    saved = FieldDefinition.objects.get(pk=definition.pk)
    after = history.plain(saved)
    record("field", entity, name, history.describe(before, after), before, after, reason)
    return saved


def change_type(entity: str, name: str, new_type: str, *, keep_unconverted: bool,
                expected_revision: int | None = None) -> tuple[int, int]:
    """Change a field's type, all or nothing (see `retype`); return (values converted,
    values kept aside). Values that would not convert raise `retype.NotConverting`."""
    if entity not in impact.RECORDS:
        raise DictionaryError(f"There is no entity {entity!r}.")
    definition, before = _changed_field(entity, name, {"type": new_type},
                                        placed_by_layouts=True)
    outcome = _retyped(definition, before, keep_unconverted=keep_unconverted,
                       expected_revision=expected_revision)
    return outcome.converted, outcome.kept_aside


def _retyped(definition: FieldDefinition, before: dict[str, t.Any], **how: t.Any
             ) -> retype.Outcome:
    outcome = retype.change(definition, before, **how)
    search_keys_follow(definition.entity, definition.name)
    return outcome


def _stored_field(entity: str, name: str) -> FieldDefinition:
    definition = FieldDefinition.objects(entity=entity, name=name).first()
    if definition is None:
        raise DictionaryError(f"There is no field {name!r} on {entity}.")
    return definition


def _changed_field(entity: str, name: str, changes: dict[str, t.Any], *,
                   placed_by_layouts: bool, rules: t.Iterable[t.Any] | None = None
                   ) -> tuple[FieldDefinition, dict[str, t.Any]]:
    """Every check of a field change, in its one order, before anything is written:
    what may be changed at all, what a system field keeps, the Levels the field is made
    mandatory on and whether their forms show it, then MongoEngine's own checks of the
    values, and last the rules that read those values (the types a field converts to, the
    portal flags, the pattern). Returns the definition as the change leaves it (not saved)
    and the stored one, plain. Whether the stored values convert to a new type is
    `retype.check`."""
    definition = _stored_field(entity, name)
    before = history.plain(definition)
    # Its id and revision are the store's: a revision given here would pass the stale-copy
    # check of whoever saved next.
    unknown = set(changes) - set(FieldDefinition._fields) | (
        {"entity", "name", "id", "revision"} & set(changes))
    if unknown:
        raise DictionaryError(f"These cannot be changed on a field: {', '.join(sorted(unknown))}.")
    label = changes.get("label", definition.label)
    if "system" in changes and bool(changes["system"]) != bool(definition.system):
        raise DictionaryError("Which fields are system fields comes with Dictadmin; it "
                              "cannot be changed.")
    if definition.system and changes.get("retired"):
        raise DictionaryError(f"{definition.label} is a system field: it can be relabelled "
                              f"but not retired.")
    if definition.system and "choices" in changes \
            and list(changes["choices"] or ()) != list(definition.choices or ()):
        # The Level's choices are the Levels the code knows (Customer, Org): renaming
        # one would empty the Orgs list. Their words are changed as entity words.
        raise DictionaryError(f"{definition.label} is a system field: its choices are fixed; "
                              f"change the words shown for them under Words.")
    retyped = changes.get("type", definition.type) != definition.type
    if retyped and definition.system:
        raise DictionaryError(f"{definition.label} is a system field: its type cannot change.")
    if "mandatory" in changes:
        _check_levels(entity, label, changes["mandatory"])
    if not placed_by_layouts:
        _check_newly_mandatory_placed(definition, changes)
    for key, value in changes.items():
        setattr(definition, key, value)
    validate(definition)
    if retyped and definition.type not in CONVERTIBLE:
        raise DictionaryError(f"Fields can be converted to {', '.join(CONVERTIBLE)}, not "
                              f"{definition.type!r}.")
    check_customer_flags(entity, definition.label, definition.type, bool(definition.system),
                         definition.customer_visible, definition.customer_editable)
    _check_pattern(changes.get("pattern"), definition.type)
    rules_still_fit(entity, [definition if f.pk == definition.pk else f
                             for f in FieldDefinition.objects(entity=entity)], rules)
    return definition, before


def preview(definition: FieldDefinition, changes: dict[str, t.Any]) -> list[str]:
    """What a field change would mean for existing records, for the admin to confirm.
    A change `update_field` would refuse is refused here, with the same sentence, before
    anything is counted."""
    check_update_field(definition.entity, definition.name, changes)
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
    if pattern and pattern != definition.pattern \
            and (odd := impact.not_matching(entity, name, pattern)):
        effects.append(f"{odd} existing values do not match the new pattern.")
    return effects


# -- the checks ------------------------------------------------------------------------------

def check_customer_flags(entity: str, label: str, field_type: str, system: bool,
                         visible: t.Any, editable: t.Any) -> None:
    """The portal's flags, as a field will have them. Customers see only what is flagged
    visible and change only what is flagged editable, so the flags must not let them see
    another entity's fields or change what the desk or the code relies on: system fields
    (Level, Org, Archive…) and references (a picker would search other records). The
    rule is the portal's own (`snapshot.portal_flags_refusal`)."""
    refusal = portal_flags_refusal(entity, label, field_type, system, visible, editable)
    if refusal:
        raise DictionaryError(refusal)


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


# -- choices and typed settings --------------------------------------------------------------

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
    kind = types.of(definition.type)
    collection = impact.RECORDS[entity]._get_collection()
    # Each holder's value as found, and what its type makes of it with the new names.
    held = [(d["_id"], d.get(name)) for d in collection.find(
        {name: {"$in": sorted(renames)}}, {"_id": 1, name: 1})]
    trace = records.trace.by_request(records.trace.DICTIONARY).in_batch(
        batch or _rename_batch(definition))
    renamed = 0
    for start in range(0, len(held), WRITES):
        chunk = held[start:start + WRITES]
        outcome = records.batch.write(
            entity, [], [(oid, {name: kind.renamed(value, renames)}) for oid, value in chunk],
            trace, seen={oid: {name: value} for oid, value in chunk})
        renamed += len(outcome.updated)
    if renamed:  # keys as the dictionary now says, should this save have changed them too
        search_keys_follow(entity, name)
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
