"""An immutable, versioned copy of the dictionary that one request works from.

Everything shown to a user is derived from a snapshot; reading the definitions once
per *version* (not per request) keeps pages fast, and comparing version numbers keeps
every process in step with the database without a restart.
"""

from __future__ import annotations

import threading
import typing as t
from dataclasses import dataclass, field

from .. import store
from .conditional.shape import ConditionalRule, from_document
from .documents import (
    DictionaryVersion,
    EntityDefinition,
    FieldDefinition,
    LayoutDefinition,
    RuleDefinition,
)
from .types import FieldType, of


@dataclass(frozen=True)
class Level:
    name: str
    singular: str
    plural: str


@dataclass(frozen=True)
class Entity:
    name: str
    singular: str
    plural: str
    levels: tuple[Level, ...]

    def level(self, name: str | None) -> Level:
        """The named Level, or the first one when the name is unknown (e.g. a hand-typed URL)."""
        for level in self.levels:
            if level.name == name:
                return level
        return self.levels[0]


@dataclass(frozen=True)
class Field:
    entity: str
    name: str
    label: str
    type: str
    mandatory: frozenset[str] = frozenset()
    help_text: str = ""
    choices: tuple[str, ...] = ()
    max_length: int | None = None
    pattern: str | None = None
    minimum: t.Any = None
    maximum: t.Any = None
    target: str | None = None
    default: t.Any = None
    list_column: int | None = None
    searchable: bool = False
    filterable: bool = False  # a list filter (list columns have one anyway)
    system: bool = False
    brought_forward: bool = False
    customer_visible: bool = False  # shown on the portal's "My details"
    customer_editable: bool = False  # changeable there (only with visible)
    retired: bool = False
    # The definition's stored id: unchanged by a relabel, a type change or retiring the
    # field, so record history names a field by it (`records/history.py`).
    id: str = ""

    @property
    def kind(self) -> FieldType:
        """What the field's type says about its values (`types/`)."""
        return of(self.type)

    def is_mandatory(self, level: str) -> bool:
        return level in self.mandatory

    @property
    def shown_on_portal(self) -> bool:
        """Whether a customer sees this field on the portal's My details (the portal rule,
        below): a live customer field flagged visible."""
        return portal_offers(self.entity) and self.customer_visible and not self.retired

    @property
    def editable_on_portal(self) -> bool:
        """Whether a customer may change it there: shown, flagged editable, and neither a
        system field nor a reference, whatever a definition stored before the dictionary
        checked its flags says."""
        return self.shown_on_portal and self.customer_editable \
            and kept_from_customers(self.label, self.type, self.system) is None

    def bounds(self) -> tuple[t.Any, t.Any]:
        """The range as values comparable with what a form or file yields (dates as dates)."""
        return tuple(self.kind.bound(b) for b in (self.minimum, self.maximum))

    def range_message(self) -> str:
        low, high = self.minimum, self.maximum
        if low is not None and high is not None:
            return f"{self.label} must be between {low} and {high}."
        if low is not None:
            return f"{self.label} must be at least {low}."
        return f"{self.label} must be at most {high}."


# -- the portal rule ---------------------------------------------------------------------
# Which fields a customer sees and changes on the portal, decided here only: the portal's
# page and form (`portal/details.py`) ask `Field.shown_on_portal` / `editable_on_portal`,
# the field screen asks `portal_offers`, and the dictionary refuses the flags
# `portal_flags_refusal` refuses, so what an admin sets is what a customer gets.

PORTAL_ENTITY = "customer"  # the portal shows a customer its own record, nothing else


def portal_offers(entity: str) -> bool:
    """Whether fields of `entity` can be shown on the portal at all."""
    return entity == PORTAL_ENTITY


def kept_from_customers(label: str, field_type: str, system: bool) -> str | None:
    """Why customers may see a field but never change it, or None: the desk and the code
    rely on system fields (Level, Org, Archive…), and some types say why not (a
    reference's picker would search other records)."""
    if system:
        return f"{label} is a system field: customers can see it but not change it."
    reason = of(field_type).kept_from_customers
    return f"{label} {reason}: customers can see it but not change it." if reason else None


