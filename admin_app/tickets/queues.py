"""The tickets waiting for an agent: open ones, and those due soon or overdue against
their SLA. One definition serves Home's counts and the ticket list they link to, so a
count and the list behind it always ask the same question.

"Due" is the resolution due time the SLA gave the ticket when it was logged
(`intake.stamp`): a ticket has no record of a first response, so its response due time
cannot be judged met or missed, while an open ticket past its resolution due time plainly
is overdue. A ticket without an SLA is never due. Each question is one equality on the
status and one range on `resolution_due`, which the (status, resolution_due, _id) index
serves for the count and, in due order, for the list (models/tickets.py).
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass
from datetime import datetime, timedelta

DUE_SOON_HOURS = 24
# The list's order for a due question: the most pressing first, the id breaking ties, so
# paging never repeats or skips a ticket that shares a due time with another.
DUE_ORDER = ("resolution_due", "id")


@dataclass(frozen=True)
class Due:
    """A question about resolution due times, as the ticket list's `due=` argument names it."""

    name: str
    heading: str  # what the list of them is called

    def query(self, at: datetime) -> dict[str, t.Any]:
        """The open tickets this question finds at `at` (a raw MongoDB filter)."""
        if self.name == "overdue":
            return {"status": "open", "resolution_due": {"$lt": at}}
        return {"status": "open", "resolution_due": {
            "$gte": at, "$lt": at + timedelta(hours=DUE_SOON_HOURS)}}


SOON = Due("soon", f"Open tickets due in the next {DUE_SOON_HOURS} hours")
OVERDUE = Due("overdue", "Open tickets overdue against their SLA")
DUE: dict[str, Due] = {due.name: due for due in (SOON, OVERDUE)}

# The ticket list's `status=` argument: a status, and what the list of them is called.
STATUS_HEADINGS = {"open": "Open tickets", "closed": "Closed tickets"}


def open_query() -> dict[str, t.Any]:
    return {"status": "open"}
