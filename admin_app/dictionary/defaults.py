"""Installs the shipped dictionary (`seed/dictionary.json`) without touching admins' edits.

Only definitions that are missing are added, so running it again, or after an upgrade
that ships new fields, never overwrites a label or flag an admin has changed.
"""

from __future__ import annotations

import json
from pathlib import Path

import mongoengine as me

from .documents import EntityDefinition, FieldDefinition, LayoutDefinition, bump_version

DEFAULT_FILE = Path(__file__).resolve().parents[2] / "seed" / "dictionary.json"


def install(path: Path = DEFAULT_FILE) -> int:
    """Add the definitions in `path` that the store lacks; return how many were added."""
    spec = json.loads(Path(path).read_text(encoding="utf-8"))
    added = 0
    for entity in spec.get("entities", []):
        added += _add(EntityDefinition, {"name": entity["name"]}, entity)
    for field in spec.get("fields", []):
        added += _add(FieldDefinition, {"entity": field["entity"], "name": field["name"]}, field)
    for layout in spec.get("layouts", []):
        added += _add(LayoutDefinition, {"entity": layout["entity"], "level": layout["level"]},
                      layout)
    if added:
        bump_version()
    return added


def _add(document: type[me.Document], key: dict[str, str], values: dict) -> int:
    if document.objects(**key).first() is not None:
        return 0
    try:
        # force_insert: a definition another process added meanwhile is a duplicate
        # key (left as it is), never overwritten.
        document(**values).save(force_insert=True)
    except me.NotUniqueError:
        return 0
    return 1
