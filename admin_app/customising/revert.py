"""Putting a definition back as it was before a change in the History.

A revert is itself a change, made through the checked operations (`fields`, `entities`,
`layouts`), so it gets their guard rails, is recorded in the History and can be reverted
in turn. Reverting the addition of a field retires it (its data stays in the records);
reverting a type change puts the old values back too (`retype.revert`).
"""

from __future__ import annotations

import typing as t

from ..dictionary import history
from ..dictionary.documents import FieldDefinition
from . import retype
from .checked import DictionaryError
from .entities import relabel_entity
from .fields import search_keys_follow, update_field
from .layouts import arrange_layout


def revert(change_id: t.Any) -> str:
    """Put a definition back as it was before the recorded change; say what was reverted."""
    change = history.DictionaryChange.objects(pk=change_id).first()
    if change is None:
        raise DictionaryError("That change is not in the history.")
    before = change.before or {}
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
