"""Conditional rules in the dictionary file: exported beside entities, fields and layouts,
imported through the checked operations, each judged against the fields and the other
rules as the whole file leaves them, written in an order in which every step's own
check holds; a refused file lists each rule's problem by its place and changes nothing."""

from __future__ import annotations

import json

import mongoengine
import pytest

from admin_app import records
from admin_app.customising import conditional_rules as rules
from admin_app.customising import filing
from admin_app.customising.fields import add_field
from admin_app.dictionary.documents import DictionaryVersion, FieldDefinition, RuleDefinition
from admin_app.dictionary.history import DictionaryChange
from admin_app.records.trace import COMMAND_LINE, FORM, Trace

from .conftest import make_app

BY_FORM = Trace(COMMAND_LINE, FORM)
FINANCE = {"name": "finance-needs-cost-centre", "entity": "customer",
           "when": {"all": [{"field": "department", "equals": "Finance"},
                            {"not": {"field": "level", "equals": "Org"}}]},
           "then": {"show": ["cost_centre"], "mandatory": ["cost_centre"]}}
NORTH = {"name": "north-sites", "entity": "customer",
         "when": {"field": "region", "equals": "North"},
         "then": {"choices": {"site": ["Leeds", "York"]}}}
QUIET = {"name": "quiet-contacts", "entity": "contact",
         "when": {"field": "job_title", "empty": True}, "then": {"hide": ["phone"]},
         "description": "No title, no calls."}
COST_CENTRE = {"entity": "customer", "name": "cost_centre", "label": "Cost Centre",
               "type": "text"}


def dictionary(runner, *args):
    return runner.invoke(args=["dictionary", *args])


def exported(runner, tmp_path, name="exported.json") -> str:
    path = tmp_path / name
    result = dictionary(runner, "export", str(path))
    assert result.exit_code == 0, result.output
    return path.read_text()


def edited(runner, tmp_path, edit):
    """The exported dictionary with `edit` applied, as a file to import."""
    data = json.loads(exported(runner, tmp_path))
    edit(data)
    path = tmp_path / "dict.json"
    path.write_text(json.dumps(data))
    return path


def plan_lines(output: str) -> list[str]:
    return [line.strip() for line in output.splitlines() if line.startswith("  ")]


def version() -> int:
    return DictionaryVersion.objects.get(id="dictionary").number


def place(data, name) -> int:
    return next(i for i, r in enumerate(data["rules"]) if r["name"] == name)


def rule(data, name) -> dict:
    return data["rules"][place(data, name)]


def stored(name) -> RuleDefinition:
    return RuleDefinition.objects.get(name=name)


def refused(entity, values) -> dict[str, str]:
    with pytest.raises(records.Refused) as refusal:
        records.create(entity, values, BY_FORM)
    return {p.field: p.message for p in refusal.value.problems}


def with_region_and_site() -> None:
    add_field("customer", "region", "Region", "choice", choices=["North", "South", "East"])
    add_field("customer", "site", "Site", "choice", choices=["Leeds", "York", "Hull"])


def assert_refused_and_nothing_changed(runner, tmp_path, path, problems):
    before, count, number = exported(runner, tmp_path, "before.json"), \
        DictionaryChange.objects.count(), version()
    for args in (["--dry-run"], []):
        result = dictionary(runner, "import", *args, str(path))
        assert result.exit_code == 1, result.output
        assert "dict.json was not imported and nothing was changed." in result.output
        assert "Traceback" not in result.output
        listed = plan_lines(result.output)
        assert len(listed) == len(problems), listed
        for problem, line in zip(problems, listed, strict=True):
            assert line.startswith(problem), (problem, line)
    assert exported(runner, tmp_path, "after.json") == before
    assert (DictionaryChange.objects.count(), version()) == (count, number)


