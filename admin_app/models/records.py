"""Customer / Org and Contact records.

Only the fields the code itself queries on are declared; every other value is a
dynamic attribute whose meaning (label, type, mandatory…) the dictionary gives, so an
admin can add a field without a code change. References hold the target's ObjectId.

`revision` counts the writes to a record, so a write can be made only while a record
is as it was read (the record write path, `admin_app/records`, stamps it with the
search keys, `updated_at` and history). Records stored before it existed have none,
which counts as 0. Which words are search keys is the dictionary's to say, so the keys
are worked out above it (`records/search_keys.py`), never here.

The indexes are declared in equality–sort–range order for the queries the screens,
lookups, importer, directory sync and API send (`tests/test_query_shapes.py` proves each
is served): a list is an equality on the Level and the Archive flag (always a boolean) then
the sort column; a search or lookup adds one search key (`search.py`) before the name,
and so does every list filter, whatever their number: a filtered field's values are
search keys too (`records/filter_keys.py`), so no filter needs an index of its own.
Each list index ends with `_id`: the API pages with a cursor holding the sort value and
the id (`api/filters.py`), which stays exact when many records share a value, and needs
the index in (sort column, _id) order; a screen's list uses the same index's prefix.
"""

from __future__ import annotations

import mongoengine as me

from .kept import Kept

# The list columns of the shipped dictionary a list may be sorted by (the sort follows
# the equality fields); a column without an index is not offered for sorting
# (`views.records.RecordView.get_sortable_columns`).
CUSTOMER_SORTS = ("name", "department", "location", "phone_1", "email")
CONTACT_SORTS = ("name", "job_title", "phone", "email")

# The indexes a list walks, each (equality fields…, sort column, _id): a list of each
# sort column, a search or any filters (by name), and a record's contacts (by name). The API's list
# (`api/filters.py`) picks among these the one its arguments and sort can use.
LIST_INDEXES: dict[str, tuple[tuple[str, ...], ...]] = {
    "customer": (*(("level", "archived", column, "_id") for column in CUSTOMER_SORTS),
                 ("level", "archived", "search_keys", "name", "_id")),
    "contact": (*(("archived", column, "_id") for column in CONTACT_SORTS),
                ("archived", "search_keys", "name", "_id"),
                # a record's contacts, archived last (the edit page, a ticket)
                ("customer", "archived", "name", "_id")),
}


class Record(Kept, me.DynamicDocument):
    """What every record has: a name, the Archive flag, an optional external id."""

    meta = {"abstract": True}
    entity = "customer"  # the dictionary entity, whose searchable fields are keyed

    name = me.StringField()
    external_id = me.StringField()
    search_keys = me.ListField(me.StringField())  # see search.py, records/search_keys.py
    # No default: MongoEngine would give it to a record stored without one, which must
    # read as 0 (never written since revisions began), not as 1.
    revision = me.IntField()

    def clean(self) -> None:
        # A plain save() (scripts, tests' fixtures) moves the revision as the record
        # write path does; `records/search_keys.py` keys it. A new record starts at 1.
        super().clean()
        self.revision = (self.revision or 0) + 1

    def __str__(self) -> str:
        return self.name or ""


class Customer(Record):
    """A customer record at any Level: Level = Org makes it an organisation."""

    meta = {
        "collection": "customers",
        "indexes": [*LIST_INDEXES["customer"],
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
        "indexes": [*LIST_INDEXES["contact"],
                    "external_id", "email", ("directory.connector", "directory.key")],
    }
    entity = "contact"

    customer = me.ObjectIdField()

