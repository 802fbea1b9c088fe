"""What a filtered list page costs as the store grows, and what its count costs (issue 24's
measured goals for points 1 and 2), on the embedded store.

For each size (1,000 records: 500 Orgs and 500 Customers; 110,000: 100,000 Orgs and
10,000 Customers, as `scale_bench.py` builds them, with a custom choice field Tier and
an Expiry Date, both flagged filterable), a warmed app (its index built, as a worker's
is before it serves) answers, through its test client, signed in:

- the Org list filtered by two filters plus the search box: Tier is Gold, Expiry Date
  from 2026-01-01, and the search `s` (6,696 matches at 110,000, 33 at 1,000: a full
  page at both sizes, so the two pages show as much), and a narrower one (the search
  `acme`: 397 matches, and 2 at 1,000, where the page is the cheaper for holding less);
- the Customer list: Tier is Gold, Expiry Date from 2026-01-01, and the search `a` (a
  full page at both sizes), and a narrower one (Department starts with `fin`);
- each page with its count ("1–20 of …"), and the same page with the count turned off,
  each request as the first since the store last changed: what the keys table read for
  a page is remembered until a write (`KeysHeld`), and is forgotten before each request
  here; the page read again while it is remembered is printed beside;
- the count alone as the list asks it (`listing.counted`: no more than COUNT_WORK rows
  of the keys table, else "of many"), and counting them all (`count=all`);
- the unfiltered Org list, for reference.

Then the goals: the filtered page at 110,000 records ≤ 3 × the same at 1,000, and the
page with its count ≤ 2 × the page without it. With `--flag`, also the seconds making a
field filterable costs at the largest size: the search-key job rewriting every record's
keys (run to its end, as a command does; from the screen it is a job with a progress
bar). Not a test: it asserts nothing.

    .venv/bin/python bench/list_filters_bench.py [--repeat 15] [--flag]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import typing as t
from datetime import datetime
from pathlib import Path

import mongoengine

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from scale_bench import customer_values, org_values  # noqa: E402
from timing import median_ms  # noqa: E402

SIZES = ((500, 500), (100_000, 10_000))
TIERS = ("Gold", "Silver", "Bronze")
PAGES = {
    "Orgs: Tier, Expiry Date from, search 's'":
        "/admin/org/?f.tier=Gold&f.expiry_date.min=2026-01-01&search=s",
    "Orgs: Tier, Expiry Date from, search 'acme'":
        "/admin/org/?f.tier=Gold&f.expiry_date.min=2026-01-01&search=acme",
    "Customers: Tier, Expiry Date from, search 'a'":
        "/admin/customer/?f.tier=Gold&f.expiry_date.min=2026-01-01&search=a",
    "Customers: Tier, Department 'fin', search 'a'":
        "/admin/customer/?f.tier=Gold&f.department=fin&search=a",
}
UNFILTERED = "/admin/org/"


def _with_filters(values: dict[str, t.Any], i: int) -> dict[str, t.Any]:
    return {**values, "tier": TIERS[i % 3],
            "expiry_date": datetime(2025 + (i // 3) % 3, 1 + i % 12, 1 + i % 28)}


def seed(orgs: int, customers: int) -> None:
    """Orgs and Customers stored as the importer stores them: a boolean Archive flag, a
    revision, and the keys the app stores (search and filter keys, `search_keys`)."""
    from admin_app.models import Customer
    from admin_app.records import search_keys

    fields = search_keys.searched_fields("customer")
    coll = Customer._get_collection()

    def record(values: dict[str, t.Any]) -> dict[str, t.Any]:
        doc = {**values, "archived": False, "revision": 1}
        doc["search_keys"] = search_keys.keys_for("customer", doc, fields)
        return doc

    org_ids: list[t.Any] = []
    for start in range(0, orgs, 5000):
        org_ids += coll.insert_many([record(_with_filters(org_values(i), i))
                                     for i in range(start, min(orgs, start + 5000))]
                                    ).inserted_ids
    for start in range(0, customers, 5000):
        coll.insert_many([record(_with_filters(customer_values(i, org_ids[i % orgs], i % orgs),
                                               i))
                          for i in range(start, min(customers, start + 5000))])


def filterable_fields() -> None:
    from admin_app.customising.fields import add_field, update_field
    from admin_app.dictionary.documents import LayoutDefinition

    sections = {layout.level: layout.sections[0].title
                for layout in LayoutDefinition.objects(entity="customer")}
    add_field("customer", "tier", "Tier", "choice", choices=list(TIERS), sections=sections,
              filterable=True)
    update_field("customer", "expiry_date", filterable=True)


def measure(orgs: int, customers: int, repeat: int, flag: bool) -> dict[str, float]:
    from admin_app import store
    from admin_app.records import listing
    from admin_app.records.listing import ListState
    from admin_app.records.write import collection_of
    from admin_app.views import record_lists
    from admin_app.warmup import warm_up
    from tests.conftest import make_app
    from tests.helpers import login

    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        app = make_app(Path(tmp), "embedded")
        with app.app_context():
            filterable_fields()
            started = time.perf_counter()
            seed(orgs, customers)
            print(f"  seeded {orgs + customers:,} records in "
                  f"{time.perf_counter() - started:.1f} s", flush=True)
        warm_up(app)
        with app.test_client() as client:
            assert login(client).status_code == 302

            with app.app_context():
                from admin_app.records.write import collection_of as _collection_of
                from admin_app.store.bulk_reads import _litemongo_store
                from admin_app.store.litemongo_changes import keys_table

                kept_reads = _litemongo_store(_collection_of("customer"))

            def forget() -> None:
                keys_table.forget(kept_reads)

            def get(url: str, cold: bool = True) -> t.Callable[[], None]:
                def fetch() -> None:
                    if cold:
                        forget()
                    response = client.get(url)
                    if response.status_code != 200:
                        raise RuntimeError(f"GET {url}: {response.status_code}")
                return fetch

            for name, url in {**PAGES, "Orgs, unfiltered": UNFILTERED}.items():
                get(url)()  # once, unmeasured
                counted = median_ms(get(url), repeat)
                again = median_ms(get(url, cold=False), repeat)
                page = client.get(url).get_data(as_text=True)
                words = page.split('id="list-count">')[1].split("<")[0]
                real = record_lists.listing.counted
                record_lists.listing.counted = lambda *_a, **_k: None  # type: ignore[assignment]
                try:
                    plain = median_ms(get(url), repeat)
                finally:
                    record_lists.listing.counted = real  # type: ignore[assignment]
                figures[f"{name} | with count"] = counted
                figures[f"{name} | without count"] = plain
                with app.test_request_context(url):
                    from flask import request

                    from admin_app import dictionary

                    level = "Org" if "/org/" in url else "Customer"
                    state = ListState.from_args(request.args, dictionary.current(), "customer",
                                                level)
                    collection = collection_of("customer")
                    alone = median_ms(lambda collection=collection, state=state: (
                        forget(), listing.counted(state, collection)), repeat)
                    query = state.query()
                    every = median_ms(lambda collection=collection, query=query: (
                        forget(), store.bounded_count(collection, query,
                                                      listing.COUNT_BOUND + 1)), repeat)
                figures[f"{name} | count alone"] = alone
                rows = page.count('<td class="col-name">')
                figures[f"{name} | rows"] = rows
                print(f"  {name}: {counted:.1f} ms with its count ({words.strip()}; "
                      f"{rows} rows), {plain:.1f} ms without, the count alone {alone:.1f} ms "
                      f"(counting them all: {every:.1f} ms); read again while remembered: "
                      f"{again:.1f} ms", flush=True)
        if flag:
            from admin_app.customising.fields import update_field

            with app.app_context():
                started = time.perf_counter()
                update_field("customer", "phone_2", filterable=True)
                figures["flag"] = time.perf_counter() - started
                print(f"  making Phone 2 filterable (every record's keys rewritten): "
                      f"{figures['flag']:.1f} s", flush=True)
        mongoengine.disconnect()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--flag", action="store_true",
                        help="also time making a field filterable at the largest size")
    args = parser.parse_args()
    results = {}
    for orgs, customers in SIZES:
        print(f"{orgs + customers:,} records ({orgs:,} Orgs, {customers:,} Customers):",
              flush=True)
        results[orgs + customers] = measure(orgs, customers, args.repeat,
                                            args.flag and orgs == SIZES[-1][0])
    small, large = (results[o + c] for o, c in SIZES)
    print("\nGoals (embedded store, medians of", args.repeat, "requests):")
    for name in PAGES:
        ratio = large[f"{name} | with count"] / small[f"{name} | with count"]
        print(f"  {name}: 110,000 vs 1,000 records: {large[f'{name} | with count']:.1f} / "
              f"{small[f'{name} | with count']:.1f} ms = {ratio:.2f}x (goal <= 3x: "
              f"{'met' if ratio <= 3 else 'NOT met'}; rows shown: "
              f"{large[f'{name} | rows']} / {small[f'{name} | rows']})")
    for size, figures in results.items():
        for name in PAGES:
            ratio = figures[f"{name} | with count"] / figures[f"{name} | without count"]
            print(f"  {name}, {size:,} records: with its count / without = {ratio:.2f}x "
                  f"(goal <= 2x: {'met' if ratio <= 2 else 'NOT met'})")


if __name__ == "__main__":
    main()
