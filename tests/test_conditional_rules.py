"""Conditional rules in the record write path: whichever way a record arrives, the rules
in force decide what is mandatory, hidden, read-only and which choices are allowed, and a
refusal names the rule and the field by its current label. Also the checks a rule meets
when it is saved, each refusal a sentence naming the rule."""

from __future__ import annotations

import pytest

from admin_app import dictionary, records
from admin_app.customising import conditional_rules as rules
from admin_app.customising.checked import DictionaryError
from admin_app.customising.fields import add_field, update_field
from admin_app.dictionary import conditional
from admin_app.dictionary.history import DictionaryChange
from admin_app.models import Customer
from admin_app.records.trace import COMMAND_LINE, FORM, SYNC, Trace

BY_FORM = Trace(COMMAND_LINE, FORM)
BY_SYNC = Trace(COMMAND_LINE, SYNC)
FINANCE = {"name": "finance-needs-cost-centre", "entity": "customer",
           "when": {"all": [{"field": "department", "equals": "Finance"},
                            {"not": {"field": "level", "equals": "Org"}}]},
           "then": {"show": ["cost_centre"], "mandatory": ["cost_centre"]}}


def _fields() -> None:
    dictionary.current_or_default()
    add_field("customer", "cost_centre", "Cost Centre", "text")
    add_field("customer", "region", "Region", "choice", choices=["North", "South", "East"])
    add_field("customer", "site", "Site", "choice", choices=["Leeds", "York", "Hull", "Kent"])


def _refusal(entity, values, trace=BY_FORM, record_id=None):
    with pytest.raises(records.Refused) as refused:
        if record_id is None:
            records.create(entity, values, trace)
        else:
            records.update(entity, record_id, values, trace)
    return {p.field: (p.message, p.code, p.rule) for p in refused.value.problems}


def test_a_rule_makes_a_field_mandatory_only_when_its_condition_holds(store_app):
    with store_app.app_context():
        _fields()
        rules.add_rule(FINANCE)
    with store_app.app_context():
        assert _refusal("customer", {"name": "Ann", "department": "Finance"}) == {
            "cost_centre": ("Cost Centre is mandatory when Department is Finance and Level is "
                            "not Org (rule finance-needs-cost-centre).", "mandatory",
                            "finance-needs-cost-centre")}
        records.create("customer", {"name": "Acme", "department": "Finance", "level": "Org"},
                       BY_FORM)
        records.create("customer", {"name": "Bob", "department": "Sales"}, BY_FORM)
        made = records.create("customer", {"name": "Cy", "department": "Finance",
                                           "cost_centre": "CC-7"}, BY_FORM)
        # Emptying it later is refused too, and nothing is written.
        assert set(_refusal("customer", {"cost_centre": None},
                            record_id=made.record["_id"])) == {"cost_centre"}
        assert Customer.objects.get(pk=made.record["_id"]).cost_centre == "CC-7"
        assert Customer.objects.count() == 3


def test_the_refusal_names_fields_by_their_current_labels(store_app):
    with store_app.app_context():
        _fields()
        rules.add_rule(FINANCE)
        update_field("customer", "department", label="Division")
        update_field("customer", "cost_centre", label="Budget Code")
    with store_app.app_context():
        message, _, _ = _refusal("customer", {"name": "Ann", "department": "Finance"})[
            "cost_centre"]
        assert message == ("Budget Code is mandatory when Division is Finance and Level is "
                           "not Org (rule finance-needs-cost-centre).")


def test_a_hidden_field_is_never_mandatory_and_keeps_its_value(store_app):
    with store_app.app_context():
        _fields()
        update_field("customer", "location", mandatory=["Customer"])
        rules.add_rule({"name": "orgless-hide-location", "entity": "customer",
                        "when": {"field": "department", "equals": "Remote"},
                        "then": {"hide": ["location"]}})
    with store_app.app_context():
        assert set(_refusal("customer", {"name": "Ann"})) == {"location"}
        remote = records.create("customer", {"name": "Ann", "department": "Remote"}, BY_FORM)
        kept = records.create("customer", {"name": "Bo", "location": "Leeds"}, BY_FORM)
        records.update("customer", kept.record["_id"], {"department": "Remote"}, BY_FORM)
        records.update("customer", kept.record["_id"], {"phone_1": "0113 496 0000"}, BY_FORM)
        assert Customer.objects.get(pk=kept.record["_id"]).location == "Leeds"
        assert "location" not in Customer._get_collection().find_one({"_id": remote.record["_id"]})


