"""One table of cases (`tests/rule_cases.json`) holds the server's evaluator
(`dictionary/conditional/evaluator.py`) and the browser's (`static/conditions.js`) to the
same answers, so that a form never shows a field the server then calls mandatory, or
offers a choice it then refuses.

Each scenario's fields and rules are saved through the checked operations, as an admin
would save them, on both stores; each case's values are read as the API reads them
(the field's type, then stored) for the server, and given as JSON to the script in
headless Chromium with the bundle a page gets. Every disagreement of a scenario is listed
at once. The script must also be quick: one evaluation of a 60-field, 50-rule bundle well
within a frame.
"""

from __future__ import annotations

import json
import re
import shutil
import statistics
import typing as t
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

import admin_app
from admin_app import dictionary
from admin_app.customising.conditional_rules import add_rule, retire_rule
from admin_app.customising.fields import add_field
from admin_app.dictionary import conditional
from admin_app.dictionary.conditional import browser, evaluator, shape
from admin_app.dictionary.documents import LayoutDefinition
from admin_app.dictionary.values import to_storage

from .servers import CHROMIUM_ARGS

SCENARIOS = json.loads(Path(__file__).with_name("rule_cases.json").read_text(encoding="utf-8"))
SCRIPT = Path(admin_app.__file__).parent / "static" / "conditions.js"


def _slug(scenario: dict[str, t.Any]) -> str:
    return re.sub(r"[^a-z0-9]+", "-", scenario["scenario"].lower())[:48].strip("-")


@pytest.fixture(scope="module")
def chromium_page() -> t.Iterator[tuple[t.Any, list[str]]]:
    """A blank page in Debian's Chromium holding the app's own conditions.js, and the
    errors the page met."""
    executable = shutil.which("chromium")
    assert executable, "Debian's chromium is required: run `make test` (it installs it)"
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = chromium.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.add_script_tag(path=str(SCRIPT))
            yield page, errors
        finally:
            chromium.close()


@pytest.fixture
def script_page(chromium_page: tuple[t.Any, list[str]]) -> t.Iterator[t.Any]:
    """The page; a script error during the test fails it."""
    page, errors = chromium_page
    errors.clear()
    yield page
    assert errors == []


def _browser_states(page: t.Any, bundle: dict[str, t.Any],
                    cases: list[dict[str, t.Any]]) -> list[t.Any]:
    """What the script makes of each case; the bundle travels as the page's JSON block
    carries it."""
    return page.evaluate(
        """([bundle, cases]) => {
             const parsed = JSON.parse(bundle);
             return cases.map(c => window.DictadminConditions.evaluate(parsed, c.values, c.level));
           }""", [json.dumps(bundle), [{"values": c["values"], "level": c["level"]}
                                       for c in cases]])


def _sections(entity: str, levels: list[str]) -> dict[str, str]:
    """Each Level's first section, for a field mandatory there (it must be on that form)."""
    return {level: LayoutDefinition.objects.get(entity=entity, level=level).sections[0].title
            for level in levels}


def _install(scenario: dict[str, t.Any]) -> None:
    """The scenario's fields and rules, saved as an admin saves them; a retired rule is
    added in force, then retired."""
    entity = scenario["entity"]
    for spec in scenario["fields"]:
        extra = {k: spec[k] for k in ("choices", "mandatory", "target") if k in spec}
        add_field(entity, spec["name"], spec["label"], spec["type"],
                  sections=_sections(entity, spec.get("mandatory", [])), **extra)
    for document in scenario["rules"]:
        add_rule({k: v for k, v in document.items() if k != "retired"})
        if document.get("retired"):
            retire_rule(entity, document["name"])


def _stored(snapshot: t.Any, entity: str, values: dict[str, t.Any]) -> dict[str, t.Any]:
    """A case's JSON values as the API reads and stores them."""
    fields = {f.name: f for f in snapshot.live_fields(entity)}
    return {name: to_storage(fields[name], fields[name].kind.from_json(fields[name], value))
            for name, value in values.items()}


def test_the_table_covers_at_least_sixty_cases_with_every_part_of_a_rule():
    cases = [c for s in SCENARIOS for c in s["cases"]]
    rules = [r for s in SCENARIOS for r in s["rules"]]
    text = json.dumps(rules)
    assert len(cases) >= 60
    for word in ("equals", "one_of", "empty", "before", "after", "all", "any", "not", "show",
                 "hide", "mandatory", "read_only", "choices", "except_directory_sync",
                 "retired"):
        assert f'"{word}"' in text, word
    assert {s["entity"] for s in SCENARIOS} == {"customer", "contact"}


