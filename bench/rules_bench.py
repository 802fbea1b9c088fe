"""What conditional rules cost: a record's edit page and a seed load with 50 rules in
force, against the same with none, in the same run.

The customer form is widened to 60 fields (10 choices the rules read, and the fields
they act on); 50 rules (10 each of mandatory, show, hide, read-only and narrowed
choices) read those choices with equals, one_of, empty, not, all and any. For each store
it prints:

- the edit page of one record, rendered through the test client (median of many), with
  the rules and without, and their ratio (goal: at most 1.5x);
- a seed load of N customers (every one valid under the rules, so both loads write the
  same records) into a fresh store, records/s with the rules and without, and their
  ratio (goal: at most 1.3x). Loads alternate, best of `--rounds`.

Not a test: it asserts nothing. `--profile` prints where a load with rules spends its
time (cProfile, the top functions by cumulative time).

    .venv/bin/python bench/rules_bench.py [--records 2000] [--rounds 3] [--store embedded]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import random
import sys
import tempfile
import time
import typing as t
from pathlib import Path

import mongoengine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from timing import median_ms  # noqa: E402

from admin_app import importer, records  # noqa: E402
from admin_app.customising.conditional_rules import add_rule  # noqa: E402
from admin_app.customising.fields import add_field  # noqa: E402
from admin_app.records.trace import COMMAND_LINE, IMPORT, Trace  # noqa: E402
from tests.conftest import make_app  # noqa: E402
from tests.helpers import login  # noqa: E402

DRIVERS = [f"c_{i:02d}" for i in range(10)]  # choices A-D, read by the rules
NARROWED = [f"n_{i:02d}" for i in range(5)]  # choices X-Z, narrowed to X, Y
LOCKED = [f"r_{i:02d}" for i in range(5)]  # text, made read-only
TARGETS = [f"t_{i:02d}" for i in range(25)]  # text, made mandatory, shown or hidden
RULES = 50
GOAL_PAGE, GOAL_LOAD = 1.5, 1.3


def widen() -> None:
    """45 fields more on the Customer form: 60 in all."""
    section = {"Customer": "Customer"}
    for name in DRIVERS:
        add_field("customer", name, name.upper(), "choice", choices=list("ABCD"),
                  sections=section)
    for name in NARROWED:
        add_field("customer", name, name.upper(), "choice", choices=list("XYZ"),
                  sections=section)
    for name in [*LOCKED, *TARGETS]:
        add_field("customer", name, name.upper(), "text", max_length=100, sections=section)


def rule(i: int) -> dict[str, t.Any]:
    """The i-th rule: its kind by i % 5; drivers are never acted on, so no circle."""
    c, d = DRIVERS[i % 10], DRIVERS[(i + 3) % 10]
    kinds = [
        ({"field": c, "equals": "A"}, {"mandatory": [TARGETS[i % 25]]}),
        ({"any": [{"field": c, "one_of": ["A", "B"]}, {"field": d, "empty": True}]},
         {"show": [TARGETS[(i + 7) % 25]]}),
        ({"all": [{"field": c, "equals": "D"}, {"not": {"field": d, "equals": "B"}}]},
         {"hide": [TARGETS[(i + 3) % 25]]}),
        ({"field": c, "equals": "C"}, {"read_only": [LOCKED[i % 5]]}),
        ({"field": c, "one_of": ["A", "C"]}, {"choices": {NARROWED[i % 5]: ["X", "Y"]}}),
    ]
    when, then = kinds[i % 5]
    return {"name": f"rule-{i:02d}", "entity": "customer", "when": when, "then": then}


def customer(i: int, chosen: random.Random) -> dict[str, t.Any]:
    """A customer every rule lets in: every target filled, narrowed fields at X, the
    fields a rule may lock left empty (a new record's locked field must be)."""
    return {"name": f"Customer {i:05d}", "email": f"customer{i:05d}@example.com",
            "department": f"Dept {i % 40}", "location": "HQ",
            **{name: chosen.choice("ABCD") for name in DRIVERS},
            **dict.fromkeys(NARROWED, "X"), **{name: f"value {i}" for name in TARGETS}}


def prepared(folder: Path, store: str, with_rules: bool) -> t.Any:
    app = make_app(folder, store)
    with app.app_context():
        widen()
        if with_rules:
            for i in range(RULES):
                add_rule(rule(i))
    return app


def page_ms(store: str, with_rules: bool, repeat: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        app = prepared(Path(tmp), store, with_rules)
        with app.app_context():
            oid = records.create("customer", {"level": "Customer", **customer(
                0, random.Random(1))}, Trace(COMMAND_LINE, IMPORT)).record["_id"]
        with app.test_client() as client:
            login(client)
            url = f"/admin/customer/edit/?id={oid}"

            def render() -> None:
                response = client.get(url)
                assert response.status_code == 200, response.status_code

            render()  # forms and templates built once, as a worker does before serving
            ms = median_ms(render, repeat)
        mongoengine.disconnect()
        return ms


def load_seconds(store: str, with_rules: bool, path: Path, profile: bool = False
                 ) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        app = prepared(Path(tmp), store, with_rules)
        with app.app_context():
            profiler = cProfile.Profile() if profile else None
            start = time.perf_counter()
            if profiler:
                profiler.enable()
            report = importer.load([path])
            if profiler:
                profiler.disable()
            seconds = time.perf_counter() - start
            assert report.ok, report.failure_lines(5)
        mongoengine.disconnect()
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    return seconds, report.total


def run(store: str, count: int, rounds: int, pages: int, profile: bool) -> None:
    without_page = page_ms(store, False, pages)
    with_page = page_ms(store, True, pages)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "customers.json"
        chosen = random.Random(7)
        path.write_text(json.dumps({"customers": [customer(i, chosen) for i in range(count)]}),
                        encoding="utf-8")
        best = {False: float("inf"), True: float("inf")}
        total = 0
        for _ in range(rounds):
            for with_rules in (False, True):
                seconds, total = load_seconds(store, with_rules, path)
                best[with_rules] = min(best[with_rules], seconds)
        if profile:
            load_seconds(store, True, path, profile=True)
    page_ratio = with_page / without_page
    load_ratio = best[True] / best[False]
    print(f"[{store}] edit page, 60 fields: no rules {without_page:6.1f} ms, "
          f"{RULES} rules {with_page:6.1f} ms: {page_ratio:.2f}x "
          f"(goal <= {GOAL_PAGE}x{'' if page_ratio <= GOAL_PAGE else ', MISSED'})")
    print(f"[{store}] seed load, {total} customers: no rules {total / best[False]:7,.0f} "
          f"records/s, {RULES} rules {total / best[True]:7,.0f} records/s: "
          f"{load_ratio:.2f}x (goal <= {GOAL_LOAD}x"
          f"{'' if load_ratio <= GOAL_LOAD else ', MISSED'})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pages", type=int, default=40, help="edit pages timed per case")
    parser.add_argument("--store", choices=("embedded", "mongomock"), action="append")
    parser.add_argument("--profile", action="store_true")
    arguments = parser.parse_args()
    for store_name in arguments.store or ["embedded", "mongomock"]:
        run(store_name, arguments.records, arguments.rounds, arguments.pages,
            arguments.profile)
