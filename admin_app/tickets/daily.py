"""Tickets opened and closed per day over the last days, for Home's chart.

One aggregation answers both series: the tickets whose keys name a day of the window as
their day logged or closed (`models.tickets.day_key`: an equality on the search keys,
which an index serves on both stores, where a range of times is one the embedded store
reads every ticket for), grouped by the pair (day logged, day closed), each day only if
it falls in the window. That is at most (days + 1)² groups whatever the number of
tickets, and Python adds them up per day. Days are UTC days, as every time the app
shows is UTC (`shown.when`); a day without tickets is a zero, never a gap.
"""

from __future__ import annotations

import typing as t
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from ..models import Ticket
from ..models.tickets import DAYS_KEYED, day_key

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
        {"$match": {"search_keys": {"$in": [day_key(name, first + timedelta(days=n))
                                             for name in DAYS_KEYED for n in range(days)]}}},
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