def test_export_holds_the_rules_sorted_retired_too_and_round_trips(store_app, tmp_path,
                                                                   request):
    runner = store_app.test_cli_runner()
    with store_app.app_context():
        add_field("customer", "cost_centre", "Cost Centre", "text")
        with_region_and_site()
        rules.add_rule(NORTH)
        rules.add_rule(QUIET)
        rules.add_rule(FINANCE)
        rules.add_rule({**FINANCE, "name": "audit-locks-email", "except_directory_sync": True,
                        "when": {"field": "department", "equals": "Audit"},
                        "then": {"read_only": ["email"]}})
        rules.retire_rule("customer", "audit-locks-email")
    text = exported(runner, tmp_path, "first.json")
    data = json.loads(text)
    assert [(r["entity"], r["name"]) for r in data["rules"]] == [
        ("contact", "quiet-contacts"), ("customer", "audit-locks-email"),
        ("customer", "finance-needs-cost-centre"), ("customer", "north-sites")]
    assert rule(data, "quiet-contacts") == QUIET and rule(data, "north-sites") == NORTH
    assert rule(data, "audit-locks-email")["retired"] is True
    assert "retired" not in rule(data, "north-sites")

    other = make_app(tmp_path / "other", request.node.callspec.params["store_app"])
    runner = other.test_cli_runner()
    result = dictionary(runner, "import", str(tmp_path / "first.json"))
    assert result.exit_code == 0, result.output
    lines = plan_lines(result.output)
    # Fields first, then the rules that name them.
    assert lines.index("add field customer.cost_centre") < lines.index(
        "add rule customer.finance-needs-cost-centre: when Department is Finance and Level "
        "is not Org: shows Cost Centre, makes Cost Centre mandatory")
    assert "add rule customer.audit-locks-email (retired): when Department is Audit: makes " \
           "Email read-only (the directory sync may still change it)" in lines
    assert exported(runner, tmp_path, "second.json") == text
    assert "nothing to change" in dictionary(runner, "import", str(tmp_path / "first.json")
                                             ).output
    with other.app_context():
        assert refused("customer", {"name": "Ann", "region": "North", "site": "Hull"}) == {
            "site": "Site can only be Leeds, York when Region is North (rule north-sites)."}
    mongoengine.disconnect()


def test_a_file_rule_may_name_a_field_the_same_file_adds_and_is_in_force_after(store_app,
                                                                              tmp_path):
    runner = store_app.test_cli_runner()

    def cost_centre(data):
        data["fields"].append(COST_CENTRE)
        data["rules"].append(FINANCE)

    path = edited(runner, tmp_path, cost_centre)
    dry = dictionary(runner, "import", "--dry-run", str(path))
    assert dry.exit_code == 0, dry.output
    assert plan_lines(dry.output) == [
        "add field customer.cost_centre",
        "add rule customer.finance-needs-cost-centre: when Department is Finance and Level "
        "is not Org: shows Cost Centre, makes Cost Centre mandatory"]
    assert RuleDefinition.objects.count() == 0, "a dry run changes nothing"

    result = dictionary(runner, "import", str(path))
    assert result.exit_code == 0, result.output
    assert "Applied 2 changes." in result.output
    assert [(c.kind, c.summary) for c in DictionaryChange.objects.order_by("at", "id")] == [
        ("field", "file import: added Cost Centre"), ("rule", "file import: added")]
    with store_app.app_context():
        assert refused("customer", {"name": "Ann", "department": "Finance"}) == {
            "cost_centre": "Cost Centre is mandatory when Department is Finance and Level "
                           "is not Org (rule finance-needs-cost-centre)."}
        records.create("customer", {"name": "Acme", "department": "Finance", "level": "Org"},
                       BY_FORM)


