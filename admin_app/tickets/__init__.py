"""Tickets: only the part of a ticketing system that exercises the customer record.

Logging a ticket brings the customer's flagged fields forward, shows its News, warns
of a passed expiry date and works out the SLA's due times (`facts`, `intake`); closing
one is `closing.close`, which hands the closure notice to `admin_app.mail`, and what the
agent is shown before that notice goes is `closure_news`. The screens are
`views/tickets.py`.
"""

from __future__ import annotations

from .closing import close, reopen
from .facts import CustomerFacts, brought_forward, facts_for
from .intake import copied_values, log_ticket, stamp

__all__ = ["CustomerFacts", "brought_forward", "close", "copied_values", "facts_for",
           "log_ticket", "reopen", "stamp"]
