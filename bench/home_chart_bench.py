"""What Home's chart (tickets opened and closed per day over 30 days) costs as tickets pile
up, on the embedded store, against the aggregation it replaced in the same run.

Tickets are spread evenly over three years (a third left open, the rest closed two days
after they were logged), stored with the keys the app gives them (`models.tickets.keys_of`,
which name the days each was logged and closed). For each size it times:

- the chart as Home asks for it (`tickets.daily.per_day`: an equality on those day keys,
  which the embedded store's keys table answers);
- the same figures from the aggregation Home used before, a range on the times
  (`logged_at` or `closed_at` on or after the first day), which the embedded store
  answers by reading every ticket: the baseline.

Both must give the same figures (checked). Not a test: it asserts nothing else.

    .venv/bin/python bench/home_chart_bench.py [--sizes 1000 50000] [--repeat 9]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

from bson import ObjectId

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from timing import median_ms  # noqa: E402

TODAY = date(2026, 12, 3)
YEARS = 3


def seed(count: int) -> None:
    from admin_app.models import Ticket
    from admin_app.models.tickets import keys_of

    collection = Ticket._get_collection()
    start = datetime(TODAY.year - YEARS, TODAY.month, TODAY.day)
    span = (datetime(TODAY.year, TODAY.month, TODAY.day) - start).total_seconds()
    batch = []
    for i in range(count):
        logged = start + timedelta(seconds=span * i / count)
        closed = logged + timedelta(days=2) if i % 3 else None
        doc = {"customer": ObjectId(), "summary": f"Printer jams {i}", "logged_at": logged,
               "status": "closed" if closed else "open", "closed_at": closed}
        doc["search_keys"] = keys_of(doc)
        batch.append(doc)
        if len(batch) == 5000:
            collection.insert_many(batch)
            batch = []
    if batch:
        collection.insert_many(batch)


def by_time_range(days: int) -> tuple[list[int], list[int]]:
    """The figures as the aggregation before day keys found them: a range on the times."""
    from admin_app.models import Ticket

    first = TODAY - timedelta(days=days - 1)
    since = datetime(first.year, first.month, first.day)
    opened: Counter[date] = Counter()
    closed: Counter[date] = Counter()
    match = {"$or": [{"logged_at": {"$gte": since}}, {"closed_at": {"$gte": since}}]}
    for doc in Ticket._get_collection().find(match, {"logged_at": 1, "closed_at": 1}):
        if doc["logged_at"] >= since:
            opened[doc["logged_at"].date()] += 1
        if doc.get("closed_at") and doc["closed_at"] >= since:
            closed[doc["closed_at"].date()] += 1
    shown = [first + timedelta(days=n) for n in range(days)]
    return [opened[d] for d in shown], [closed[d] for d in shown]


def measure(count: int, repeat: int) -> tuple[float, float, int]:
    import mongoengine

    from admin_app import create_app
    from admin_app.tickets import daily

    with tempfile.TemporaryDirectory() as folder:
        app = create_app({"TESTING": True, "SECRET_KEY": "bench", "MONGODB_URI": None,
                          "INSTANCE_PATH": str(Path(folder) / "instance")})
        with app.app_context():
            seed(count)
            chart = daily.per_day(TODAY)
            figures = ([d.opened for d in chart], [d.closed for d in chart])
            assert figures == by_time_range(daily.DAYS), "the two reads disagree"
            keyed = median_ms(lambda: daily.per_day(TODAY), repeat)
            ranged = median_ms(lambda: by_time_range(daily.DAYS), repeat)
        mongoengine.disconnect_all()
    return keyed, ranged, sum(figures[0]) + sum(figures[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 50_000])
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    print(f"{'tickets':>8}  {'in window':>9}  {'chart (day keys)':>16}  "
          f"{'time range (before)':>19}  ratio")
    for count in args.sizes:
        keyed, ranged, shown = measure(count, args.repeat)
        print(f"{count:>8,}  {shown:>9,}  {keyed:>13.1f} ms  {ranged:>16.1f} ms  "
              f"{ranged / keyed:5.1f}x faster")


if __name__ == "__main__":
    main()