def test_a_file_that_retires_a_field_a_rule_names_is_refused_by_the_rules_place(
        store_app, tmp_path):
    runner = store_app.test_cli_runner()
    with store_app.app_context():
        add_field("customer", "cost_centre", "Cost Centre", "text")
        rules.add_rule(FINANCE)

    def drop_cost_centre(data):
        data["fields"] = [f for f in data["fields"] if f["name"] != "cost_centre"]

    path = edited(runner, tmp_path, drop_cost_centre)
    index = place(json.loads(path.read_text()), FINANCE["name"])
    assert_refused_and_nothing_changed(runner, tmp_path, path, [
        f"rules[{index}] (customer.finance-needs-cost-centre): Rule finance-needs-cost-centre: "
        f"customer has no field 'cost_centre'"])

    def and_retire_the_rule(data):
        drop_cost_centre(data)
        rule(data, FINANCE["name"])["retired"] = True

    path = edited(runner, tmp_path, and_retire_the_rule)
    result = dictionary(runner, "import", str(path))
    assert result.exit_code == 0, result.output
    assert plan_lines(result.output) == [
        "change rule customer.finance-needs-cost-centre: retired: no longer in force",
        "retire field customer.cost_centre (not in the file; 0 records keep their values)"]
    assert stored(FINANCE["name"]).retired is True
    assert FieldDefinition.objects.get(name="cost_centre").retired is True
    assert [c.kind for c in DictionaryChange.objects(summary__startswith="file import")
            .order_by("at", "id")] == ["rule", "field"]
    assert filing.plan(path).empty


def test_a_rule_missing_from_the_file_is_retired_before_the_field_it_names(store_app,
                                                                         tmp_path):
    runner = store_app.test_cli_runner()
    with store_app.app_context():
        add_field("customer", "cost_centre", "Cost Centre", "text")
        rules.add_rule(FINANCE)
        rules.add_rule(QUIET)

    def drop_both(data):
        data["fields"] = [f for f in data["fields"] if f["name"] != "cost_centre"]
        data["rules"] = [r for r in data["rules"] if r["name"] != FINANCE["name"]]

    result = dictionary(runner, "import", str(edited(runner, tmp_path, drop_both)))
    assert result.exit_code == 0, result.output
    assert plan_lines(result.output)[0] == \
        "retire rule customer.finance-needs-cost-centre (not in the file)"
    assert stored(FINANCE["name"]).retired is True and stored(QUIET["name"]).retired is False
    assert RuleDefinition.objects.count() == 2, "retired, never deleted"


def test_the_dry_run_describes_rule_changes_and_the_import_then_makes_them(store_app,
                                                                         tmp_path):
    runner = store_app.test_cli_runner()
    with store_app.app_context():
        add_field("customer", "cost_centre", "Cost Centre", "text")
        with_region_and_site()
        rules.add_rule(FINANCE)
        rules.add_rule(NORTH)

    def edit(data):
        rule(data, FINANCE["name"])["when"] = {"field": "department", "one_of": ["Sales",
                                                                                  "Audit"]}
        rule(data, FINANCE["name"])["description"] = "Sales & Audit <too>"
        data["rules"] = [r for r in data["rules"] if r["name"] != NORTH["name"]]
        data["rules"].append(QUIET)

    path = edited(runner, tmp_path, edit)
    number = version()
    dry = dictionary(runner, "import", "--dry-run", str(path))
    planned = plan_lines(dry.output)
    assert planned == [
        "retire rule customer.north-sites (not in the file)",
        "change rule customer.finance-needs-cost-centre: condition: Department is Finance "
        "and Level is not Org → Department is one of Sales, Audit",
        "change rule customer.finance-needs-cost-centre: description: '' → 'Sales & Audit "
        "<too>'",
        "add rule contact.quiet-contacts: when Job Title is empty: hides Phone"]
    assert "Dry run: 4 changes planned; nothing was changed." in dry.output
    assert version() == number and stored(NORTH["name"]).retired is False

    real = dictionary(runner, "import", str(path))
    assert real.exit_code == 0, real.output
    assert plan_lines(real.output) == planned and "Applied 4 changes." in real.output
    assert stored(FINANCE["name"]).document() == rule(json.loads(path.read_text()),
                                                      FINANCE["name"])
    assert filing.plan(path).empty
    with store_app.app_context():
        assert set(refused("customer", {"name": "Ann", "department": "Audit"})) == {
            "cost_centre"}
        records.create("customer", {"name": "Bo", "region": "North", "site": "Hull"},
                       BY_FORM)


