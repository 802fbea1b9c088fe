"""Solution profiles: one action puts a solution's terms on the screens (ITSM, CSM, CAFM).

A profile is a file under `seed/profiles/` naming the words for each entity and Level
and a few field labels. Applying one is an ordinary dictionary change (revisions move,
the version moves, every process follows), and applying another switches back.
"""

from __future__ import annotations

import json
from pathlib import Path

from . import history
from .changes import DictionaryError, bump_version, update_field
from .documents import EntityDefinition, FieldDefinition

FOLDER = Path(__file__).resolve().parents[2] / "seed" / "profiles"


def available() -> dict[str, str]:
    """Profile key → its description, for the admin to choose from."""
    result = {}
    for path in sorted(FOLDER.glob("*.json")):
        if path.stem.startswith("demo-"):
            continue
        result[path.stem] = json.loads(path.read_text(encoding="utf-8"))["description"]
    return result


def apply(key: str) -> list[str]:
    """Apply profile `key`; return what changed, in words."""
    path = FOLDER / f"{key}.json"
    if key not in available():
        raise DictionaryError(f"There is no profile {key!r}; choose one of "
                              f"{', '.join(available())}.")
    profile = json.loads(path.read_text(encoding="utf-8"))
    changed: list[str] = []
    for name, words in profile["entities"].items():
        entity = EntityDefinition.objects(name=name).first()
        if entity is None:
            continue
        before = _words(entity)
        entity.singular, entity.plural = words["singular"], words["plural"]
        for level in entity.levels:
            wanted = words["levels"].get(level.name)
            if wanted:
                level.singular, level.plural = wanted["singular"], wanted["plural"]
        after = _words(entity)
        if before != after:
            entity.revision += 1
            entity.save()
            words = (f"{name}: {before[1]} → {after[1]}, "
                     + ", ".join(f"{b[1]} → {a[1]}" for b, a in zip(before[2], after[2],
                                                                   strict=True)))
            changed.append(words)
            history.record("entity", name, None, f"profile {key}: {words}",
                           {"words": repr(before)}, {"words": repr(after)})
    for dotted, label in profile.get("fields", {}).items():
        entity_name, field_name = dotted.split(".", 1)
        definition = FieldDefinition.objects(entity=entity_name, name=field_name).first()
        if definition is not None and definition.label != label:
            changed.append(f"{dotted}: {definition.label} → {label}")
            update_field(entity_name, field_name, label=label)
    if changed:
        bump_version()
    return changed


def _words(entity: EntityDefinition) -> tuple:
    return entity.singular, entity.plural, [(lv.singular, lv.plural) for lv in entity.levels]
