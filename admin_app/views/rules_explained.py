"""The "Rules" panel of a record's page: every rule in force for its entity, whether it
holds for the record as stored and why, so that an agent can see why a field is hidden,
mandatory, read-only or offers fewer choices without asking an admin.

It asks the one evaluator (`conditional.explain` / `evaluate`) about the stored record,
so it says what the record write path would decide; labels are the current ones.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from flask import url_for

from .. import dictionary
from ..dictionary import conditional
from .rule_builder import described
from .secure import signed_in_role


@dataclass(frozen=True)
class Explained:
    """What the panel shows: each live rule described and whether it holds, what the
    rules make of the record's fields now, and the rules screen's link (admins only)."""

    rules: list[dict[str, t.Any]]
    now: list[tuple[str, list[str]]]
    rules_url: str | None


class ExplainsRules:
    """Mixin for a record view (its `entity`): `rules_explained(record)` for the page."""

    entity: str

    def rules_explained(self, record: t.Any) -> Explained | None:
        """None when the entity has no rule in force (the panel is then left out)."""
        snapshot = dictionary.current()
        if record is None or not snapshot.conditional_rules.get(self.entity):
            return None
        values = stored_values(record)
        level = snapshot.entity(self.entity).level(values.get("level")).name \
            if self.entity in snapshot.entities else ""
        explained = conditional.explain(snapshot, self.entity, values, level)
        if not explained:
            return None
        fields = snapshot.fields.get(self.entity, {})
        rules = [{**described(rule, fields), "holds": holds}
                 for rule, holds, _words in explained]
        state = conditional.evaluate(snapshot, self.entity, values, level)

        def labels(names: t.Iterable[str]) -> list[str]:
            return [fields[n].label if n in fields else n for n in sorted(names)]

        now = [(words, labels(names)) for words, names in (
            ("Hidden by a rule", state.hidden),
            ("Mandatory by a rule", state.mandatory - _by_level(snapshot, self.entity, level)),
            ("Read-only by a rule", state.read_only)) if names]
        now += [(f"{labels([n])[0]} can only be", list(allowed))
                for n, allowed in sorted(state.choices.items())]
        admin = signed_in_role() == "admin"
        return Explained(rules, now, url_for("rules.rules", entity=self.entity)
                         if admin else None)


def stored_values(record: t.Any) -> dict[str, t.Any]:
    """The record's values as the store holds them (what the write path evaluates)."""
    return dict(record.to_mongo())


def _by_level(snapshot: dictionary.Snapshot, entity: str, level: str) -> set[str]:
    """The fields the Level itself makes mandatory (not the rules' doing)."""
    return {f.name for f in snapshot.live_fields(entity) if f.is_mandatory(level)}