def test_read_only_refuses_every_way_in_but_the_sync_when_the_rule_lets_it(store_app):
    with store_app.app_context():
        _fields()
        rules.add_rule({"name": "synced-email", "entity": "customer",
                        "when": {"field": "region", "equals": "North"},
                        "then": {"read_only": ["email"]}, "except_directory_sync": True})
        rules.add_rule({"name": "north-phone", "entity": "customer",
                        "when": {"field": "region", "equals": "North"},
                        "then": {"read_only": ["phone_1"]}})
    with store_app.app_context():
        made = records.create("customer", {"name": "Ann", "region": "North",
                                           "email": None}, BY_FORM)
        oid = made.record["_id"]
        assert _refusal("customer", {"email": "ann@example.com"}, record_id=oid) == {
            "email": ("Email is read-only when Region is North (rule synced-email); it was "
                      "not changed.", "read_only", "synced-email")}
        # Leaving the condition in the same write does not unlock it: the record as it was
        # locks the field.
        assert set(_refusal("customer", {"email": "ann@example.com", "region": "South"},
                            record_id=oid)) == {"email"}
        records.update("customer", oid, {"email": "ann@example.com"}, BY_SYNC)
        assert set(_refusal("customer", {"phone_1": "0113 496 0000"}, BY_SYNC,
                            record_id=oid)) == {"phone_1"}
        # On a new record a locked field may hold only its default (none here).
        assert set(_refusal("customer", {"name": "Bo", "region": "North",
                                         "phone_1": "0113 496 0000"})) == {"phone_1"}
        records.update("customer", oid, {"region": "South"}, BY_FORM)
        records.update("customer", oid, {"email": "ann@south.example"}, BY_FORM)
        assert Customer.objects.get(pk=oid).email == "ann@south.example"


def test_narrowed_choices_intersect_and_are_checked_on_every_write(store_app):
    with store_app.app_context():
        _fields()
        rules.add_rule({"name": "north-sites", "entity": "customer",
                        "when": {"field": "region", "equals": "North"},
                        "then": {"choices": {"site": ["Leeds", "York", "Hull"]}}})
        rules.add_rule({"name": "finance-sites", "entity": "customer",
                        "when": {"field": "department", "one_of": ["Finance", "Audit"]},
                        "then": {"choices": {"site": ["York", "Hull", "Kent"]}}})
    with store_app.app_context():
        assert _refusal("customer", {"name": "A", "region": "North", "site": "Kent"}) == {
            "site": ("Site can only be Leeds, York, Hull when Region is North (rule "
                     "north-sites).", "not_a_choice", "north-sites")}
        made = records.create("customer", {"name": "A", "region": "North", "site": "Leeds"},
                              BY_FORM)
        state = conditional.evaluate(dictionary.current(), "customer",
                                     {"region": "North", "department": "Audit"}, "Customer")
        assert state.choices == {"site": ("York", "Hull")}
        # A change elsewhere that makes the stored choice disallowed is refused.
        assert set(_refusal("customer", {"department": "Audit"},
                            record_id=made.record["_id"])) == {"site"}


def test_a_retired_rule_is_no_longer_enforced_and_history_has_each_step(store_app):
    with store_app.app_context():
        _fields()
        rules.add_rule(FINANCE)
        rules.retire_rule("customer", FINANCE["name"])
    with store_app.app_context():
        records.create("customer", {"name": "Ann", "department": "Finance"}, BY_FORM)
        steps = [(c.kind, c.name, c.summary) for c in
                 DictionaryChange.objects(kind="rule").order_by("at")]
        assert [s[:2] for s in steps] == [("rule", FINANCE["name"])] * 2
        assert steps[0][2] == "added" and "retired: False → True" in steps[1][2]
        rules.retire_rule("customer", FINANCE["name"], retired=False)
    with store_app.app_context():
        assert set(_refusal("customer", {"name": "Bo", "department": "Finance"})) == {
            "cost_centre"}


def test_a_field_a_rule_names_cannot_be_retired_or_lose_a_compared_choice(store_app):
    with store_app.app_context():
        _fields()
        rules.add_rule({"name": "north-sites", "entity": "customer",
                        "when": {"field": "region", "equals": "North"},
                        "then": {"choices": {"site": ["Leeds", "York"]}}})
        with pytest.raises(DictionaryError) as refused:
            update_field("customer", "site", retired=True)
        assert str(refused.value).startswith("Rule north-sites: customer has no field 'site'")
        assert str(refused.value).endswith("Change or retire rule north-sites first.")
        with pytest.raises(DictionaryError, match="'North' is not one of the choices of "
                                                  "Region"):
            update_field("customer", "region", choices=["South", "East"])
        assert not dictionary.latest().field("customer", "site").retired


