"""Conflicts an admin has approved: this entry may take over that existing record.

Kept apart from the connector document, so that approving a link is a small write that
cannot race an admin editing the connector, and so the directory side owns its document.
"""

from __future__ import annotations

import mongoengine as me
from bson import ObjectId

from ..models.kept import now


class ConflictApproval(me.Document):
    """The entry `key` of `connector` may be linked to the existing record `record`."""

    meta = {"collection": "directory_approvals",
            "indexes": [{"fields": ["connector", "key"], "unique": True}]}

    connector = me.StringField(required=True)
    key = me.StringField(required=True)
    record = me.ObjectIdField(required=True)
    approved_by = me.StringField()
    approved_at = me.DateTimeField(default=now)


def approve(connector: str, key: str, record: ObjectId, by: str | None = None) -> None:
    ConflictApproval.objects(connector=connector, key=key).update_one(
        upsert=True, set__record=record, set__approved_by=by, set__approved_at=now())


def approved_links(connector: str) -> dict[str, ObjectId]:
    return {a.key: a.record for a in ConflictApproval.objects(connector=connector)}
