"""Solution profiles: one action puts a solution's terms on the screens (ITSM, CSM, CAFM).

A profile is a file under `seed/profiles/` naming the words for each entity and Level,
a few field labels and, optionally, conditional rules (rule documents, as the dictionary
file holds them). Applying one is an ordinary dictionary change (revisions move, the
version moves, every process follows), and applying another switches back: the rules a
profile brought that the new one does not carry are retired. A rule is the profile's when
a profile made its latest change (History says "profile <key>"); one an admin or a file
import has changed since is theirs, and stays. The profile's rules are checked before
anything is written, so a profile whose rules no longer fit the dictionary changes
nothing and says why.
"""

from __future__ import annotations

import json
import typing as t
from pathlib import Path

from ..dictionary import conditional
from ..dictionary.documents import (
    EntityDefinition,
    FieldDefinition,
    RuleDefinition,
    bump_version,
)
from ..dictionary.history import DictionaryChange
from ..dictionary.snapshot import Snapshot
from .checked import DictionaryError
from .conditional_rules import (
    add_rule,
    change_in_words,
    check_rule,
    retire_rule,
    rule_in_words,
    update_rule,
)
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
    reason = f"profile {key}"
    carried = _checked_rules(key, profile.get("rules", []))
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
    changed += _switch_rules(reason, carried)
    if changed:
        bump_version()
    return changed


def brought_by(rule: RuleDefinition) -> str:
    """The reason of the rule's latest change ("profile itsm", "file import", "" for an
    admin's)."""
    latest = DictionaryChange.objects(kind="rule", entity=rule.entity, name=rule.name
                                      ).order_by("-at", "-id").first()
    return str((latest.details or {}).get("reason") or "") if latest is not None else ""


def _checked_rules(key: str, documents: t.Any) -> dict[tuple[str, str], dict[str, t.Any]]:
    """The profile's rules by (entity, name), each checked against the dictionary and the
    rules as applying the profile leaves them; DictionaryError before anything is written."""
    if not isinstance(documents, list):
        raise DictionaryError(f"Profile {key} was not applied: its rules must be a list.")
    try:
        rules = [conditional.from_document(d) for d in documents]
    except conditional.ShapeError as exc:
        raise DictionaryError(f"Profile {key} was not applied: {exc}") from exc
    carried = {(r.entity, r.name): d for r, d in zip(rules, documents, strict=True)}
    staying = [conditional.from_document(r.document()) for r in RuleDefinition.objects
               if (r.entity, r.name) not in carried and not _goes(r)]
    for (entity, name), document in carried.items():
        others = [r for r in [*staying, *rules] if r.entity == entity and r.name != name]
        try:
            check_rule(document, others=others)
        except DictionaryError as exc:
            raise DictionaryError(f"Profile {key} was not applied: {exc}") from exc
    return carried


def _goes(rule: RuleDefinition) -> bool:
    """Whether switching profiles retires `rule`: in force, and a profile's."""
    return not rule.retired and brought_by(rule).startswith("profile ")


def _switch_rules(reason: str, carried: dict[tuple[str, str], dict[str, t.Any]]
                  ) -> list[str]:
    """Retire the rules other profiles brought, then add or update the profile's own."""
    changed = []
    for rule in RuleDefinition.objects(retired=False).order_by("entity", "name"):
        came = brought_by(rule)
        if (rule.entity, rule.name) not in carried and came.startswith("profile "):
            retire_rule(rule.entity, rule.name, reason=reason)
            changed.append(f"rule {rule.entity}.{rule.name}: retired (it came with {came})")
    for (entity, name), document in carried.items():
        labels = {f.name: f for f in FieldDefinition.objects(entity=entity)}
        stored = RuleDefinition.objects(entity=entity, name=name).first()
        if stored is None:
            rule = add_rule(document, reason=reason)
            changed.append(f"rule {entity}.{name}: added, {rule_in_words(rule, labels)}")
            continue
        wanted = check_rule(document).document()
        if wanted != stored.document():
            update_rule(wanted, expected_revision=stored.revision, reason=reason)
            changed += [f"rule {entity}.{name}: {line}"
                        for line in change_in_words(stored.document(), wanted, labels)]
    return changed