REFUSED_RULES = [
    ({"when": {"field": "nope", "equals": "x"}, "then": {"hide": ["news"]}},
     "Rule r: customer has no field 'nope'"),
    ({"when": {"field": "name", "before": "2026-01-01"}, "then": {"hide": ["news"]}},
     "Rule r: before compares dates, and Name is a text field."),
    ({"when": {"field": "expiry_date", "after": "2026-02-30"}, "then": {"hide": ["news"]}},
     "Rule r: the value '2026-02-30' does not fit Expiry Date"),
    ({"when": {"field": "region", "equals": "West"}, "then": {"hide": ["news"]}},
     "Rule r: the value 'West' does not fit Region: 'West' is not one of the choices"),
    ({"when": {"field": "region", "one_of": [["North"], "South"]}, "then": {"hide": ["news"]}},
     "Rule r: the value ['North'] does not fit Region: compare it with one of its choices at "
     "a time; for several, use one_of with a list of choices."),
    ({"when": {"field": "archived", "empty": True}, "then": {"hide": ["news"]}},
     "Rule r: Archive is a tick box: it is never empty"),
    ({"when": {"field": "name", "equals": "x"}, "then": {"mandatory": ["archived"]}},
     "Rule r: Archive is a tick box: it always has a value, so it cannot be mandatory."),
    ({"when": {"field": "name", "equals": "x"}, "then": {"choices": {"news": ["a"]}}},
     "Rule r: only a field with choices can have them narrowed, and News is a longtext"),
    ({"when": {"field": "name", "equals": "x"}, "then": {"choices": {"site": ["Paris"]}}},
     "Rule r: 'Paris' is not among the choices of Site (Leeds, York, Hull, Kent)."),
    ({"when": {"field": "name", "equals": "x"}, "then": {"hide": ["level"]}},
     "Rule r: Level switches the form's layout: it cannot be shown or hidden by a rule."),
    ({"when": {"field": "news", "empty": True}, "then": {"hide": ["news"]}},
     "Rule r: it reads News and acts on it; a rule may only lock the field it reads."),
    ({"when": {"field": "cost_centre", "empty": False}, "then": {"show": ["department"]}},
     "Rule r: the rules would go round in a circle: "),
    ({"when": {"field": "name", "equals": "x"}, "then": {"show": ["news"], "hide": ["news"]}},
     "Rule r: it both shows and hides News; keep one."),
    ({"when": {"field": "name", "frobs": "x"}, "then": {"hide": ["news"]}},
     "Rule r: the comparison of name must use exactly one of equals, one_of, empty"),
    ({"when": {"all": []}, "then": {"hide": ["news"]}},
     "Rule r: all must be a list of one or more conditions."),
    ({"when": {"field": "name", "equals": "x"}, "then": {"paint": ["news"]}},
     "Rule r: paint is not an action"),
]


@pytest.mark.parametrize(("parts", "sentence"), REFUSED_RULES)
def test_a_rule_that_does_not_fit_the_dictionary_is_refused_naming_it(store_app, parts,
                                                                       sentence):
    with store_app.app_context():
        _fields()
        rules.add_rule(FINANCE)
        with pytest.raises(DictionaryError) as refused:
            rules.add_rule({"name": "r", "entity": "customer", **parts})
        assert str(refused.value).startswith(sentence)
        assert [r.name for r in rules.stored_rules("customer")] == [FINANCE["name"]]


def test_a_rule_may_lock_the_field_it_reads_and_values_are_stored_as_the_field_reads_them(
        store_app):
    with store_app.app_context():
        _fields()
        saved = rules.add_rule({"name": "closed-stays", "entity": "customer",
                                "when": {"any": [
                                    {"field": "region", "one_of": ["North", "East"]},
                                    {"field": "expiry_date", "before": "2026-01-05"}]},
                                "then": {"read_only": ["region"]}})
        assert saved.document()["when"]["any"][1] == {"field": "expiry_date",
                                                      "before": "2026-01-05"}
        with pytest.raises(DictionaryError, match="already has a rule named 'closed-stays'"):
            rules.add_rule({**saved.document(), "description": "again"})
