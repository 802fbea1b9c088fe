"""Installs the shipped dictionary (`seed/dictionary.json`) without touching admins' edits.

Only definitions that are missing are added, so running it again, or after an upgrade
that ships new fields, never overwrites a label or flag an admin has changed.
"""

from __future__ import annotations

import json
from pathlib import Path

from .changes import bump_version
from .documents import EntityDefinition, FieldDefinition, LayoutDefinition

DEFAULT_FILE = Path(__file__).resolve().parents[2] / "seed" / "dictionary.json"


def install(path: Path = DEFAULT_FILE) -> int:
    """Add the definitions in `path` that the store lacks; return how many were added."""
    spec = json.loads(Path(path).read_text(encoding="utf-8"))
    added = 0
    for entity in spec.get("entities", []):
        if EntityDefinition.objects(name=entity["name"]).first() is None:
            EntityDefinition(**entity).save()
            added += 1
    for field in spec.get("fields", []):
        if FieldDefinition.objects(entity=field["entity"], name=field["name"]).first() is None:
            FieldDefinition(**field).save()
            added += 1
    for layout in spec.get("layouts", []):
        if LayoutDefinition.objects(entity=layout["entity"], level=layout["level"]).first() is None:
            LayoutDefinition(**layout).save()
            added += 1
    if added:
        bump_version()
    return added
