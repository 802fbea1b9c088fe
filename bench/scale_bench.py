"""How the embedded store's costs grow with the data: issue 14's goals 1-3, as ratios, in one run.

Every figure comes from real processes on one embedded store (litemongo), as two gunicorn
workers would be: worker B serves the pages; worker A seeds the store and saves one
customer, so B's next page pays for noticing another connection's write. Each store size
gets fresh processes, so a worker's memory is its own. Not a test: it asserts nothing.

    .venv/bin/python bench/scale_bench.py [--repeat 5] [--quick]

Prints, per size, ms for a fresh worker's first customer list page (it builds the
store's in-process index), ms for the customer list page 1 (median of warm requests), ms
per Org lookup keystroke (median over a typed word, one request per letter), ms for the
list page in B right after A saved (median over `repeat` saves), the resident memory of
worker B, and (where A saves too) the seconds of a dictionary change that rewrites every
record's search keys; then the goal ratios. `--quick` skips the 100,000-org sizes.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
import typing as t
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

TYPED = 6  # letters typed into the Org box, one lookup request per keystroke


class Worker:
    """One process with its own app on the shared store, answering commands in order."""

    def __init__(self, store_dir: str) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(target=_serve, args=(store_dir, child), daemon=True)
        self._process.start()

    def __call__(self, command: str, *args: t.Any) -> t.Any:
        self._conn.send((command, args))
        ok, value = self._conn.recv()
        if not ok:
            raise RuntimeError(value)
        return value

    def stop(self) -> None:
        self._conn.send(("stop", ()))
        self._process.join(30)


def _serve(store_dir: str, conn: t.Any) -> None:
    import traceback

    from tests.conftest import make_app
    from tests.helpers import login

    app = make_app(Path(store_dir), "embedded")
    client = app.test_client()
    login(client)
    commands = Commands(app, client)
    while True:
        command, args = conn.recv()
        if command == "stop":
            return
        try:
            conn.send((True, getattr(commands, command)(*args)))
        except Exception:  # noqa: BLE001 - reported to the parent, which stops the run
            conn.send((False, traceback.format_exc()))


class Commands:
    """What a worker does when told: seed, serve pages and lookups, save, report memory."""

    def __init__(self, app: t.Any, client: t.Any) -> None:
        self.app, self.client = app, client

    def seed(self, orgs: int, customers: int) -> int:
        """The demo data set (orgs == 0), else generated Orgs and Customers, the way the
        importer stores them (boolean Archive flag, revision, search keys)."""
        from admin_app.models import Customer

        with self.app.app_context():
            if not orgs:
                from admin_app import demo
                demo.load()
                return Customer.objects.count()
            coll = Customer._get_collection()
            keys = _keyer()
            org_ids: list[t.Any] = []
            for start in range(0, orgs, 5000):
                docs = [_record(f"Org {i:06d}", "Org", keys) for i in
                        range(start, min(orgs, start + 5000))]
                org_ids += coll.insert_many(docs).inserted_ids
            for start in range(0, customers, 5000):
                docs = [{**_record(f"Customer {i:06d}", "Customer", keys,
                                   department=f"Dept {i % 50}", email=f"c{i}@example.com"),
                         "org": org_ids[i % len(org_ids)]}
                        for i in range(start, min(customers, start + 5000))]
                coll.insert_many(docs)
            return coll.count_documents({})

    def page_ms(self, repeat: int) -> float:
        return _median_ms(lambda: self._get("/admin/customer/"), repeat)

    def lookup_ms(self, repeat: int) -> float:
        """Median ms of one keystroke's request while typing the start of the first Org's
        name into the Org box (so every keystroke finds Orgs, on every size)."""
        from admin_app.models import Customer

        with self.app.app_context():
            typed = Customer.objects(level="Org").order_by("name").first().name[:TYPED]
        samples = []
        for _ in range(repeat):
            for end in range(1, len(typed) + 1):
                url = f"/admin/customer/ajax/lookup/?name=org&query={typed[:end]}"
                samples.append(_median_ms(lambda url=url: self._get(url, found=True), 1))
        return sorted(samples)[len(samples) // 2]

    def save_one(self) -> None:
        """Save one customer as the edit form would (a MongoEngine save: a new revision)."""
        from admin_app.models import Customer

        with self.app.app_context():
            record = Customer.objects(level="Customer").first()
            record.phone_1 = f"+44 20 7946 {time.time_ns() % 10000:04d}"
            record.save()

    def keys_follow_s(self) -> float:
        """Seconds of an admin's dictionary change that rewrites every record's search
        keys: Email made unsearchable (the customers' keys lose its words), then back."""
        from admin_app.dictionary.changes import update_field

        with self.app.app_context():
            started = time.perf_counter()
            update_field("customer", "email", searchable=False)
            taken = time.perf_counter() - started
            update_field("customer", "email", searchable=True)
        return taken

    def first_page_ms(self) -> float:
        return _median_ms(lambda: self._get("/admin/customer/"), 1)

    def rss_mb(self) -> float:
        return _status_mb("VmRSS")

    def _get(self, url: str, found: bool = False) -> None:
        response = self.client.get(url)
        if response.status_code != 200 or (found and response.get_json() == []):
            raise RuntimeError(f"GET {url}: {response.status_code} {response.get_data()[:80]}")


def _keyer() -> t.Callable[[dict[str, t.Any]], list[str]]:
    from admin_app.models import search

    return lambda doc: search.keys_for("customer", doc)


def _record(name: str, level: str, keys: t.Callable[..., list[str]],
            **values: t.Any) -> dict[str, t.Any]:
    doc = {"name": name, "level": level, "archived": False, "revision": 1, **values}
    doc["search_keys"] = keys(doc)
    return doc


def _median_ms(fn: t.Callable[[], t.Any], repeat: int) -> float:
    from timing import median_ms

    return median_ms(fn, repeat)


def _status_mb(field: str) -> float:
    with open(f"/proc/{os.getpid()}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def measure(orgs: int, customers: int, repeat: int, cross: bool = True) -> dict[str, float]:
    """Seed a fresh store from worker A, then time worker B (and A's saves, if `cross`)."""
    with tempfile.TemporaryDirectory() as tmp:
        a = Worker(tmp)
        started = time.perf_counter()
        count = a("seed", orgs, customers)
        seeded = time.perf_counter() - started
        b = Worker(tmp)
        try:
            out = {"records": count, "seed s": seeded}
            out["first page"] = b("first_page_ms")  # a fresh worker: builds its index
            b("page_ms", 2)  # warm
            out["page"] = b("page_ms", repeat)
            b("lookup_ms", 1)
            out["lookup"] = b("lookup_ms", repeat)
            if cross:
                after = []
                for _ in range(repeat):
                    a("save_one")
                    after.append(b("first_page_ms"))
                out["after save"] = sorted(after)[len(after) // 2]
                b("save_one")  # B's own write, as a worker's save is
            out["rss MB"] = b("rss_mb")
            if cross:
                out["keys follow s"] = b("keys_follow_s")
            return out
        finally:
            a.stop()
            b.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="skip the 100,000-org sizes")
    args = parser.parse_args()
    sizes = {"demo": (0, 0), "22k": (2_000, 20_000), "1k orgs": (1_000, 0)}
    if not args.quick:
        sizes |= {"100k orgs": (100_000, 0), "110k": (100_000, 10_000)}
    results = {}
    for label, (orgs, customers) in sizes.items():
        results[label] = got = measure(orgs, customers, args.repeat,
                                       cross=label in ("demo", "22k", "110k"))
        print(f"{label:>10}: " + ", ".join(f"{k} {v:,.1f}" for k, v in got.items()), flush=True)

    def ratio(name: str, top: str, bottom: str, key: str, goal: float,
              bottom_key: str | None = None) -> None:
        if top not in results or bottom not in results:
            return
        value = results[top][key] / results[bottom][bottom_key or key]
        print(f"{name:<58} {value:6.1f}x  (goal <= {goal:g}x: "
              f"{'met' if value <= goal else 'NOT met'})")

    print()
    ratio("1. customer list page 1, 22k / demo", "22k", "demo", "page", 10)
    ratio("1. Org lookup per keystroke, 22k / demo", "22k", "demo", "lookup", 5)
    ratio("1. list page after another process's save, 22k / demo page", "22k", "demo",
          "after save", 15, "page")
    ratio("2. Org lookup, 100,000 / 1,000 orgs", "100k orgs", "1k orgs", "lookup", 5)
    if "110k" in results:
        rss = results["110k"]["rss MB"]
        print(f"{'3. worker RSS at 110,000 records (MB)':<58} {rss:6.0f}   (goal <= 250 MB: "
              f"{'met' if rss <= 250 else 'NOT met'})")


if __name__ == "__main__":
    main()
