"""The outbox: every notice is stored before it is sent, and sent at most once.

A notice that cannot go out now (no server configured, the server down or refusing)
waits here with the reason in words, for `flask mail retry` or the Outbox screen.

**Nothing is sent twice.** A sender first *claims* the message with one conditional
update (only a queued message that nobody holds, or whose holder's claim has expired,
can be claimed); only the sender whose update matched talks to the SMTP server, then
marks the message sent or gives the claim back with the error, in both cases only while
it still holds the claim. Two `mail retry` runs, or a retry racing the first attempt,
cannot both send. A claim carries its time: a process killed mid-send leaves a claim
that expires after `claim_expiry()`, longer than any one delivery may take.

The claim is one conditional single-document update and a notice is queued once by
the unique index on `key`; both are atomic on every store (a MongoDB server by itself,
the embedded store in one SQLite transaction per write, mongomock under one lock), so
no lock is taken here.
"""

from __future__ import annotations

import typing as t
import uuid
from datetime import timedelta

import mongoengine as me
from flask import current_app

from ..models.kept import now

STATUSES = ("queued", "sent", "failed")
CLAIM_MINUTES = 5


class OutboxMessage(me.Document):
    """One notice: what it says, where it goes, and how its delivery went."""

    meta = {
        "collection": "mail_outbox",
        "indexes": [{"fields": ["key"], "unique": True}, "-created_at",
                    ("status", "created_at")],
        "ordering": ["-created_at"],
    }

    # What the notice is about, e.g. "closure:<ticket id>": the same notice is queued once.
    key = me.StringField(required=True)
    kind = me.StringField(required=True)
    ticket = me.ObjectIdField()
    to = me.StringField()
    subject = me.StringField(required=True)
    body = me.StringField(required=True)
    status = me.StringField(required=True, choices=STATUSES, default="queued")
    created_at = me.DateTimeField(required=True, default=now)
    attempts = me.IntField(default=0)
    last_attempt_at = me.DateTimeField()
    last_error = me.StringField()  # in words, for the admin; never holds a password
    sent_at = me.DateTimeField()
    # Who is sending it right now, and since when (see the module docstring).
    claimed_by = me.StringField()
    claimed_at = me.DateTimeField()

    def __str__(self) -> str:
        return self.subject or ""

    @property
    def sending_elsewhere(self) -> bool:
        return bool(self.claimed_by) and self.claimed_at is not None \
            and self.claimed_at > now() - claim_expiry()


def claim_expiry() -> timedelta:
    """Longer than a delivery can take: a handful of SMTP steps, each bounded by the timeout."""
    timeout = float(current_app.config.get("SMTP_TIMEOUT") or 10)
    return max(timedelta(minutes=CLAIM_MINUTES), timedelta(seconds=10 * timeout))


def queue(message: OutboxMessage) -> OutboxMessage:
    """Store `message` unless a message with its key exists; return the stored one."""
    existing = OutboxMessage.objects(key=message.key).first()
    if existing is not None:
        return existing
    try:
        return message.save(force_insert=True)
    except me.NotUniqueError:  # another process queued it a moment ago
        return OutboxMessage.objects.get(key=message.key)


def claim(message: OutboxMessage) -> str | None:
    """Take the right to send `message`: a token if this caller now holds it, else None."""
    token = uuid.uuid4().hex
    moment = now()
    result = OutboxMessage._get_collection().update_one(
        {"_id": message.pk, "status": "queued",
         "$or": [{"claimed_by": None}, {"claimed_at": {"$lt": moment - claim_expiry()}}]},
        {"$set": {"claimed_by": token, "claimed_at": moment, "last_attempt_at": moment},
         "$inc": {"attempts": 1}},
    )
    return token if result.modified_count == 1 else None


def mark_sent(message: OutboxMessage, token: str) -> bool:
    """The server accepted it: sent, claim released (only by the claim's holder)."""
    return _finish(message, token, {"status": "sent", "sent_at": now(), "last_error": None})


def release(message: OutboxMessage, token: str, error: str) -> bool:
    """Not sent: back in the queue with the reason, for the next attempt."""
    return _finish(message, token, {"last_error": error})


def _finish(message: OutboxMessage, token: str, changes: dict[str, t.Any]) -> bool:
    result = OutboxMessage._get_collection().update_one(
        {"_id": message.pk, "claimed_by": token},
        {"$set": {**changes, "claimed_by": None, "claimed_at": None}},
    )
    return result.modified_count == 1


def note(message: OutboxMessage, error: str) -> None:
    """Record why a queued message was not even tried (mail is not configured)."""
    OutboxMessage.objects(pk=message.pk, status="queued").update_one(set__last_error=error)


def waiting() -> list[OutboxMessage]:
    """Queued messages, oldest first: the order they were meant to go out in."""
    return list(OutboxMessage.objects(status="queued").order_by("created_at", "id"))
