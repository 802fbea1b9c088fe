"""Mail: the closure notice, the outbox it waits in, and `flask mail`.

`notify_closure(ticket)` is what the ticket screens call once a ticket is saved closed.
Closing must not depend on a mail server: every problem ends in the outbox, in words,
and never as an exception in the caller.
"""

from __future__ import annotations

import logging

from flask import Flask

from ..dictionary.rules import is_email
from ..models import Ticket
from . import outbox
from .delivery import Outcome, deliver
from .notices import closure_notice
from .outbox import OutboxMessage

__all__ = ["OutboxMessage", "Outcome", "deliver", "init_app", "notify_closure"]

log = logging.getLogger(__name__)


def notify_closure(ticket: Ticket) -> OutboxMessage | None:
    """Queue the closure notice of a closed ticket and try to send it at once.

    Returns the outbox entry (queued, sent, or failed when it cannot be sent at all), or
    None when not even that could be recorded; it never raises, so the ticket stays
    closed whatever happens to the mail. A closing's notice is queued once: calling this
    again for the same closing sends nothing new.
    """
    if ticket.status != "closed":  # a notice would tell the customer something untrue
        log.warning("Ticket %s is not closed; no closure notice was queued.", ticket.pk)
        return None
    try:
        message = closure_notice(ticket)
        if not message.to:
            unsendable(message, "The ticket has no email address, so the closure notice "
                                "cannot be sent.")
        elif not is_email(message.to):
            unsendable(message, f"{message.to!r} is not an email address, so the closure "
                                f"notice cannot be sent.")
        message = outbox.queue(message)
        if message.status == "queued":
            deliver(message)
            message.reload()
        return message
    except Exception:
        log.exception("The closure notice of ticket %s could not be recorded.", ticket.pk)
        return None


def unsendable(message: OutboxMessage, reason: str) -> None:
    message.status, message.last_error = "failed", reason


def init_app(app: Flask) -> None:
    from .cli import mail_cli

    app.cli.add_command(mail_cli)
