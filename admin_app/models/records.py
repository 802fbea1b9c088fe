"""Customer / Org and Contact records.

Only the fields the code itself queries on are declared; every other value is a
dynamic attribute whose meaning (label, type, mandatory…) the dictionary gives, so an
admin can add a field without a code change. References hold the target's ObjectId.
"""

from __future__ import annotations

from datetime import UTC, datetime

import mongoengine as me


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Record(me.DynamicDocument):
    """What every record has: a name, the Archive flag, an optional external id."""

    meta = {"abstract": True}

    name = me.StringField()
    archived = me.BooleanField(default=False)
    external_id = me.StringField()
    updated_at = me.DateTimeField(default=_now)

    def __str__(self) -> str:
        return self.name or ""

    def clean(self) -> None:
        self.updated_at = _now()


class Customer(Record):
    """A customer record at any Level: Level = Org makes it an organisation."""

    meta = {
        "collection": "customers",
        "indexes": [("level", "archived", "name"), "org", "email", "external_id"],
    }

    level = me.StringField(default="Customer")
    org = me.ObjectIdField()


class Contact(Record):
    """A person at a Customer or an Org (`customer` may point at either Level)."""

    meta = {
        "collection": "contacts",
        "indexes": [("archived", "name"), "customer", "external_id"],
    }

    customer = me.ObjectIdField()
