"""Sending a queued message: claim it, hand it to the server, then mark it or give it back."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime

from flask import current_app

from . import outbox, smtp
from .outbox import OutboxMessage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """What one delivery attempt did; `failed` is true when the message still has to go out."""

    sent: bool
    text: str
    failed: bool = False


def settings() -> smtp.Settings:
    return smtp.Settings.from_config(current_app.config)


def deliver(message: OutboxMessage) -> Outcome:
    """Try to send one outbox message now; never raises for a delivery problem."""
    config = settings()
    message.reload()
    if message.status == "sent":
        return Outcome(True, "already sent")
    if message.status == "failed":
        return Outcome(False, f"cannot be sent: {message.last_error}", failed=True)
    if not config.configured:
        outbox.note(message, smtp.NOT_CONFIGURED)
        return Outcome(False, f"still waiting: {smtp.NOT_CONFIGURED}", failed=True)
    token = outbox.claim(message)
    if token is None:
        message.reload()
        if message.status == "sent":
            return Outcome(True, "already sent")
        return Outcome(False, "being sent by another process; not sent again by this one")
    try:
        smtp.send(config, as_email(message, config))
    except smtp.DeliveryError as exc:
        outbox.release(message, token, str(exc))
        log.warning("Outbox message %s to %s was not sent: %s", message.key, message.to, exc)
        return Outcome(False, f"still failing: {exc}", failed=True)
    except Exception:
        # Not a delivery problem but a fault here: give the claim back, say so, go on.
        outbox.release(message, token, "An unexpected error stopped the delivery; the server "
                                       "log has the details.")
        log.exception("Outbox message %s: unexpected error while sending", message.key)
        return Outcome(False, "still failing: an unexpected error stopped the delivery",
                       failed=True)
    if not outbox.mark_sent(message, token):
        # Only if this delivery outlasted its claim (see outbox.claim_expiry).
        log.warning("Outbox message %s was sent, but its claim had expired meanwhile.",
                    message.key)
    log.info("Outbox message %s sent to %s.", message.key, message.to)
    return Outcome(True, "sent")


def as_email(message: OutboxMessage, config: smtp.Settings) -> EmailMessage:
    """The message as it goes on the wire. Its Message-ID is derived from the outbox entry,
    so in the rare case a copy is sent twice (a process killed after the server accepted
    it and before it was marked sent), mail systems can tell the copies are one message."""
    email = EmailMessage()
    email["From"] = config.sender
    email["To"] = message.to
    email["Subject"] = message.subject
    email["Date"] = format_datetime(datetime.now(UTC))
    domain = config.sender.rpartition("@")[2] or "localhost"
    email["Message-ID"] = f"<{message.pk}.{message.kind}@{domain}>"
    email.set_content(message.body)
    return email
