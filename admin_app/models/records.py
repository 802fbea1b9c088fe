"""Customer / Org and Contact records.

Only the fields the code itself queries on are declared; every other value is a
dynamic attribute whose meaning (label, type, mandatory…) the dictionary gives, so an
admin can add a field without a code change. References hold the target's ObjectId.

`revision` counts the writes to a record, so a write can be made only while a record
is as it was read (the record write path, `admin_app/records`, stamps it with the
search keys, `updated_at` and history). Records stored before it existed have none,
which counts as 0.

The indexes are declared in equality–sort–range order for the queries the screens,
lookups, importer and directory sync send (`tests/test_query_shapes.py` proves each is
served): a list is an equality on the Level and the Archive flag (always a boolean) then
the sort column; a search or lookup adds one search key (`search.py`) before the name.
"""

from __future__ import annotations

import typing as t

import mongoengine as me
from mongoengine import signals

from . import search
from .kept import Kept

# The list columns of the shipped dictionary a list may be sorted by (the sort follows
# the equality fields); a column without an index is not offered for sorting
# (`views.records.RecordView.get_sortable_columns`).
CUSTOMER_SORTS = ("name", "department", "location", "phone_1", "email")
CONTACT_SORTS = ("name", "job_title", "phone", "email")


class Record(Kept, me.DynamicDocument):
    """What every record has: a name, the Archive flag, an optional external id."""

    meta = {"abstract": True}
    entity = "customer"  # the dictionary entity, whose searchable fields are keyed

    name = me.StringField()
    external_id = me.StringField()
    search_keys = me.ListField(me.StringField())  # see search.py
    # No default: MongoEngine would give it to a record stored without one, which must
    # read as 0 (never written since revisions began), not as 1.
    revision = me.IntField()

    def clean(self) -> None:
        # A plain save() (the writers not yet on the record write path, and tests'
        # fixtures) moves the revision and keeps the search keys, as that path does.
        # A new record starts at 1.
        super().clean()
        self.revision = (self.revision or 0) + 1
        self.search_keys = search_keys(self)

    def __str__(self) -> str:
        return self.name or ""


class Customer(Record):
    """A customer record at any Level: Level = Org makes it an organisation."""

    meta = {
        "collection": "customers",
        "indexes": [*(("level", "archived", column) for column in CUSTOMER_SORTS),
                    ("level", "archived", "search_keys", "name"),
                    "org", "email", "external_id",
                    # records a directory connector made (admin_app.directory)
                    ("directory.connector", "directory.key")],
    }

    level = me.StringField(default="Customer")
    org = me.ObjectIdField()


class Contact(Record):
    """A person at a Customer or an Org (`customer` may point at either Level)."""

    meta = {
        "collection": "contacts",
        "indexes": [*(("archived", column) for column in CONTACT_SORTS),
                    ("archived", "search_keys", "name"),
                    # a record's contacts, archived last (the edit page, a ticket)
                    ("customer", "archived", "name"),
                    "external_id", "email", ("directory.connector", "directory.key")],
    }
    entity = "contact"

    customer = me.ObjectIdField()


def search_keys(record: Record) -> list[str]:
    """The keys a record's current values give (see search.py)."""
    fields = search.searched_fields(record.entity)
    return search.keys_for(record.entity, {name: getattr(record, name, None)
                                           for name in fields}, fields)


def _key_bulk_inserts(sender: type, documents: list[t.Any], **_kwargs: t.Any) -> None:
    # `Model.objects.insert([...])` skips clean(); the keys are kept there too.
    if isinstance(sender, type) and issubclass(sender, Record):
        for document in documents:
            if isinstance(document, Record):
                document.search_keys = search_keys(document)


signals.pre_bulk_insert.connect(_key_bulk_inserts)
