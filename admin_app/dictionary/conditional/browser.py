"""What the browser's evaluator (`static/conditions.js`) is given: an entity's live rules
as documents and, for each live field, what evaluating needs (the Levels it is mandatory
on, its choices, whether it is a tick box). The page puts it in a JSON data block; the
script computes the same `State.document()` as `evaluator.evaluate`."""

from __future__ import annotations

import typing as t

from .evaluator import compiled

if t.TYPE_CHECKING:
    from ..snapshot import Snapshot


def bundle(snapshot: Snapshot, entity: str) -> dict[str, t.Any]:
    """Kept for the dictionary version: every form of the entity sends the same one."""
    def build() -> dict[str, t.Any]:
        rules = compiled(snapshot, entity)
        return {
            "entity": entity,
            "rules": [r.document() for r in rules.rules],
            "fields": {name: {"mandatory": sorted(f.mandatory), "choices": list(f.choices),
                              "always_set": f.kind.always_set}
                       for name, f in sorted(rules.fields.items())},
            "has_level": "level" in rules.fields,
        }
    return snapshot.memo(("conditional rules for the browser", entity), build)
