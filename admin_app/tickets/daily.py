"""Tickets opened and closed per day over the last days, for Home's chart.

One aggregation answers both series: the tickets logged or closed since the first day
(an `$or` whose branches the `-logged_at` and `closed_at` indexes serve), grouped by the
pair (day logged, day closed), each day only if it falls in the window. That is at most
(days + 1)² groups whatever the number of tickets, and Python adds them up per day. Days
are UTC days, as every time the app shows is UTC (`shown.when`); a day without tickets
is a zero, never a gap.
"""

from __future__ import annotations

import typing as t
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from ..models import Ticket

DAYS = 30
_DAY_FORMAT = "%Y-%m-%d"


@dataclass(frozen=True)
class Day:
    day: date
    opened: int
    closed: int


def _day_of(field: str, since: datetime) -> dict[str, t.Any]:
    """The field's UTC day as YYYY-MM-DD when it is on or after `since`, else null (a
    ticket logged before the window that closed within it, or one not closed)."""
    return {"$cond": [{"$gte": [f"${field}", since]},
                      {"$dateToString": {"format": _DAY_FORMAT, "date": f"${field}"}},
                      None]}


def per_day(today: date, days: int = DAYS) -> list[Day]:
    """Each of the `days` days up to and including `today`, oldest first, with how many
    tickets were logged and closed on it."""
    first = today - timedelta(days=days - 1)
    since = datetime(first.year, first.month, first.day)
    pipeline = [
        {"$match": {"$or": [{"logged_at": {"$gte": since}}, {"closed_at": {"$gte": since}}]}},
        {"$group": {"_id": {"opened": _day_of("logged_at", since),
                            "closed": _day_of("closed_at", since)},
                    "n": {"$sum": 1}}},
    ]
    opened: Counter[str] = Counter()
    closed: Counter[str] = Counter()
    for group in Ticket._get_collection().aggregate(pipeline):
        if group["_id"].get("opened"):
            opened[group["_id"]["opened"]] += group["n"]
        if group["_id"].get("closed"):
            closed[group["_id"]["closed"]] += group["n"]
    shown = [first + timedelta(days=n) for n in range(days)]
    return [Day(day, opened[day.isoformat()], closed[day.isoformat()]) for day in shown]
