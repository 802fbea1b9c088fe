"""Tickets: only the part of a ticketing system that exercises the customer record.

A ticket keeps what it was logged with (the brought-forward values under the labels
they had, the SLA's due times, whether the customer's expiry date had passed), so later
edits of the customer or the dictionary do not rewrite its history.
"""

from __future__ import annotations

import mongoengine as me

from .kept import Kept, now

STATUSES = ("open", "closed")


class Ticket(Kept, me.Document):
    meta = {
        "collection": "tickets",
        "indexes": [("customer", "-logged_at"), ("status", "-logged_at"),
                    "-logged_at"],  # the ticket list, newest first
    }

    customer = me.ObjectIdField(required=True)  # a record at any Level (Customer or Org)
    contact = me.ObjectIdField()  # a Contact of the customer or of its Org
    summary = me.StringField(required=True, max_length=200)
    description = me.StringField(max_length=20000)
    status = me.StringField(required=True, choices=STATUSES, default="open")
    logged_at = me.DateTimeField(required=True, default=now)
    closed_at = me.DateTimeField()
    # Brought forward when the customer was chosen: field name → value, and the label
    # each field had then. Editable on the ticket; never rewritten by customer edits.
    brought_forward = me.DictField()
    brought_forward_labels = me.DictField()
    email = me.StringField()  # where the closure notice goes
    expired_on = me.DateTimeField()  # the expiry date that had passed when it was logged
    sla = me.ObjectIdField()
    response_due = me.DateTimeField()
    resolution_due = me.DateTimeField()

    def __str__(self) -> str:
        return self.summary or ""
