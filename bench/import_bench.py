"""Seed import speed and memory, against a raw insert of the same documents.

Generates 10,000 orgs and 100,000 customers (JSON Lines), then for each store
(embedded on-disk, mongomock) measures, each in a fresh process and a fresh store:

- import:   `admin_app.importer.load` of the file (validation, references, natural keys);
- baseline: pymongo-level `insert_many` (batches of 1,000) of the same documents, built
            in memory beforehand, into the same kind of store (the time to beat);
- streamed: the same raw inserts, each batch built from the file as it is read, so the
            process's peak memory is what the *store* holds plus a constant;

and prints records/s, the import/baseline time ratio, and peak RSS. It also times the two
things no import can skip, decoding each line and Marshmallow's `Schema.load` of it,
to show the least ratio a validating import can reach on each store. Both the import and
the streamed insert also run on half the file: the store grows with the data it holds
(mongomock keeps documents, the embedded store its hash indexes, in process), so the
importer's own memory is its peak minus the streamed insert's, at both sizes.
Not a test: it asserts nothing.

    .venv/bin/python bench/import_bench.py [--customers 100000] [--orgs 10000]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def generate(path: Path, orgs: int, customers: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        for i in range(customers):  # customers first: the importer must order tiers itself
            out.write(json.dumps({
                "entity": "customers", "name": f"Customer {i:06d}",
                "email": f"customer{i:06d}@example.com", "org": f"Org {i % orgs:05d}",
                "department": f"Dept {i % 40}", "location": "HQ", "phone_1": "+44 20 7946 0000",
                "expiry_date": "2027-06-30"}) + "\n")
        for i in range(orgs):
            out.write(json.dumps({"entity": "orgs", "name": f"Org {i:05d}",
                                  "email": f"org{i:05d}@example.com"}) + "\n")


def child(mode: str, store: str, path: Path, workdir: Path) -> None:
    """Runs in its own process so peak RSS is this measurement's alone."""
    sys.path.insert(0, str(ROOT))
    from datetime import datetime

    from bson import ObjectId

    from admin_app import create_app, importer
    from admin_app.dictionary import defaults
    from admin_app.models import Customer

    uri = "mongomock://localhost/bench" if store == "mongomock" else None
    app = create_app({"INSTANCE_PATH": str(workdir), "MONGODB_URI": uri, "SECRET_KEY": "b"})
    with app.app_context():
        defaults.install()
        if mode == "import":
            start = time.perf_counter()
            report = importer.load([path])
            seconds = time.perf_counter() - start
            records = report.total
            assert report.ok, report.failure_lines(5)
        elif mode == "floor":
            seconds, records = decode_and_validate(path)
        elif mode == "streamed":
            seconds, records = streamed_insert(path, Customer._get_collection())
        else:
            now = datetime(2026, 1, 1)
            org_ids: dict[str, ObjectId] = {}
            docs_orgs, docs_customers = [], []
            with path.open(encoding="utf-8") as lines:
                for line in lines:
                    raw = json.loads(line)
                    entity = raw.pop("entity")
                    raw.update(_id=ObjectId(), archived=False, updated_at=now)
                    if entity == "orgs":
                        raw["level"] = "Org"
                        org_ids[raw["name"]] = raw["_id"]
                        docs_orgs.append(raw)
                    else:
                        raw["level"] = "Customer"
                        docs_customers.append(raw)
            for raw in docs_customers:
                raw["org"] = org_ids[raw["org"]]
                raw["expiry_date"] = datetime.fromisoformat(raw["expiry_date"])
            collection = Customer._get_collection()
            # The embedded store builds its in-process hash indexes at the first query and
            # maintains them on every insert after; the importer queries before inserting,
            # so the baseline does too, or it would skip index upkeep the importer pays for.
            collection.find_one({"level": "Org"})
            start = time.perf_counter()
            for docs in (docs_orgs, docs_customers):
                for i in range(0, len(docs), 1000):
                    collection.insert_many(docs[i:i + 1000], ordered=False)
            seconds = time.perf_counter() - start
            records = len(docs_orgs) + len(docs_customers)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "records": records, "peak_mb": peak_mb}))


