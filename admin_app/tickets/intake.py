"""Logging a ticket: what it keeps from the moment it was logged.

A ticket stores copies, not links, of what the customer record said when it was
logged (the brought-forward values under the labels they had, the SLA's due times,
the expiry date that had passed), so later edits of the customer or the dictionary do
not rewrite its history.

What a save does around the ticket's own fields is `prepare` (before the save) and
`finish` (after it): the ticket screen (whose save Flask-Admin makes between its two
hooks), `log_ticket` (the portal, scripts, tests) and the API all call these two, so a
ticket logged or closed any way in is stamped, reopened and closed alike.
"""

from __future__ import annotations

import typing as t
from datetime import datetime

from ..dictionary import Field
from ..dictionary.values import to_storage
from ..models import Customer, Ticket
from ..models.kept import now
from .closing import close, reopen
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


def prepare(ticket: Ticket, values: t.Mapping[str, t.Any], fields: t.Iterable[Field], *,
            record: Customer | None = None, was: str | None = None) -> bool:
    """Before a ticket's save, with its own fields (summary, status…) already set: a new
    ticket (`record`: its customer; `was` None) is stamped as logged now, a logged one
    (`was`: its stored status) keeps its brought-forward `values` of `fields`. A ticket
    saved open after being closed is reopened.

    Returns whether the save closes it: such a ticket is saved open, then closed by
    `finish` through `closing.close`, the one place a ticket closes (so its closure notice
    is queued once, by whichever close won)."""
    if was is None:
        if record is None:
            raise ValueError("A new ticket needs the customer it is logged for.")
        ticket.logged_at = now()
        stamp(ticket, facts_for(record, ticket.logged_at), values, fields)
    else:
        keep_values(ticket, values, fields)
    closing = (was or "open") == "open" and ticket.status == "closed"
    if closing:
        ticket.status = "open"
    elif was == "closed" and ticket.status == "open":
        reopen(ticket)
    return closing


def finish(ticket: Ticket, closing: bool) -> bool:
    """After the save `prepare` was for: close the ticket if that save was to close it.
    False when it was to close it and someone else closed it meanwhile (not closed, or
    notified, twice)."""
    return close(ticket) if closing else True


def log_ticket(record: Customer, summary: str, *, description: str = "",
               contact: t.Any = None, status: str = "open",
               values: t.Mapping[str, t.Any] | None = None) -> Ticket:
    """Log a ticket for `record` as the form would, bringing its values forward unless
    `values` gives others; a ticket logged as closed is closed through `close`."""
    ticket = Ticket(summary=summary, description=description or None, status=status,
                    contact=getattr(contact, "pk", contact))
    facts = facts_for(record, now())
    closing = prepare(ticket, {**copied_values(facts), **(values or {})}, facts.copied,
                      record=record)
    ticket.save()
    finish(ticket, closing)
    return ticket
