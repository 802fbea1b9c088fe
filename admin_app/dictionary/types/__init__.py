"""The field types of the dictionary: one registry, each type in one place.

To add a type, write its class (see `base.FieldType` for what a type says) and list it
in `REGISTRY`. The rulebook, the record and portal forms, the brought-forward fields of a
ticket, the import schemas, a type change, search keys, the directory sync and the
dictionary screens all ask the registry, so nothing else needs to change.
"""

from __future__ import annotations

from .base import FieldType, Invalid, Widget, as_text, is_midnight, is_number
from .boolean import Boolean
from .choice import Choice
from .dates import Date
from .multichoice import MultiChoice
from .numbers import INT64, Decimal, Integer
from .reference import Reference
from .text import Email, LongText, Phone, Text, Url, is_email, is_phone, is_url

REGISTRY: dict[str, FieldType] = {kind.name: kind for kind in (
    Text(), LongText(), Integer(), Decimal(), Date(), Boolean(), Choice(), Email(), Phone(),
    Url(), Reference(), MultiChoice(),
)}
FIELD_TYPES = tuple(REGISTRY)
# The types a type change may go from and to.
CONVERTIBLE = tuple(name for name, kind in REGISTRY.items() if kind.convertible)


def of(name: str) -> FieldType:
    """The type called `name` (an unknown name is the dictionary's error, caught when a
    definition is saved: a snapshot never holds one)."""
    return REGISTRY[name]


__all__ = ["CONVERTIBLE", "FIELD_TYPES", "INT64", "REGISTRY", "FieldType", "Invalid", "Widget",
           "as_text", "is_email", "is_midnight", "is_number", "is_phone", "is_url", "of"]
