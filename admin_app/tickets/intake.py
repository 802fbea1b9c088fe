"""Logging a ticket: what it keeps from the moment it was logged.

A ticket stores copies, not links, of what the customer record said when it was
logged (the brought-forward values under the labels they had, the SLA's due times,
the expiry date that had passed), so later edits of the customer or the dictionary do
not rewrite its history. The ticket form and `log_ticket` (scripts, tests) both go
through `stamp`.
"""

from __future__ import annotations

import typing as t
from datetime import datetime

from ..dictionary import Field
from ..dictionary.values import to_storage
from ..models import Customer, Ticket
from ..models.kept import now
from .closing import close
from .facts import CustomerFacts, facts_for


def copied_values(facts: CustomerFacts) -> dict[str, t.Any]:
    """The brought-forward values as the chosen record stores them."""
    return {field.name: facts.value(field) for field in facts.copied}


def stamp(ticket: Ticket, facts: CustomerFacts, values: t.Mapping[str, t.Any],
          fields: t.Iterable[Field]) -> None:
    """Fill a new ticket from `facts`, with the brought-forward `values` (as edited on the
    form; stored values) of `fields` kept under their labels of today."""
    at = ticket.logged_at or now()
    fields = list(fields)
    ticket.customer = facts.record.pk
    ticket.logged_at = at
    ticket.brought_forward_labels = {field.name: field.label for field in fields}
    keep_values(ticket, values, fields)
    if "email" not in ticket.brought_forward_labels:
        email = getattr(facts.record, "email", None)
        ticket.email = email if isinstance(email, str) else None
    expired_on = facts.expired_on
    ticket.expired_on = datetime(expired_on.year, expired_on.month, expired_on.day) \
        if expired_on else None
    if facts.service is None:
        ticket.sla = ticket.response_due = ticket.resolution_due = None
    else:
        ticket.sla = facts.service.sla.pk
        ticket.response_due, ticket.resolution_due = facts.service.due(at)


def keep_values(ticket: Ticket, values: t.Mapping[str, t.Any],
                fields: t.Iterable[Field]) -> None:
    """Store the brought-forward `values` (as a form or the record holds them) of
    `fields`. The closure notice goes to the address on the ticket: the Email brought
    forward, as the agent may have corrected it, when Email is brought forward."""
    stored = {field.name: to_storage(field, values.get(field.name)) for field in fields}
    ticket.brought_forward = {name: value for name, value in stored.items()
                              if value is not None}
    if "email" in stored:
        email = stored["email"]
        ticket.email = email if isinstance(email, str) else None


def log_ticket(record: Customer, summary: str, *, description: str = "",
               contact: t.Any = None, status: str = "open",
               values: t.Mapping[str, t.Any] | None = None) -> Ticket:
    """Log a ticket for `record` as the form would, bringing its values forward unless
    `values` gives others; a ticket logged as closed is closed through `close`."""
    ticket = Ticket(summary=summary, description=description or None, status="open",
                    contact=getattr(contact, "pk", contact), logged_at=now())
    facts = facts_for(record, ticket.logged_at)
    stamp(ticket, facts, {**copied_values(facts), **(values or {})}, facts.copied)
    ticket.save()
    if status == "closed":
        close(ticket)
    return ticket
