"""Tickets: only the part of a ticketing system that exercises the customer record.

A ticket keeps what it was logged with (the brought-forward values under the labels
they had, the SLA's due times, whether the customer's expiry date had passed), so later
edits of the customer or the dictionary do not rewrite its history.

The ticket list's search box matches `search_keys`, the prefixes of every word of the
summary and of the first DESCRIPTION_WORDS words of the description (`search.py`, as
records do). A description runs to 20,000 characters (a pasted log or mail thread):
keyed whole it would give one ticket thousands of keys, each an entry in every search
index, while what a ticket is about is said in its summary and first lines. One
equality per typed word, which
the (search_keys, -logged_at) indexes serve newest first, where a "contains" pattern
would read every ticket. `clean()` keeps the keys on every save (the ticket form, the
portal and `tickets.log_ticket` all save through it; closing changes neither text), and
`rekey_all()` gives them to tickets a store kept from before (`upkeep.py`).

A ticket's keys also name the days it was logged and closed (`day_key`): Home's chart
asks for the tickets of its thirty days as an equality on those keys, which an index
serves on both stores (the embedded store's keys table, `store/litemongo_changes/
keys_table.py`, answers equalities, not a range of times). No search word starts with
`@`, so a search never finds a day key.
"""

from __future__ import annotations

import typing as t
from datetime import date

import mongoengine as me

from . import search
from .kept import Kept, now

STATUSES = ("open", "closed")
# What a ticket's search keys are made of, in the order the list's placeholder names them.
SEARCHED = ("summary", "description")
# How much of the description is keyed: about a paragraph, where a ticket says what is
# wrong. With the summary's 200 characters, a ticket has at most 200 + 12 x 100 keys.
DESCRIPTION_WORDS = 100
# The times whose UTC day a ticket's keys name (`day_key`).
DAYS_KEYED = ("logged_at", "closed_at")


class Ticket(Kept, me.Document):
    meta = {
        "collection": "tickets",
        "indexes": [("customer", "-logged_at"), ("status", "-logged_at"),
                    "-logged_at",  # the ticket list, newest first
                    # a search of the list, and of one customer's list, newest first
                    ("search_keys", "-logged_at"),
                    ("customer", "search_keys", "-logged_at"),
                    # each of them sorted by status (views/tickets.py), the whole list's
                    # by (status, -logged_at) above
                    ("customer", "status", "-logged_at"),
                    ("search_keys", "status", "-logged_at"),
                    ("customer", "search_keys", "status", "-logged_at"),
                    # open tickets due soon or overdue (tickets/queues.py): Home's counts
                    # and the list in due order, whole, of one customer, and searched
                    ("status", "resolution_due", "_id"),
                    ("customer", "status", "resolution_due", "_id"),
                    ("search_keys", "status", "resolution_due", "_id"),
                    ("customer", "search_keys", "status", "resolution_due", "_id"),
                    # (Home's chart finds its days' tickets by their search keys: the
                    # (search_keys, -logged_at) index above, `day_key`.)
                    ],
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
    search_keys = me.ListField(me.StringField())  # the words of SEARCHED (search.py)

    def clean(self) -> None:
        super().clean()
        self.search_keys = keys_of(self)

    def __str__(self) -> str:
        return self.summary or ""


def day_key(name: str, when: date) -> str:
    """The key of a ticket whose `name` (one of DAYS_KEYED) falls on this UTC day."""
    return f"@{name}:{when:%Y%m%d}"


def keys_of(ticket: t.Any) -> list[str]:
    """The search keys of a ticket (a Ticket or a stored document) as its text and its
    times read now: the words' keys, then the days' (closing adds its day's key last)."""
    get = ticket.get if isinstance(ticket, dict) else lambda name: getattr(ticket, name, None)
    summary, description = (get(name) or "" for name in SEARCHED)
    words = search.keys_of_words([*search.words(summary),
                                  *search.words(description)[:DESCRIPTION_WORDS]])
    return [*words, *(day_key(name, get(name)) for name in DAYS_KEYED if get(name))]


def rekey_all() -> int:
    """Give every stored ticket the keys its text gives; how many were rewritten.

    Each write is a compare-and-set on the text the keys were made from, so a ticket
    saved meanwhile (whose save keyed it anew) is left as that save left it; a ticket
    whose keys are right is not written, so running this again writes nothing."""
    collection = Ticket._get_collection()
    rewritten = 0
    made_of = (*SEARCHED, *DAYS_KEYED)
    for doc in collection.find({}, {name: 1 for name in (*made_of, "search_keys")}):
        keys = keys_of(doc)
        if doc.get("search_keys") != keys:
            unchanged = {name: doc.get(name) for name in made_of}
            rewritten += collection.update_one({"_id": doc["_id"], **unchanged},
                                               {"$set": {"search_keys": keys}}).modified_count
    return rewritten
