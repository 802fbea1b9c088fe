"""Contracts and Service Level Agreements that customer records link to."""

from __future__ import annotations

import mongoengine as me

from .kept import Kept


class Contract(Kept, me.Document):
    meta = {"collection": "contracts", "indexes": ["name"]}

    name = me.StringField(required=True, max_length=200, unique=True)
    description = me.StringField(max_length=2000)
    # Logging a ticket for a customer on this Contract after this day raises an alert.
    expiry_date = me.DateField()

    def __str__(self) -> str:
        return self.name


class SLA(Kept, me.Document):
    meta = {"collection": "slas", "indexes": ["name"]}

    name = me.StringField(required=True, max_length=200, unique=True)
    response_hours = me.IntField(min_value=0)
    resolution_hours = me.IntField(min_value=0)

    def __str__(self) -> str:
        return self.name
