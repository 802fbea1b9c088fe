"""Customer / Org and Contact records.

Only the fields the code itself queries on are declared; every other value is a
dynamic attribute whose meaning (label, type, mandatory…) the dictionary gives, so an
admin can add a field without a code change. References hold the target's ObjectId.

`revision` counts the writes to a record, so a form opened before someone else's save
can be told apart from a current one (see `views.records.RecordView.update_model`).
Records stored before it existed have none, which counts as 0.

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
        # A plain save() is a write like any other: moving the revision makes a form
        # opened before it refuse to overwrite it. A new record starts at 1.
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


def write_if_at(record: Record, revision: int, values: t.Mapping[str, t.Any], *,
                unless_archived: bool = False) -> bool:
    """Store `values` (stored form; None removes the field) on `record` only if it is
    still at `revision` (a record stored before revisions has none: that is revision 0),
    moving the revision and keeping `updated_at` and the search keys; False, and nothing
    written, when someone saved it meanwhile (or, with `unless_archived`, archived it).

    The one compare-and-set of a record's fields, for the admin's form and the portal.
    It runs under `db.exclusive`: the embedded store's update_one is not atomic."""
    from .. import db
    from .kept import now

    fields = search.searched_fields(record.entity)
    keyed = {name: values[name] if name in values else getattr(record, name, None)
             for name in fields}
    sets = {name: value for name, value in values.items() if value is not None}
    sets.update(updated_at=now(), search_keys=search.keys_for(record.entity, keyed, fields))
    update: dict[str, t.Any] = {"$inc": {"revision": 1}, "$set": sets}
    if unsets := {name: "" for name, value in values.items() if value is None}:
        update["$unset"] = unsets
    query: dict[str, t.Any] = {"_id": record.pk,
                               "revision": {"$in": [None, 0]} if revision == 0 else revision}
    if unless_archived:
        query["archived"] = {"$ne": True}
    with db.exclusive("records"):
        result = record._get_collection().update_one(query, update)
    return bool(result.matched_count)


def _key_bulk_inserts(sender: type, documents: list[t.Any], **_kwargs: t.Any) -> None:
    # `Model.objects.insert([...])` skips clean(); the keys are kept there too.
    if isinstance(sender, type) and issubclass(sender, Record):
        for document in documents:
            if isinstance(document, Record):
                document.search_keys = search_keys(document)


signals.pre_bulk_insert.connect(_key_bulk_inserts)
