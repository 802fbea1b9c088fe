"""The REST API's measured goals (issue 22), each a ratio from one run on one store.

For each store size (1,000 and 110,000 customers by default) a fresh embedded store is
seeded with realistic records (raw inserts, search keys as the app stores them), then:

- list: GET /api/v1/customers (page 1 of 20), median ms;
- read: GET /api/v1/customers/ID for ids spread over the store, median ms;
- patch: PATCH …/ID with If-Match, and, as its baseline, a save of the same customer's
  edit form (the POST), median ms each.

Once, on the small store: creating N customers with one POST each against a seed load
(`importer.load`) of the same N records, per record.

Prints the figures and the goals: list at 110,000 ≤ 3× at 1,000; read at 110,000 ≤ 2×
at 1,000; N creates ≤ 4× the seed load per record; PATCH ≤ 1.5× a form save.
Not a test: it asserts nothing.

    .venv/bin/python bench/api_bench.py [--sizes 1000 110000] [--repeat 15] [--creates 1000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import typing as t
from pathlib import Path

import mongoengine

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from scale_bench import customer_values, org_values  # noqa: E402
from timing import median_ms  # noqa: E402

from admin_app import importer  # noqa: E402
from admin_app.models import Customer, User  # noqa: E402
from admin_app.records.search_keys import keys_for  # noqa: E402
from admin_app.security import api_tokens  # noqa: E402
from tests.conftest import make_app  # noqa: E402
from tests.helpers import ADMIN_EMAIL, form_values, login  # noqa: E402

ORGS_PER = 100  # customers per Org


def seed(customers: int) -> list[t.Any]:
    """Raw inserts of Orgs and customers as the app stores them; the customers' ids."""
    coll = Customer._get_collection()
    orgs = max(1, customers // ORGS_PER)
    org_ids = coll.insert_many([
        {**org_values(i), "archived": False, "revision": 1,
         "search_keys": keys_for("customer", org_values(i))} for i in range(orgs)]).inserted_ids
    ids: list[t.Any] = []
    for start in range(0, customers, 5000):
        batch = []
        for i in range(start, min(customers, start + 5000)):
            values = customer_values(i, org_ids[i % orgs], i % orgs)
            batch.append({**values, "archived": False, "revision": 1,
                          "search_keys": keys_for("customer", values)})
        ids += coll.insert_many(batch).inserted_ids
    return ids


def _timed_writes(repeat: int, prepare: t.Callable[[int], t.Any],
                  write: t.Callable[[t.Any], None]) -> float:
    """Median ms of `write` alone: what it needs read first (`prepare`) is not timed."""
    samples = []
    for n in range(repeat):
        prepared = prepare(n)
        started = time.perf_counter()
        write(prepared)
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def _patching(api: t.Any, auth: dict[str, str], target: str) -> tuple[t.Any, t.Any]:
    """A PATCH of the customer's Location, after reading its ETag."""
    def prepare(n: int) -> tuple[str, int]:
        return api.get(f"/api/v1/customers/{target}", headers=auth).headers["ETag"], n

    def write(prepared: tuple[str, int]) -> None:
        tag, n = prepared
        answer = api.patch(f"/api/v1/customers/{target}", headers={
            **auth, "If-Match": tag, "Content-Type": "application/json"},
            data=json.dumps({"location": f"Site {n}"}))
        assert answer.status_code == 200, answer.get_data(as_text=True)

    return prepare, write


def _saving(browser: t.Any, target: str) -> tuple[t.Any, t.Any]:
    """A save (Save, staying on the record) of the customer's edit form, after opening it."""
    url = f"/admin/customer/edit/?id={target}"

    def prepare(n: int) -> dict[str, t.Any]:
        values = form_values(browser.get(url).get_data(as_text=True))
        return {**values, "location": f"Form {n}", "_continue_editing": "Save"}

    def write(values: dict[str, t.Any]) -> None:
        answer = browser.post(url, data=values)
        assert answer.status_code == 302, answer.status_code

    return prepare, write


def measure(size: int, repeat: int, creates: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        # A script timing itself is no abuse: no rate limit.
        app = make_app(Path(tmp), "embedded", API_REQUESTS_PER_MINUTE=10**9)
        with app.app_context():
            started = time.perf_counter()
            ids = seed(size)
            print(f"[{size:>7}] seeded in {time.perf_counter() - started:.1f} s", flush=True)
            secret = api_tokens.create(User.objects.get(email=ADMIN_EMAIL), "read-write").secret
        api = app.test_client()
        auth = {"Authorization": f"Bearer {secret}"}
        spread = [ids[(k * len(ids)) // repeat] for k in range(repeat)]
        figures: dict[str, float] = {}
        figures["list"] = median_ms(lambda: api.get("/api/v1/customers", headers=auth), repeat)
        reads = iter(spread * 2)

        def read() -> None:
            answer = api.get(f"/api/v1/customers/{next(reads)}", headers=auth)
            assert answer.status_code == 200, answer.status_code

        figures["read"] = median_ms(read, repeat)
        target = str(ids[len(ids) // 2])
        figures["patch"] = _timed_writes(repeat, *_patching(api, auth, target))
        with app.test_client() as browser:
            login(browser)
            figures["form save"] = _timed_writes(repeat, *_saving(browser, target))
        if creates:
            records = [{"name": f"Api Person {n}", "email": f"api{n}@example.com",
                        "department": "Finance"} for n in range(creates)]
            started = time.perf_counter()
            for record in records:
                answer = api.post("/api/v1/customers", headers={
                    **auth, "Content-Type": "application/json"}, data=json.dumps(record))
                assert answer.status_code == 201, answer.get_data(as_text=True)
            figures["api creates"] = time.perf_counter() - started
            path = Path(tmp) / "same.json"
            path.write_text(json.dumps({"customers": [
                {**r, "email": "file-" + r["email"]} for r in records]}), encoding="utf-8")
            with app.app_context():
                started = time.perf_counter()
                report = importer.load([path])
                figures["seed load"] = time.perf_counter() - started
                assert report.ok, report
        mongoengine.disconnect()
        return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=[1_000, 110_000])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--creates", type=int, default=1_000)
    args = parser.parse_args()
    small, large = args.sizes
    at_small = measure(small, args.repeat, args.creates)
    at_large = measure(large, args.repeat, 0)
    for name in ("list", "read", "patch", "form save"):
        print(f"{name:>10}: {at_small[name]:7.1f} ms at {small:,}   "
              f"{at_large[name]:7.1f} ms at {large:,}")
    print(f"{args.creates} creates, one request each: {at_small['api creates']:.2f} s; "
          f"seed load of the same: {at_small['seed load']:.2f} s")

    def goal(words: str, ratio: float, most: float) -> None:
        print(f"{words}: {ratio:.2f}x (goal <= {most}x) {'met' if ratio <= most else 'NOT met'}")

    goal(f"list page 1 at {large:,} / at {small:,}", at_large["list"] / at_small["list"], 3)
    goal(f"read by id at {large:,} / at {small:,}", at_large["read"] / at_small["read"], 2)
    goal("creates one by one / seed load, per record",
         at_small["api creates"] / at_small["seed load"], 4)
    for size, figures in ((small, at_small), (large, at_large)):
        goal(f"PATCH / form save at {size:,}", figures["patch"] / figures["form save"], 1.5)


if __name__ == "__main__":
    main()
