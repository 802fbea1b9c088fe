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


# An SLA's promise in hours, at most ten years: a longer one is a typing slip, and a
# number past what the store holds (2**63) would otherwise fail only when saved.
MOST_HOURS = 10 * 365 * 24


class SLA(Kept, me.Document):
    meta = {"collection": "slas", "indexes": ["name"]}

    name = me.StringField(required=True, max_length=200, unique=True)
    response_hours = me.IntField(min_value=0, max_value=MOST_HOURS)
    resolution_hours = me.IntField(min_value=0, max_value=MOST_HOURS)

    def __str__(self) -> str:
        return self.name
