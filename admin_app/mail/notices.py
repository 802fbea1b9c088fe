"""What a closure notice says: the ticket, and the customer's (and its Org's) News on Closure.

Built once, when the ticket closes, and stored in the outbox as plain text: a retry
days later sends what was true at closing, not the record as it has been edited since.
"""

from __future__ import annotations

import typing as t

from .. import dictionary
from ..models import Customer, Ticket
from .outbox import OutboxMessage

NEWS_FIELD = "news_on_closure"


def closure_key(ticket: Ticket) -> str:
    """One notice per closing: a second call for the same closing finds it queued, while a
    ticket reopened and closed again is a new closing with a notice of its own. The time
    is taken to the millisecond, what the store keeps, so a reloaded ticket gives the
    same key as the one just saved."""
    at = ticket.closed_at
    if at is None:
        return f"closure:{ticket.pk}"
    return f"closure:{ticket.pk}:{at:%Y-%m-%dT%H:%M:%S}.{at.microsecond // 1000:03d}"


def closure_notice(ticket: Ticket) -> OutboxMessage:
    """The closure notice for a closed ticket, unsaved."""
    summary = _one_line(ticket.summary or "")
    lines = [f'Your ticket "{summary}" has been closed.', "", f"Summary: {summary}"]
    if ticket.closed_at:
        lines.append(f"Closed: {ticket.closed_at:%Y-%m-%d %H:%M} UTC")
    for title, news in news_on_closure(ticket.customer):
        lines += ["", f"{title}:", news]
    return OutboxMessage(key=closure_key(ticket), kind="closure", ticket=ticket.pk,
                         to=(ticket.email or "").strip() or None,
                         subject=f"Ticket closed: {summary}",
                         body="\n".join(lines) + "\n")


def news_on_closure(record_id: t.Any) -> list[tuple[str, str]]:
    """(title, text) for the ticket's customer and, when it belongs to one, its Org.

    Titled with the field's label and the Level's word from the dictionary, so a
    relabelled "News on Closure" or an Org called "Tenant" reads the same as on screen.
    A retired field is no longer part of the record: its old text is not sent.
    """
    snapshot = dictionary.current()
    field = snapshot.fields.get("customer", {}).get(NEWS_FIELD)
    if field is None or field.retired or record_id is None:
        return []
    record = Customer.objects(pk=record_id).first()
    if record is None:
        return []
    records = [record]
    if record.level != "Org" and record.org:
        org = Customer.objects(pk=record.org).first()
        if org is not None:
            records.append(org)
    entity = snapshot.entities.get("customer")
    found = []
    for each in records:
        news = getattr(each, NEWS_FIELD, None)
        if isinstance(news, str) and news.strip():
            level = entity.level(each.level).singular if entity else each.level
            found.append((f"{field.label} ({level}: {each.name})", news.strip()))
    return found


def _one_line(text: str) -> str:
    """A mail header cannot hold a line break; a summary typed with one reads as one line."""
    return " ".join(text.split())
