"""How the record screens scale: list pages and the Org search box with 100,000 Orgs.

Prints, per store (embedded on-disk, mongomock): ms per customer list page (median of
repeated requests, first page and a deep page), ms per Org lookup as an agent types,
and, as a baseline measured in the same run, the raw pymongo-level query for the same
page, so the framework's overhead shows as a ratio. Not a test: it asserts nothing.

    .venv/bin/python bench/list_bench.py [--orgs 100000] [--customers 20000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import mongoengine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from timing import median_ms  # noqa: E402

from admin_app.models import Customer  # noqa: E402
from tests.conftest import make_app  # noqa: E402
from tests.helpers import login  # noqa: E402


def seed(orgs: int, customers: int) -> None:
    coll = Customer._get_collection()
    batch = 5000
    for start in range(0, orgs, batch):
        coll.insert_many([{"name": f"Org {i:06d}", "level": "Org", "archived": False}
                          for i in range(start, min(orgs, start + batch))])
    for start in range(0, customers, batch):
        coll.insert_many([{"name": f"Customer {i:06d}", "level": "Customer", "archived": False,
                           "department": f"Dept {i % 50}"}
                          for i in range(start, min(customers, start + batch))])


def run(store: str, orgs: int, customers: int, repeat: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = make_app(Path(tmp), store)
        start = time.perf_counter()
        seed(orgs, customers)
        print(f"[{store}] seeded {orgs} orgs + {customers} customers in "
              f"{time.perf_counter() - start:.1f} s")
        coll = Customer._get_collection()
        with app.test_client() as client:
            login(client)
            last_page = customers // 20 - 1

            def page(n: int):
                return lambda: client.get(f"/admin/customer/?sort=0&page={n}")

            def raw(n: int):
                return lambda: list(coll.find({"level": "Customer", "archived": {"$ne": True}})
                                    .sort("name", 1).skip(n * 20).limit(20))

            def lookup(term: str):
                return lambda: client.get(f"/admin/customer/ajax/lookup/?name=org&query={term}")

            first, first_raw = median_ms(page(0), repeat), median_ms(raw(0), repeat)
            deep, deep_raw = median_ms(page(last_page), repeat), median_ms(raw(last_page), repeat)
            print(f"[{store}] list page 1:    {first:8.1f} ms  (raw query {first_raw:7.1f} ms, "
                  f"ratio {first / first_raw:5.1f}x)")
            print(f"[{store}] list page {last_page}: {deep:8.1f} ms  (raw query {deep_raw:7.1f} "
                  f"ms, ratio {deep / deep_raw:5.1f}x)")
            for term in ("", "Org 0999", "99999"):
                took = median_ms(lookup(term), repeat)
                print(f"[{store}] org lookup {term!r:11}: {took:8.1f} ms")
        mongoengine.disconnect()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orgs", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--store", choices=["embedded", "mongomock", "both"], default="both")
    args = parser.parse_args()
    for store in (["embedded", "mongomock"] if args.store == "both" else [args.store]):
        run(store, args.orgs, args.customers, args.repeat)


if __name__ == "__main__":
    main()