def portal_flags_refusal(entity: str, label: str, field_type: str, system: bool,
                         visible: t.Any, editable: t.Any) -> str | None:
    """Why a field cannot carry these portal flags (the dictionary refuses to store them),
    or None: only customer fields, editable only when visible, and never what customers
    must not change."""
    if not visible and not editable:
        return None
    if not portal_offers(entity):
        return f"{label}: only customer fields can be shown to customers in the portal."
    if editable and not visible:
        return (f"{label} cannot be editable by the customer without being visible to the "
                f"customer: tick both.")
    return kept_from_customers(label, field_type, system) if editable else None


@dataclass(frozen=True)
class Section:
    title: str
    fields: tuple[str, ...]


@dataclass(frozen=True)
class Snapshot:
    version: int
    entities: dict[str, Entity]
    fields: dict[str, dict[str, Field]]
    layouts: dict[tuple[str, str], tuple[Section, ...]]
    # Each entity's conditional rules, retired ones too (`conditional/`).
    conditional_rules: dict[str, tuple[ConditionalRule, ...]] = field(default_factory=dict)
    derived: dict[t.Any, t.Any] = field(default_factory=dict, compare=False)

    def entity(self, name: str) -> Entity:
        return self.entities[name]

    def field(self, entity: str, name: str) -> Field:
        return self.fields[entity][name]

    def live_fields(self, entity: str) -> list[Field]:
        return [f for f in self.fields.get(entity, {}).values() if not f.retired]

    def layout(self, entity: str, level: str) -> tuple[Section, ...]:
        """The sections of a Level's form, keeping only live fields that exist."""
        live = {f.name for f in self.live_fields(entity)}
        sections = self.layouts.get((entity, level), ())
        return tuple(
            Section(s.title, tuple(n for n in s.fields if n in live)) for s in sections
        )

    def list_columns(self, entity: str) -> list[Field]:
        listed = [f for f in self.live_fields(entity) if f.list_column is not None]
        return sorted(listed, key=lambda f: f.list_column)

    def searchable(self, entity: str) -> list[Field]:
        return [f for f in self.live_fields(entity) if f.searchable]

    def memo(self, key: t.Hashable, build: t.Callable[[], t.Any]) -> t.Any:
        """Keep something derived (a form class, column lists) for the life of this version."""
        if key not in self.derived:
            self.derived[key] = build()
        return self.derived[key]


def read_version() -> int:
    doc = store.database()[DictionaryVersion._get_collection_name()].find_one(
        {"_id": "dictionary"}, {"number": 1}
    )
    return int(doc["number"]) if doc else 0


def load() -> Snapshot:
    """Read every definition; the version is read first so a concurrent change is caught later."""
    version = read_version()
    entities = {
        e.name: Entity(e.name, e.singular, e.plural,
                       tuple(Level(lv.name, lv.singular, lv.plural) for lv in e.levels))
        for e in EntityDefinition.objects
    }
    fields: dict[str, dict[str, Field]] = {}
    for f in FieldDefinition.objects.order_by("entity", "name"):
        fields.setdefault(f.entity, {})[f.name] = Field(
            entity=f.entity, name=f.name, label=f.label, type=f.type,
            mandatory=frozenset(f.mandatory or ()), help_text=f.help_text or "",
            choices=tuple(f.choices or ()), max_length=f.max_length, pattern=f.pattern,
            minimum=f.minimum, maximum=f.maximum,
            target=f.target, default=f.default, list_column=f.list_column,
            searchable=bool(f.searchable), filterable=bool(f.filterable),
            system=bool(f.system),
            brought_forward=bool(f.brought_forward),
            customer_visible=bool(f.customer_visible),
            customer_editable=bool(f.customer_editable), retired=bool(f.retired),
            id=str(f.pk),
        )
    layouts = {
        (lay.entity, lay.level): tuple(Section(s.title, tuple(s.fields)) for s in lay.sections)
        for lay in LayoutDefinition.objects
    }
    rules: dict[str, list[ConditionalRule]] = {}
    for r in RuleDefinition.objects.order_by("entity", "name"):
        rules.setdefault(r.entity, []).append(from_document(r.document(), r.revision))
    return Snapshot(version, entities, fields, layouts,
                    {entity: tuple(found) for entity, found in rules.items()})


class SnapshotCache:
    """Holds one process's snapshot and swaps it when the stored version has moved."""

    def __init__(self) -> None:
        self._snapshot: Snapshot | None = None
        self._lock = threading.Lock()

    def fresh(self) -> Snapshot:
        current = self._snapshot
        if current is not None and current.version == read_version():
            return current
        with self._lock:
            self._snapshot = load()
            return self._snapshot