def decode_and_validate(path: Path) -> tuple[float, int]:
    """`json.loads` + the dictionary's Marshmallow schema for each customer line, no more."""
    from admin_app import dictionary
    from admin_app.importer.schemas import record_schema

    lines = [line for line in path.open(encoding="utf-8") if '"customers"' in line]
    sample = json.loads(lines[0])
    del sample["entity"]
    schema = record_schema(dictionary.current(), "customer", "Customer",
                           frozenset(sample) | {"level"})
    start = time.perf_counter()
    for line in lines:
        raw = json.loads(line)
        del raw["entity"]
        raw["level"] = "Customer"
        schema.load(raw)
    return time.perf_counter() - start, len(lines)


def streamed_insert(path: Path, collection: object) -> tuple[float, int]:
    """Raw inserts a batch at a time; an org's id is derived from its name, so no map."""
    from datetime import datetime

    from bson import ObjectId

    def org_id(name: str) -> ObjectId:
        return ObjectId(hashlib.blake2b(name.encode(), digest_size=12).digest())

    now, batch, records = datetime(2026, 1, 1), [], 0
    collection.find_one({"level": "Org"})  # as in the baseline: indexes built first
    start = time.perf_counter()
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            raw = json.loads(line)
            entity = raw.pop("entity")
            raw.update(archived=False, updated_at=now)
            if entity == "orgs":
                raw.update(_id=org_id(raw["name"]), level="Org")
            else:
                raw.update(_id=ObjectId(), level="Customer", org=org_id(raw["org"]),
                           expiry_date=datetime.fromisoformat(raw["expiry_date"]))
            batch.append(raw)
            if len(batch) == 1000:
                collection.insert_many(batch, ordered=False)
                records, batch = records + len(batch), []
    if batch:
        collection.insert_many(batch, ordered=False)
    return time.perf_counter() - start, records + len(batch)


def measure(mode: str, store: str, path: Path) -> dict:
    with tempfile.TemporaryDirectory() as workdir:
        out = subprocess.run(
            [sys.executable, __file__, "--child", mode, store, str(path), workdir],
            check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], Path(sys.argv[4]), Path(sys.argv[5]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--orgs", type=int, default=10_000)
    parser.add_argument("--store", choices=["embedded", "mongomock", "both"], default="both")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        full, half = Path(tmp) / "full.jsonl", Path(tmp) / "half.jsonl"
        generate(full, args.orgs, args.customers)
        generate(half, args.orgs // 2, args.customers // 2)
        print(f"file: {args.orgs} orgs + {args.customers} customers, "
              f"{full.stat().st_size / 1e6:.1f} MB JSON Lines")
        for store in (["embedded", "mongomock"] if args.store == "both" else [args.store]):
            base = measure("baseline", store, full)
            imp = measure("import", store, full)
            small = measure("import", store, half)
            raw_full = measure("streamed", store, full)
            raw_half = measure("streamed", store, half)
            floor = measure("floor", store, full)
            print(f"[{store}] raw insert_many: {base['records'] / base['seconds']:9,.0f} records/s "
                  f"({base['seconds']:.1f} s, peak {base['peak_mb']:.0f} MB with all documents "
                  f"in memory)")
            print(f"[{store}] seed import:     {imp['records'] / imp['seconds']:9,.0f} records/s "
                  f"({imp['seconds']:.1f} s, peak {imp['peak_mb']:.0f} MB)  "
                  f"ratio {imp['seconds'] / base['seconds']:.2f}x the raw insert time")
            print(f"[{store}] seed import of half the file: peak {small['peak_mb']:.0f} MB "
                  f"({small['records']} records in {small['seconds']:.1f} s)")
            print(f"[{store}] streamed raw insert, peak: {raw_full['peak_mb']:.0f} MB "
                  f"(half the file: {raw_half['peak_mb']:.0f} MB) = the store's own growth")
            print(f"[{store}] importer's own memory (import peak - streamed insert peak): "
                  f"{imp['peak_mb'] - raw_full['peak_mb']:+.0f} MB for the file, "
                  f"{small['peak_mb'] - raw_half['peak_mb']:+.0f} MB for half of it")
            insert_us = base["seconds"] / base["records"] * 1e6
            check_us = floor["seconds"] / floor["records"] * 1e6
            print(f"[{store}] floor: JSON decode + Marshmallow load {check_us:.1f} us/record, "
                  f"raw insert {insert_us:.1f} us/record: no validating import can beat "
                  f"{(insert_us + check_us) / insert_us:.2f}x")


if __name__ == "__main__":
    main()
