"""How ticket facts read on the screen: one wording for the page the server draws and
for the JSON the browser fills the form from when the agent picks another customer."""

from __future__ import annotations

import typing as t
from datetime import datetime

from ..dictionary import Field
from .facts import CustomerFacts, Expiry
from .form import PREFIX


def when(value: datetime | None) -> str:
    """A stored time (UTC) for people: minutes are enough for due times."""
    return f"{value:%Y-%m-%d %H:%M} UTC" if value else ""


def expiry_warning(expiry: Expiry) -> str:
    return f"{expiry.message} You can still log the ticket; it will be marked as logged " \
           f"past expiry."


def sla_words(facts: CustomerFacts) -> str:
    """Which SLA applies and where it comes from."""
    if facts.service is None:
        return "No SLA: neither this record nor its Org has one."
    service = facts.service
    source = "" if service.source.pk == facts.record.pk else f" (from {service.source.name})"
    return f"{service.sla.name}{source}"


def due_words(facts: CustomerFacts, at: datetime) -> tuple[str, str]:
    """The response and resolution due times for a ticket logged at `at` ("—": none)."""
    due = facts.service.due(at) if facts.service else (None, None)
    return when(due[0]) or "—", when(due[1]) or "—"


def form_value(field: Field, value: t.Any) -> t.Any:
    """A stored brought-forward value as the form's input takes it (JSON-safe)."""
    return None if value is None else field.kind.to_browser(field, value)


def facts_json(facts: CustomerFacts, at: datetime) -> dict[str, t.Any]:
    """What the ticket form shows for the chosen customer, for the browser to insert as
    text (never as HTML)."""
    response_due, resolution_due = due_words(facts, at)
    return {
        "id": str(facts.record.pk),
        "name": facts.record.name or "",
        "brought_forward": [{"field": PREFIX + f.name, "label": f.label, "type": f.type,
                             "value": form_value(f, facts.value(f))} for f in facts.copied],
        "news": [{"title": item.title, "text": item.text} for item in facts.news],
        "expired": [{"date": e.on.isoformat(), "message": expiry_warning(e)}
                    for e in facts.expired],
        "sla": sla_words(facts),
        "response_due": response_due,
        "resolution_due": resolution_due,
        "contacts": [{"id": str(c.pk), "name": c.name or "(no name)"}
                     for c in facts.contacts],
    }
