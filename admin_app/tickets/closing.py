"""Closing a ticket: the one place that moves a ticket from open to closed.

The closure notice (by mail, with the customer's News on Closure) belongs to
`admin_app.mail`, built alongside this package: `close` calls its `notify_closure`
once the close is stored, and only when this call is the one that closed the ticket,
so two agents closing the same ticket at once cause one notice, not two.
"""

from __future__ import annotations

import importlib
import logging

from ..models import Ticket
from ..models.kept import now

log = logging.getLogger(__name__)


def close(ticket: Ticket) -> bool:
    """Close an open ticket (status, `closed_at`) and send its closure notice. False, and
    nothing sent, when the ticket was already closed (by someone else, meanwhile)."""
    at = now()
    closed = Ticket.objects(pk=ticket.pk, status="open").update_one(
        set__status="closed", set__closed_at=at, set__updated_at=at)
    if not closed:
        ticket.reload()
        return False
    ticket.status, ticket.closed_at, ticket.updated_at = "closed", at, at
    notify_closure(ticket)
    return True


def reopen(ticket: Ticket) -> None:
    """A reopened ticket is open again: it has no closing time until it is closed anew."""
    ticket.status, ticket.closed_at = "open", None


def notify_closure(ticket: Ticket) -> None:
    """Hand the closed ticket to `admin_app.mail.notify_closure`, when that exists.

    MAIL (issue 12, point 6) is built in parallel in `admin_app/mail/`; this is its call
    site. Until the package provides `notify_closure`, closing sends nothing. The ticket
    is closed whatever the notice does: a failure to queue it is logged, not raised, so
    the agent is not shown an error for a close that was stored.
    """
    name = f"{__package__.rsplit('.', 1)[0]}.mail"
    try:
        mail = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:  # the package exists but something it imports does not
            raise
        return
    notify = getattr(mail, "notify_closure", None)
    if notify is None:
        return
    try:
        notify(ticket)
    except Exception:
        log.exception("The closure notice for ticket %s could not be queued.", ticket.pk)
