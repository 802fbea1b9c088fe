"""What exporting a list costs (issue 24, point 5's measured goal), on the embedded store:
the Customer list as XLSX (`records.list_export`, XlsxWriter in constant-memory mode) at
10,000 and at 100,000 Customers (each pointing to one of 1,000 Orgs, whose names the
export looks up), against `seed export` of the same Customers.

For each size:
- the peak memory the XLSX export allocates (tracemalloc, a run of its own), which stays
  flat as the list grows: the export holds one batch of records, not the list;
- the seconds the XLSX export takes (the unfiltered list: one stream in the store's
  order) and the same list narrowed by a search and sorted by name (its ids read in that
  order once, then the records a batch at a time by id), and the CSV export;
- the seconds `seed export` takes for the same Customers (`importer.export.export`,
  customers only, to a JSON file).

Then the goal: the XLSX export of 100,000 records ≤ 3 × the time of `seed export` of
them. Not a test: it asserts nothing.

    .venv/bin/python bench/list_export_bench.py
"""

from __future__ import annotations

import sys
import tempfile
import time
import tracemalloc
import typing as t
from pathlib import Path

import mongoengine

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from scale_bench import customer_values, org_values  # noqa: E402

SIZES = (10_000, 100_000)
ORGS = 1_000
BATCH = 5_000


def seed_orgs() -> list[t.Any]:
    from admin_app.models import Customer
    from admin_app.records import search_keys

    fields = search_keys.searched_fields("customer")
    docs = []
    for i in range(ORGS):
        doc = {**org_values(i), "archived": False, "revision": 1}
        doc["search_keys"] = search_keys.keys_for("customer", doc, fields)
        docs.append(doc)
    return list(Customer._get_collection().insert_many(docs).inserted_ids)


def seed_customers(start: int, stop: int, orgs: list[t.Any]) -> None:
    """Customers stored as the importer stores them (Archive flag, revision, search keys)."""
    from admin_app.models import Customer
    from admin_app.records import search_keys

    fields = search_keys.searched_fields("customer")
    coll = Customer._get_collection()
    for first in range(start, stop, BATCH):
        docs = []
        for i in range(first, min(stop, first + BATCH)):
            doc = {**customer_values(i, orgs[i % ORGS], i % ORGS), "archived": False,
                   "revision": 1}
            doc["search_keys"] = search_keys.keys_for("customer", doc, fields)
            docs.append(doc)
        coll.insert_many(docs)


def drain(chunks: t.Iterator[t.Any]) -> int:
    return sum(len(chunk) for chunk in chunks)


def measure(app: t.Any, size: int, tmp: Path) -> dict[str, float]:
    from admin_app import dictionary
    from admin_app.importer.export import export
    from admin_app.records import list_export
    from admin_app.records.listing import ListState
    from admin_app.records.write import collection_of

    figures: dict[str, float] = {}
    with app.app_context():
        snapshot = dictionary.current()
        whole = ListState.from_args({}, snapshot, "customer", "Customer")
        narrowed = ListState.from_args({"search": "a"}, snapshot, "customer", "Customer")
        collection = collection_of("customer")

        tracemalloc.start()
        drain(list_export.xlsx_chunks(whole, collection, "Customers"))
        figures["peak MB"] = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()

        started = time.perf_counter()
        size_bytes = drain(list_export.xlsx_chunks(whole, collection, "Customers"))
        figures["xlsx s"] = time.perf_counter() - started
        started = time.perf_counter()
        drain(list_export.csv_chunks(whole, collection))
        figures["csv s"] = time.perf_counter() - started
        started = time.perf_counter()
        rows = sum(1 for _ in list_export.rows(narrowed, collection))
        drain(list_export.xlsx_chunks(narrowed, collection, "Customers"))
        figures["narrowed xlsx s"] = time.perf_counter() - started
        started = time.perf_counter()
        counts = export(tmp / f"seed-{size}.json", ["customers"])
        figures["seed export s"] = time.perf_counter() - started
    print(f"  XLSX export: peak {figures['peak MB']:.1f} MB allocated (tracemalloc), "
          f"{figures['xlsx s']:.1f} s, {size_bytes / 1e6:.1f} MB file", flush=True)
    print(f"  CSV export: {figures['csv s']:.1f} s", flush=True)
    print(f"  XLSX export of the list searched 'a', sorted by name ({rows:,} records, "
          f"ids in order, then by id): {figures['narrowed xlsx s']:.1f} s (with a count pass)",
          flush=True)
    print(f"  seed export of the same {counts['customers']:,} Customers: "
          f"{figures['seed export s']:.1f} s", flush=True)
    return figures


def main() -> None:
    from admin_app.warmup import warm_up
    from tests.conftest import make_app

    results: dict[int, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        app = make_app(tmp, "embedded")
        with app.app_context():
            orgs = seed_orgs()
        done = 0
        for size in SIZES:
            with app.app_context():
                started = time.perf_counter()
                seed_customers(done, size, orgs)
                print(f"{size:,} Customers (and {ORGS:,} Orgs): seeded "
                      f"{size - done:,} in {time.perf_counter() - started:.1f} s", flush=True)
            done = size
            warm_up(app)
            results[size] = measure(app, size, tmp)
        mongoengine.disconnect()
    small, large = results[SIZES[0]], results[SIZES[-1]]
    print("\nGoals (embedded store, one run):")
    print(f"  peak memory of the XLSX export: {small['peak MB']:.1f} MB at {SIZES[0]:,}, "
          f"{large['peak MB']:.1f} MB at {SIZES[-1]:,} records "
          f"({large['peak MB'] / small['peak MB']:.2f}x for 10x the records: "
          f"{'flat' if large['peak MB'] <= 1.5 * small['peak MB'] else 'NOT flat'})")
    ratio = large["xlsx s"] / large["seed export s"]
    print(f"  XLSX export of {SIZES[-1]:,} / seed export of the same: {large['xlsx s']:.1f} / "
          f"{large['seed export s']:.1f} s = {ratio:.2f}x (goal <= 3x: "
          f"{'met' if ratio <= 3 else 'NOT met'})")


if __name__ == "__main__":
    main()
