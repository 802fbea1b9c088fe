"""Customer / Org and Contact records.

Only the fields the code itself queries on are declared; every other value is a
dynamic attribute whose meaning (label, type, mandatory…) the dictionary gives, so an
admin can add a field without a code change. References hold the target's ObjectId.

`revision` counts the writes to a record, so a form opened before someone else's save
can be told apart from a current one (see `views.records.RecordView.update_model`).
Records stored before it existed have none, which counts as 0.
"""

from __future__ import annotations

import mongoengine as me

from .kept import Kept


class Record(Kept, me.DynamicDocument):
    """What every record has: a name, the Archive flag, an optional external id."""

    meta = {"abstract": True}

    name = me.StringField()
    external_id = me.StringField()
    # No default: MongoEngine would give it to a record stored without one, which must
    # read as 0 (never written since revisions began), not as 1.
    revision = me.IntField()

    def clean(self) -> None:
        # A plain save() is a write like any other: moving the revision makes a form
        # opened before it refuse to overwrite it. A new record starts at 1.
        super().clean()
        self.revision = (self.revision or 0) + 1

    def __str__(self) -> str:
        return self.name or ""


class Customer(Record):
    """A customer record at any Level: Level = Org makes it an organisation."""

    meta = {
        "collection": "customers",
        "indexes": [("level", "archived", "name"), "org", "email", "external_id",
                    # records a directory connector made (admin_app.directory)
                    ("directory.connector", "directory.key")],
    }

    level = me.StringField(default="Customer")
    org = me.ObjectIdField()


class Contact(Record):
    """A person at a Customer or an Org (`customer` may point at either Level)."""

    meta = {
        "collection": "contacts",
        "indexes": [("archived", "name"), "customer", "external_id", "email",
                    ("directory.connector", "directory.key")],
    }

    customer = me.ObjectIdField()
