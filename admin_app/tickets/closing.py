"""Closing a ticket: the one place that moves a ticket from open to closed.

The closure notice (by mail, with the customer's News on Closure) belongs to
`admin_app.mail`: `close` calls its `notify_closure` once the close is stored, and only
when this call is the one that closed the ticket, so two agents closing the same ticket
at once cause one notice, not two. Mail sits below tickets (it reads tickets, never
imports this package), so this is a plain import.
"""

from __future__ import annotations

from .. import mail
from ..models import Ticket
from ..models.kept import now
from ..models.tickets import day_key, keys_of

# What the one who tried to close a ticket is told when another close won (screen, API).
CLOSED_MEANWHILE = "Someone else closed this ticket meanwhile; it was not closed twice."


def close(ticket: Ticket) -> bool:
    """Close an open ticket (status, `closed_at`) and queue its closure notice. False, and
    nothing sent, when the ticket was already closed (by someone else, meanwhile).

    The ticket is closed whatever the notice does: `notify_closure` records every problem
    in the outbox, in words, and never raises, so the agent is not shown an error for a
    close that was stored."""
    at = now()
    closed = Ticket.objects(pk=ticket.pk, status="open").update_one(
        set__status="closed", set__closed_at=at, set__updated_at=at,
        push__search_keys=day_key("closed_at", at))  # as `keys_of` gives it, last
    if not closed:
        ticket.reload()
        return False
    ticket.status, ticket.closed_at, ticket.updated_at = "closed", at, at
    ticket.search_keys = keys_of(ticket)
    mail.notify_closure(ticket)
    return True


def reopen(ticket: Ticket) -> None:
    """A reopened ticket is open again: it has no closing time until it is closed anew."""
    ticket.status, ticket.closed_at = "open", None
