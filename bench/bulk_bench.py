"""What a bulk change costs: archiving N customers from a list (`records.bulk`, as the
confirmation runs it: read the records in chunks, check each revision, write through
`batch.write` with one batch id in history) against a seed load that updates the same N
records (one changed field each), in the same store.

It prints records/s of each and their ratio, bulk over seed (goal: at least 0.5x).
Not a test: it asserts only that both changed every record.

    .venv/bin/python bench/bulk_bench.py [--records 10000] [--store embedded]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import mongoengine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from admin_app import importer  # noqa: E402
from admin_app.models import Customer  # noqa: E402
from admin_app.records import bulk  # noqa: E402
from admin_app.records.trace import COMMAND_LINE  # noqa: E402
from tests.conftest import make_app  # noqa: E402

GOAL = 0.5


def seed_file(folder: Path, count: int, department: str) -> Path:
    path = folder / f"customers-{department}.json"
    path.write_text(json.dumps({"customers": [
        {"name": f"Customer {i:05d}", "email": f"customer{i:05d}@example.com",
         "department": department, "location": "HQ"} for i in range(count)]}),
        encoding="utf-8")
    return path


def run(store: str, count: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        app = make_app(folder, store)
        with app.app_context():
            report = importer.load([seed_file(folder, count, "Sales")])
            assert report.ok, report.failure_lines(5)
            start = time.perf_counter()
            report = importer.load([seed_file(folder, count, "Finance")])
            seed_seconds = time.perf_counter() - start
            assert report.ok, report.failure_lines(5)
            assert Customer.objects(department="Finance").count() == count
            start = time.perf_counter()
            change = bulk.prepare("customer", "Customer", "customer",
                                  {"level": "Customer", "archived": False}, bulk.ARCHIVE,
                                  None, None, lambda n: f"Archive {n:,} Customers?", [],
                                  COMMAND_LINE)
            assert bulk.confirm(change)
            bulk.run(str(change.pk))
            bulk_seconds = time.perf_counter() - start
            change.reload()
            assert change.updated == count, (change.updated, change.refused[:3])
        mongoengine.disconnect()
    seed_rate, bulk_rate = count / seed_seconds, count / bulk_seconds
    ratio = bulk_rate / seed_rate
    print(f"{store}: {count:,} records. Seed load update {seed_seconds:.2f} s "
          f"({seed_rate:,.0f} records/s); bulk archive {bulk_seconds:.2f} s "
          f"({bulk_rate:,.0f} records/s, confirmation read included); ratio {ratio:.2f}x "
          f"(goal at least {GOAL}x): {'met' if ratio >= GOAL else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--store", choices=["embedded", "mongomock", "both"], default="both")
    args = parser.parse_args()
    for store in (["embedded", "mongomock"] if args.store == "both" else [args.store]):
        run(store, args.records)


if __name__ == "__main__":
    main()
