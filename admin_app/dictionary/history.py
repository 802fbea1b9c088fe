"""Every dictionary change, with who made it, when, and the definition before and after.

A change can be reverted: the revert is itself a change (so it can be reverted too),
and reverting the addition of a field retires it rather than deleting it.
"""

from __future__ import annotations

import typing as t
from datetime import UTC, datetime

import mongoengine as me
from flask import has_request_context


class DictionaryChange(me.Document):
    meta = {"collection": "dictionary_history", "indexes": ["-at"], "ordering": ["-at"]}

    kind = me.StringField(required=True)  # "field", "entity"
    entity = me.StringField(required=True)
    name = me.StringField()  # the field's name, for kind "field"
    summary = me.StringField(required=True)
    before = me.DictField()  # empty: the definition did not exist
    after = me.DictField()
    # Counts beside the definitions (a type change: values converted, kept aside).
    details = me.DictField()
    actor = me.StringField(required=True)
    at = me.DateTimeField(required=True)


def actor() -> str:
    """The signed-in admin's email, or "command line" outside a request."""
    if has_request_context():
        from flask_login import current_user

        if current_user.is_authenticated:
            return str(current_user.email)
    return "command line"


def plain(definition: t.Any) -> dict[str, t.Any]:
    data = definition.to_mongo().to_dict()
    return {k: v for k, v in data.items() if k not in ("_id", "revision")}


def record(kind: str, entity: str, name: str | None, summary: str,
           before: dict[str, t.Any], after: dict[str, t.Any], *, id: t.Any = None,
           details: dict[str, t.Any] | None = None) -> DictionaryChange:
    """Save one entry. `id` may be chosen beforehand: a type change's journal names the
    entry whose insert commits it."""
    return DictionaryChange(id=id, kind=kind, entity=entity, name=name, summary=summary,
                            before=before, after=after, details=details or {},
                            actor=actor(),
                            at=datetime.now(UTC).replace(tzinfo=None)).save(force_insert=True)


def describe(before: dict[str, t.Any], after: dict[str, t.Any]) -> str:
    if not before:
        return "added"
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    return "; ".join(f"{k}: {before.get(k)!r} → {after.get(k)!r}" for k in changed)