@pytest.mark.parametrize("scenario", SCENARIOS, ids=_slug)
def test_the_server_and_the_browser_give_every_case_its_expected_state(
        store_app, script_page, scenario):
    entity = scenario["entity"]
    with store_app.app_context():
        _install(scenario)
    with store_app.app_context():
        snapshot = dictionary.latest()
        bundle = browser.bundle(snapshot, entity)
        disagreements = []
        for case in scenario["cases"]:
            stored = _stored(snapshot, entity, case["values"])
            got = conditional.evaluate(snapshot, entity, stored, case["level"]).document()
            if got != case["expect"]:
                disagreements.append(f"server, {case['case']}: {got}, expected {case['expect']}")
    for case, got in zip(scenario["cases"], _browser_states(script_page, bundle,
                                                            scenario["cases"]), strict=True):
        if got != case["expect"]:
            disagreements.append(f"browser, {case['case']}: {got}, expected {case['expect']}")
    assert not disagreements, "\n".join(["the expected state was not given:", *disagreements])


# Conditions over values as rules compare them, for `holds` alone: JSON's types kept apart
# where Python keeps them apart.
HOLDS = [
    ({"field": "x", "equals": 1}, {"x": True}, False),
    ({"field": "x", "equals": True}, {"x": 1}, False),
    ({"field": "x", "equals": 1}, {"x": 1.0}, True),
    ({"field": "x", "equals": "1"}, {"x": 1}, False),
    ({"field": "x", "one_of": [1, 2]}, {"x": True}, False),
    ({"field": "x", "one_of": [False, 2]}, {"x": 0}, False),
    ({"field": "x", "one_of": [0, 2]}, {"x": 0.0}, True),
    ({"field": "x", "equals": "A"}, {"x": ["B", "A"]}, True),
    ({"field": "x", "one_of": ["C", "B"]}, {"x": ["A", "B"]}, True),
    ({"field": "x", "one_of": ["C", "D"]}, {"x": ["A", "B"]}, False),
    ({"field": "x", "before": "2026-01-01"}, {"x": 20250101}, False),
    ({"field": "x", "after": "2026-01-01"}, {"x": "2026-01-02"}, True),
    ({"field": "x", "empty": True}, {}, True),
    ({"field": "x", "empty": False}, {"x": False}, True),
    ({"field": "x", "equals": "A"}, {}, False),
    ({"not": {"field": "x", "equals": "A"}}, {}, True),
    ({"all": [{"field": "x", "equals": "A"}, {"any": [{"field": "y", "empty": True},
                                                     {"field": "y", "equals": 2}]}]},
     {"x": "A", "y": 2}, True),
    ({"field": "constructor", "empty": True}, {}, True),
    ({"field": "toString", "equals": "A"}, {}, False),
]


def test_holds_in_the_browser_is_the_servers(script_page):
    assert [evaluator.holds(shape.condition(c, "parity"), v) for c, v, _ in HOLDS] == \
        [expected for _, _, expected in HOLDS]
    assert script_page.evaluate(
        "cases => cases.map(([c, v]) => window.DictadminConditions.holds(c, v))",
        [[c, v] for c, v, _ in HOLDS]) == [expected for _, _, expected in HOLDS]


def test_explaining_names_the_rules_that_hold_in_their_order(app, script_page):
    scenario = next(s for s in SCENARIOS if s["scenario"].startswith("Precedence"))
    with app.app_context():
        _install(scenario)
    with app.app_context():
        snapshot = dictionary.latest()
        bundle = browser.bundle(snapshot, "customer")
        values = {"department": "Finance", "location": "Remote"}
        server = [r.name for r, holding, _ in conditional.explain(snapshot, "customer", values,
                                                                 "Customer") if holding]
    assert server == ["finance-shows-budget", "remote-hides-budget", "remote-hides-po"]
    assert script_page.evaluate(
        "([b, v]) => window.DictadminConditions.explainHolding(JSON.parse(b), v, 'Customer')",
        [json.dumps(bundle), values]) == server


# -- speed ------------------------------------------------------------------------------------

