"""Solution profiles: one action puts a solution's terms on the screens (ITSM, CSM, CAFM).

A profile is a file under `seed/profiles/` naming the words for each entity and Level
and a few field labels. Applying one is an ordinary dictionary change (revisions move,
the version moves, every process follows), and applying another switches back.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..dictionary.documents import EntityDefinition, FieldDefinition, bump_version
from ..dictionary.snapshot import Snapshot
from .checked import DictionaryError
from .entities import relabel_entity
from .fields import update_field

FOLDER = Path(__file__).resolve().parents[2] / "seed" / "profiles"


def available() -> dict[str, str]:
    """Profile key → its description, for the admin to choose from."""
    result = {}
    for path in sorted(FOLDER.glob("*.json")):
        if path.stem.startswith("demo-"):
            continue
        result[path.stem] = json.loads(path.read_text(encoding="utf-8"))["description"]
    return result


def _read(key: str) -> dict:
    return json.loads((FOLDER / f"{key}.json").read_text(encoding="utf-8"))


def in_force(snapshot: Snapshot) -> str | None:
    """The profile whose terms the dictionary uses now, or None once an admin has changed
    any of them (the screens then say "custom")."""
    for key in available():
        profile = _read(key)
        words_match = all(
            (level.singular, level.plural) == (wanted["singular"], wanted["plural"])
            for name, words in profile["entities"].items() if name in snapshot.entities
            for level in snapshot.entity(name).levels
            if (wanted := words["levels"].get(level.name)) is not None)
        labels_match = all(
            snapshot.fields.get(entity, {}).get(field) is None
            or snapshot.field(entity, field).label == label
            for dotted, label in profile.get("fields", {}).items()
            for entity, field in [dotted.split(".", 1)])
        if words_match and labels_match:
            return key
    return None


def apply(key: str) -> list[str]:
    """Apply profile `key`; return what changed, in words."""
    if key not in available():
        raise DictionaryError(f"There is no profile {key!r}; choose one of "
                              f"{', '.join(available())}.")
    profile = _read(key)
    changed: list[str] = []
    for name, words in profile["entities"].items():
        entity = EntityDefinition.objects(name=name).first()
        if entity is None:
            continue
        wanted = {lv.name: (words["levels"][lv.name]["singular"],
                            words["levels"][lv.name]["plural"])
                  if lv.name in words["levels"] else (lv.singular, lv.plural)
                  for lv in entity.levels}
        current = {lv.name: (lv.singular, lv.plural) for lv in entity.levels}
        if wanted != current:
            relabel_entity(name, wanted, reason=f"profile {key}")
            changed.append(f"{name}: " + ", ".join(f"{current[lv][1]} → {wanted[lv][1]}"
                                                   for lv in current))
    for dotted, label in profile.get("fields", {}).items():
        entity_name, field_name = dotted.split(".", 1)
        definition = FieldDefinition.objects(entity=entity_name, name=field_name).first()
        if definition is not None and definition.label != label:
            changed.append(f"{dotted}: {definition.label} → {label}")
            update_field(entity_name, field_name, label=label)
    if changed:
        bump_version()
    return changed
