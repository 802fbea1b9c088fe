"""Saved views: a list's URL arguments (filters, search, tab, columns, sort) kept under a
name by the login that saved them, and shared with everyone when an admin says so.

A view keeps the arguments, not a query: it is read again by `ListState.from_args` when
opened, so a field retired since is dropped with the list's own notice, and a relabel
shows the new label. The list page reads a login's views and the shared ones of that
list, by name, on the (owner, list, name) and (shared, list, name) indexes.
"""

from __future__ import annotations

import mongoengine as me

from .kept import now
from .users import User

LISTS = ("customer", "org", "contact")  # the record lists (their endpoints)
NAME_LENGTH = 80


class SavedView(me.Document):
    meta = {"collection": "saved_views",
            "indexes": [{"fields": ["owner", "list", "name"], "unique": True},
                        ("shared", "list", "name")]}

    owner = me.ReferenceField(User, required=True)
    owner_email = me.StringField(default="")  # shown beside a shared view
    list = me.StringField(required=True, choices=LISTS)
    name = me.StringField(required=True, max_length=NAME_LENGTH)
    args = me.ListField(me.ListField(me.StringField()))  # [[key, value], …], in order
    shared = me.BooleanField(default=False)
    saved = me.DateTimeField(default=now, required=True)