INPUTS = [("c0", "choice"), ("c1", "choice"), ("c2", "choice"), ("c3", "choice"),
          ("n0", "integer"), ("n1", "integer"), ("n2", "decimal"), ("d0", "date"),
          ("d1", "date"), ("b0", "boolean"), ("b1", "boolean"), ("m0", "multichoice"),
          ("m1", "multichoice"), ("t0", "text"), ("t1", "text")]
LETTERS = ["A", "B", "C", "D"]


def _comparison(i: int) -> dict[str, t.Any]:
    name, kind = INPUTS[i % len(INPUTS)]
    return {
        "choice": [{"field": name, "equals": LETTERS[i % 4]},
                   {"field": name, "one_of": LETTERS[:1 + i % 3]}],
        "multichoice": [{"field": name, "equals": LETTERS[i % 4]},
                        {"field": name, "one_of": LETTERS[i % 2:3]}],
        "integer": [{"field": name, "equals": i % 5}, {"field": name, "one_of": [1, 2, 3]}],
        "decimal": [{"field": name, "equals": 0.5}, {"field": name, "empty": False}],
        "date": [{"field": name, "before": "2026-01-01"}, {"field": name, "after": "2025-06-30"}],
        "boolean": [{"field": name, "equals": True}, {"field": name, "equals": False}],
        "text": [{"field": name, "empty": True}, {"field": name, "equals": "x"}],
    }[kind][i % 2]


def _big_rule(i: int) -> dict[str, t.Any]:
    """Reads three of the inputs, acts on two of the outputs (so no circle)."""
    first, second = f"o{(2 * i) % 30}", f"o{(2 * i + 1) % 30}"
    then: dict[str, t.Any] = [
        {"show": [first], "mandatory": [second]}, {"hide": [first], "read_only": [second]},
        {"mandatory": [first, second]}, {"read_only": [first], "show": [second]},
    ][i % 4]
    if i % 3 == 0:
        then = {**then, "choices": {"o29": LETTERS[i % 2:2 + i % 3]}}
    return {"name": f"rule-{i:02d}", "entity": "customer",
            "when": {"all": [_comparison(i), {"any": [_comparison(i + 4),
                                                      {"not": _comparison(i + 7)}]}]},
            "then": then}


def test_one_evaluation_of_sixty_fields_and_fifty_rules_takes_less_than_a_frame(
        app, script_page):
    with app.app_context():
        for name, kind in INPUTS:
            add_field("customer", name, name.upper(), kind,
                      **({"choices": LETTERS} if kind in ("choice", "multichoice") else {}))
        for i in range(30):
            add_field("customer", f"o{i}", f"Output {i}", "choice" if i == 29 else "text",
                      **({"choices": LETTERS} if i == 29 else {}))
        for i in range(50):
            add_rule(_big_rule(i))
    with app.app_context():
        snapshot = dictionary.latest()
        bundle = browser.bundle(snapshot, "customer")
    assert (len(bundle["fields"]), len(bundle["rules"])) == (60, 50)
    value_sets = [{"c0": LETTERS[k], "c1": LETTERS[(k + 1) % 4], "c2": None, "c3": "B",
                   "n0": k, "n1": 2, "n2": 0.5 * k, "d0": f"202{4 + k}-03-01", "d1": None,
                   "b0": k % 2 == 0, "b1": None, "m0": LETTERS[:k + 1], "m1": [],
                   "t0": "x" if k % 2 else "", "t1": None} for k in range(4)]
    # performance.now() is coarsened to 0.1 ms in a page, so each run times 50 evaluations.
    runs = script_page.evaluate(
        """([bundle, sets]) => {
             const parsed = JSON.parse(bundle), runs = [];
             const evaluate = window.DictadminConditions.evaluate;
             for (let i = 0; i < 200; i++) { evaluate(parsed, sets[i % 4], 'Customer'); }
             for (let run = 0; run < 200; run++) {
               const start = performance.now();
               for (let i = 0; i < 50; i++) { evaluate(parsed, sets[(run + i) % 4], 'Customer'); }
               runs.push((performance.now() - start) / 50);
             }
             return runs;
           }""", [json.dumps(bundle), value_sets])
    one = statistics.median(runs)
    print(f"\nconditions.js: one evaluation of a 60-field, 50-rule bundle takes {one:.4f} ms "
          f"in Chromium (median of {len(runs)} runs of 50 evaluations)")
    assert one < 16
