"""A process that writes records through the write path in batches, for `test_faults` to
kill half-way: `python -m tests.fault_writer INSTANCE BATCH create|update COUNT [HOLD]`.

create: COUNT new customers (`values(BATCH, i)`); update: Department of every customer
whose Location is `UPDATED` set to BATCH (COUNT is not used). It prints "ready" once
started and waits for a line on stdin (so the test can start the next writer while it
checks the last), then "batch N started" before each batch of 1000 and "done" at the
end, so the test knows when it is writing. With HOLD, batch HOLD writes its records,
prints "holding" and waits, as if stopped just before it logs their history.
"""

from __future__ import annotations

import sys
import typing as t

from admin_app import create_app, records
from admin_app.models import Customer
from admin_app.records import history
from admin_app.records.trace import COMMAND_LINE, IMPORT, Trace

SIZE = 1000
UPDATED = "Updated by the writer"


def values(batch: str, i: int) -> dict[str, str]:
    """The values the writer gives its i-th new customer (the test checks them)."""
    return {"name": f"{batch} customer {i}", "email": f"{batch}-{i}@example.com",
            "department": f"{batch} department", "location": f"Site {i % 11}"}


BATCH_NOW = [0]  # the number of the batch being written


def hold_before_history(at: int) -> None:
    """Stop batch `at` between writing its records and logging their history."""
    log = history.log

    def holding(entries: list[dict[str, t.Any]]) -> None:
        if entries and BATCH_NOW[0] == at:
            print("holding", flush=True)
            sys.stdin.readline()  # the test kills the process here
        log(entries)

    history.log = holding


def main(instance: str, batch: str, mode: str, count: int, hold: int = 0) -> None:
    app = create_app({"INSTANCE_PATH": instance, "MONGODB_URI": None, "SECRET_KEY": "x"})
    trace = Trace(COMMAND_LINE, IMPORT, batch=batch)
    if hold:
        hold_before_history(hold)
    with app.app_context():
        print("ready", flush=True)
        sys.stdin.readline()
        if mode == "create":
            work = [values(batch, i) for i in range(count)]
        else:
            ids = [d["_id"] for d in Customer._get_collection().find({"location": UPDATED},
                                                                       {"_id": 1})]
            work = [(oid, {"department": batch}) for oid in ids]
        for number, start in enumerate(range(0, len(work), SIZE), start=1):
            BATCH_NOW[0] = number
            print(f"batch {number} started", flush=True)
            chunk = work[start:start + SIZE]
            if mode == "create":
                records.batch.write("customer", chunk, [], trace)
            else:
                records.batch.write("customer", [], chunk, trace)
        print("done", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:4], *map(int, sys.argv[4:6]))
