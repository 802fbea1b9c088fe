"""Writes to the dictionary; every write moves the shared version so all processes notice."""

from __future__ import annotations

import typing as t

from mongoengine.errors import DoesNotExist

from .documents import DictionaryVersion, FieldDefinition


class DictionaryError(ValueError):
    """A dictionary change that cannot be applied; the message is for the admin."""


def bump_version() -> int:
    doc = DictionaryVersion.objects(id="dictionary").modify(
        upsert=True, new=True, inc__number=1
    )
    return doc.number


def update_field(entity: str, name: str, **changes: t.Any) -> FieldDefinition:
    """Change attributes of one field definition (label, mandatory, help_text…)."""
    try:
        definition = FieldDefinition.objects.get(entity=entity, name=name)
    except DoesNotExist as exc:
        raise DictionaryError(f"There is no field {name!r} on {entity}.") from exc
    unknown = set(changes) - set(FieldDefinition._fields)
    if unknown:
        raise DictionaryError(f"Field definitions have no attribute {', '.join(sorted(unknown))}.")
    for key, value in changes.items():
        setattr(definition, key, value)
    definition.revision += 1
    definition.save()
    bump_version()
    return definition