def test_a_rule_and_the_choices_it_compares_change_in_one_file(store_app, tmp_path):
    """Neither can be written first: the rule compares North, which the file's Region no
    longer offers, and West, which only the file's Region offers. So the rule is retired
    while Region changes, and put back in force after it."""
    runner = store_app.test_cli_runner()
    with store_app.app_context():
        with_region_and_site()
        rules.add_rule(NORTH)

    def west(data):
        region = next(f for f in data["fields"] if f["name"] == "region")
        region["choices"] = ["South", "East", "West"]
        rule(data, NORTH["name"])["when"] = {"field": "region", "equals": "West"}

    path = edited(runner, tmp_path, west)
    result = dictionary(runner, "import", str(path))
    assert result.exit_code == 0, result.output
    lines = plan_lines(result.output)
    assert lines[0] == "retire rule customer.north-sites for now (it is put back in force below)"
    assert lines[1].startswith("change field customer.region: choices")
    assert lines[2:] == ["change rule customer.north-sites: condition: Region is North → "
                         "Region is West",
                         "put rule customer.north-sites back in force"]
    assert stored(NORTH["name"]).document() == {**NORTH, "when": {"field": "region",
                                                                  "equals": "West"}}
    assert filing.plan(path).empty
    with store_app.app_context():
        assert set(refused("customer", {"name": "Ann", "region": "West", "site": "Hull"})) \
            == {"site"}



def test_two_rules_that_would_make_a_circle_with_each_others_old_form(store_app, tmp_path):
    """A's new form and B's old one make a circle, and B's new form with A's old one: so
    both are retired first and put back after, each new form checked with the other's."""
    runner = store_app.test_cli_runner()
    a = {"name": "a", "entity": "customer", "when": {"field": "phone_1", "empty": True},
         "then": {"show": ["email"]}}
    b = {"name": "b", "entity": "customer", "when": {"field": "location", "empty": True},
         "then": {"show": ["department"]}}
    a_new = {**a, "when": {"field": "department", "empty": True}, "then": {"show": ["location"]}}
    b_new = {**b, "when": {"field": "email", "empty": True}, "then": {"show": ["phone_1"]}}
    with store_app.app_context():
        rules.add_rule(a)
        rules.add_rule(b)

    def both(data):
        data["rules"] = [a_new, b_new]

    result = dictionary(runner, "import", str(edited(runner, tmp_path, both)))
    assert result.exit_code == 0, result.output
    assert plan_lines(result.output) == [
        "retire rule customer.a for now (it is put back in force below)",
        "retire rule customer.b for now (it is put back in force below)",
        "change rule customer.a: condition: Phone 1 is empty → Department is empty",
        "change rule customer.a: actions: shows Email → shows Location",
        "put rule customer.a back in force",
        "change rule customer.b: condition: Location is empty → Email is empty",
        "change rule customer.b: actions: shows Department → shows Phone 1",
        "put rule customer.b back in force"]
    assert [stored(n).document() for n in ("a", "b")] == [a_new, b_new]


def test_every_problem_with_the_files_rules_is_listed_by_its_place(store_app, tmp_path):
    runner = store_app.test_cli_runner()
    with store_app.app_context():
        with_region_and_site()
        rules.add_rule(NORTH)

    def many(data):
        data["rules"] += [
            {"entity": "customer", "when": {"field": "region", "equals": "North"}},
            {"name": "no-then", "entity": "customer", "when": {"field": "region",
                                                               "equals": "North"}},
            {"name": "paris", "entity": "customer", "when": {"field": "region",
                                                             "equals": "North"},
             "then": {"choices": {"site": ["Paris"]}}},
            {"name": "tickets", "entity": "ticket", "when": {"field": "x", "empty": True},
             "then": {"hide": ["y"]}},
            {**NORTH, "description": "again"},
            {"name": "round", "entity": "customer", "when": {"field": "site", "equals":
                                                             "Leeds"},
             "then": {"show": ["region"]}},
        ]

    data = json.loads(exported(runner, tmp_path))
    n = len(data["rules"])
    assert_refused_and_nothing_changed(runner, tmp_path, edited(runner, tmp_path, many), [
        f"rules[{n}]: A rule needs an entity and a name, both as text.",
        f"rules[{n + 1}] (customer.no-then): Rule no-then needs actions (then)",
        f"rules[{n + 4}] (customer.north-sites): The file defines rule customer.north-sites "
        f"twice (also rules[0] (customer.north-sites)); keep one.",
        "rules[0] (customer.north-sites): Rule north-sites: the rules would go round in a "
        "circle",
        f"rules[{n + 2}] (customer.paris): Rule paris: 'Paris' is not among the choices of "
        f"Site (Leeds, York, Hull).",
        f"rules[{n + 3}] (ticket.tickets): Rule tickets: there is no entity 'ticket'",
        f"rules[{n + 5}] (customer.round): Rule round: the rules would go round in a circle",
    ])


