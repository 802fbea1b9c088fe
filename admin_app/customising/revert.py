"""Putting a definition back as it was before a change in the History.

A revert is itself a change, made through the checked operations (`fields`, `entities`,
`layouts`, `conditional_rules`), so it gets their guard rails, is recorded in the History
and can be reverted in turn. Reverting the addition of a field or a rule retires it (a
field's data stays in the records); reverting a type change puts the old values back too
(`retype.revert`). A rule put back as it was, or back in force, is checked against the
dictionary as it is now: one that no longer fits is refused with the rule's sentence.
"""

from __future__ import annotations

import typing as t

from ..dictionary import history
from ..dictionary.documents import FieldDefinition, RuleDefinition
from . import retype
from .checked import DictionaryError
from .conditional_rules import retire_rule, update_rule
from .entities import relabel_entity
from .fields import search_keys_follow, update_field
from .layouts import arrange_layout

# What the History says about a revert of a rule (as a file import says "file import").
REVERT = "revert"


def revert(change_id: t.Any) -> str:
    """Put a definition back as it was before the recorded change; say what was reverted."""
    change = history.DictionaryChange.objects(pk=change_id).first()
    if change is None:
        raise DictionaryError("That change is not in the history.")
    before = change.before or {}
    if change.kind == "rule":
        return _revert_rule(change.entity, change.name, before)
    if change.kind == "field" and (journal := retype.journal_of(change.pk)) is not None:
        reverted = retype.revert(journal)
        search_keys_follow(change.entity, change.name)
        return reverted
    if change.kind == "field":
        if not before:
            update_field(change.entity, change.name, retired=True)
            return f"{change.entity}.{change.name} is retired again"
        current = history.plain(FieldDefinition.objects.get(entity=change.entity,
                                                            name=change.name))
        changes = {k: v for k, v in before.items()
                   if k not in ("entity", "name") and current.get(k) != v}
        if not changes:
            raise DictionaryError("The field is already as it was before that change.")
        update_field(change.entity, change.name, **changes)
    elif not before:
        raise DictionaryError(f"That change added the {change.kind}; it can be edited, not "
                              f"removed.")
    elif change.kind == "entity":
        relabel_entity(change.entity, {lv["name"]: (lv["singular"], lv["plural"])
                                       for lv in before["levels"]})
    elif change.kind == "layout":
        arrange_layout(change.entity, change.name,
                       [(s["title"], list(s["fields"])) for s in before["sections"]])
    return f"{change.entity}{'.' + change.name if change.name else ''} is as it was before"


def _revert_rule(entity: str, name: str, before: dict[str, t.Any]) -> str:
    """An added rule is retired; a changed or retired one is put back as it was. What it
    returns ends the screen's "Reverted: … that change." """
    stored = RuleDefinition.objects(entity=entity, name=name).first()
    if stored is None:
        raise DictionaryError(f"{entity} has no rule named {name!r}; nothing was reverted.")
    what = f"rule {name} of {entity}"
    if not before:
        retire_rule(entity, name, reason=REVERT)
        return f"{what} is retired, out of force as it was before"
    wanted = RuleDefinition(
        entity=entity, name=name, description=before.get("description") or "",
        when=before["when"], then=before["then"],
        except_directory_sync=bool(before.get("except_directory_sync")),
        retired=bool(before.get("retired"))).document()
    if wanted == stored.document():
        raise DictionaryError(f"Rule {name} is already as it was before that change.")
    update_rule(wanted, expected_revision=stored.revision, reason=REVERT)
    if stored.retired and not wanted.get("retired"):
        return f"{what} is in force as it was before"
    return f"{what} is as it was before"