def test_a_file_without_rules_is_accepted_and_leaves_the_rules_alone(store_app, tmp_path):
    """Files exported before Dictadmin had rules have no "rules" list: their fields are
    imported and the rules kept, and their field changes must fit those rules."""
    runner = store_app.test_cli_runner()
    with store_app.app_context():
        add_field("customer", "cost_centre", "Cost Centre", "text")
        rules.add_rule(FINANCE)

    def older(data):
        del data["rules"]
        next(f for f in data["fields"] if f["name"] == "cost_centre")["label"] = "Budget"

    result = dictionary(runner, "import", str(edited(runner, tmp_path, older)))
    assert result.exit_code == 0, result.output
    assert plan_lines(result.output) == [
        "change field customer.cost_centre: label 'Cost Centre' → 'Budget'",
        "keep the 1 rules in force as they are (the file has no rules list)"]
    assert stored(FINANCE["name"]).document() == FINANCE

    def older_retiring(data):
        del data["rules"]
        data["fields"] = [f for f in data["fields"] if f["name"] != "cost_centre"]

    path = edited(runner, tmp_path, older_retiring)
    result = dictionary(runner, "import", str(path))
    assert result.exit_code == 1
    assert "field customer.cost_centre (not in the file): Rule finance-needs-cost-centre: " \
           "customer has no field 'cost_centre'" in " ".join(result.output.split())
    assert "Change or retire rule finance-needs-cost-centre first." in " ".join(
        result.output.split())
    assert FieldDefinition.objects.get(name="cost_centre").retired is False


def test_rules_that_are_not_a_list_of_objects_are_not_a_dictionary_file(store_app, tmp_path):
    runner = store_app.test_cli_runner()
    path = tmp_path / "bad.json"
    for content, message in [
            ('{"rules": {}}', "In bad.json, rules must be a list of objects."),
            ('{"rulez": []}', "bad.json must be an object with the keys entities, fields, "
                              "layouts. It may also hold rules.")]:
        path.write_text(content)
        result = dictionary(runner, "import", str(path))
        assert result.exit_code == 2 and message in result.output


def test_a_rule_changed_by_someone_after_the_plan_is_not_overwritten(store_app, tmp_path):
    runner = store_app.test_cli_runner()
    with store_app.app_context():
        with_region_and_site()
        rules.add_rule(NORTH)
    path = edited(runner, tmp_path, lambda data: rule(data, NORTH["name"]).update(
        description="From the file"))
    planned = filing.plan(path)
    with store_app.app_context():
        rules.update_rule({**NORTH, "description": "From the screen"})
        with pytest.raises(filing.PartlyApplied, match="Rule north-sites was changed by "
                                                       "someone else"):
            filing.execute(planned)
    assert stored(NORTH["name"]).description == "From the screen"


def test_a_field_change_a_kept_rule_breaks_is_refused_by_the_rules_place(store_app,
                                                                        tmp_path):
    runner = store_app.test_cli_runner()
    with store_app.app_context():
        with_region_and_site()
        rules.add_rule(NORTH)

    def no_north(data):
        next(f for f in data["fields"] if f["name"] == "region")["choices"] = ["South"]

    path = edited(runner, tmp_path, no_north)
    index = place(json.loads(path.read_text()), NORTH["name"])
    assert_refused_and_nothing_changed(runner, tmp_path, path, [
        f"rules[{index}] (customer.north-sites): Rule north-sites: the value 'North' does not "
        f"fit Region"])
