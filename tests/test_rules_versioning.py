"""Conditional rules are versioned with the dictionary: every change to a rule is in the
Dictionary History in words (its condition as `conditional.words` says it, its actions)
and can be reverted from there through the checked operations; solution profiles bring
rules and take back only the ones they brought. (The dictionary file:
test_rules_versioning_file.py.)"""

from __future__ import annotations

import json
import re
from html import unescape

import pytest

from admin_app import records
from admin_app.customising import conditional_rules as rules
from admin_app.customising import profiles
from admin_app.customising.fields import add_field, update_field
from admin_app.dictionary.documents import EntityDefinition, RuleDefinition
from admin_app.dictionary.history import DictionaryChange
from admin_app.records.trace import COMMAND_LINE, FORM, Trace

from .helpers import csrf_token

BY_FORM = Trace(COMMAND_LINE, FORM)
HISTORY = "/admin/dictionary/history/"
FINANCE = {"name": "finance-needs-cost-centre", "entity": "customer",
           "when": {"all": [{"field": "department", "equals": "Finance"},
                            {"not": {"field": "level", "equals": "Org"}}]},
           "then": {"show": ["cost_centre"], "mandatory": ["cost_centre"]}}
TENANT = "tenant-needs-location"


def rule_lines(html: str) -> list[str]:
    """The History's rule entries as shown, newest first."""
    return [unescape(re.sub(r"\s+", " ", line)).strip()
            for line in re.findall(r'<span class="rule-change">(.*?)</span>', html, re.S)]


def flashed(html: str) -> list[str]:
    """The messages the page shows at its top, as text."""
    return [" ".join(unescape(re.sub(r"<[^>]+>", " ", body)).split()).lstrip("× ").strip()
            for body in re.findall(r'<div class="alert[^"]*"[^>]*>(.*?)</div>', html, re.S)]


def revert(client, change) -> str:
    page = client.get(HISTORY).get_data(as_text=True)
    response = client.post(f"{HISTORY}{change.pk}/revert/",
                           data={"csrf_token": csrf_token(page)}, follow_redirects=True)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def rule_changes() -> list[DictionaryChange]:
    """The rule's History entries, oldest first."""
    return list(DictionaryChange.objects(kind="rule").order_by("at", "id"))


def refused(entity: str, values: dict) -> dict[str, str]:
    with pytest.raises(records.Refused) as refusal:
        records.create(entity, values, BY_FORM)
    return {p.field: p.message for p in refusal.value.problems}


def stored(name: str) -> RuleDefinition:
    return RuleDefinition.objects.get(name=name)


def test_rule_changes_are_in_the_history_in_words_and_each_can_be_reverted(store_app,
                                                                          store_client):
    with store_app.app_context():
        add_field("customer", "cost_centre", "Cost Centre", "text")
        rules.add_rule(FINANCE)
        rules.update_rule({**FINANCE, "description": "Finance books by cost centre.",
                           "when": {"field": "department", "equals": "Sales"},
                           "then": {"mandatory": ["cost_centre"],
                                    "read_only": ["email"]}})
        rules.retire_rule("customer", FINANCE["name"])
    page = store_client.get(HISTORY).get_data(as_text=True)
    assert "rule <code>customer.finance-needs-cost-centre</code>" in page
    assert rule_lines(page) == [
        "retired: no longer in force",
        "condition: Department is Finance and Level is not Org → Department is Sales; "
        "actions: shows Cost Centre, makes Cost Centre mandatory → makes Cost Centre "
        "mandatory, makes Email read-only; description: '' → 'Finance books by cost "
        "centre.'",
        "added: when Department is Finance and Level is not Org: shows Cost Centre, makes "
        "Cost Centre mandatory"]
    added, changed, retired = rule_changes()

    # The retirement reverted: in force again, and the write path enforces it.
    shown = revert(store_client, retired)
    assert "Reverted: rule finance-needs-cost-centre of customer is in force as it was " \
           "before that change." in flashed(shown)
    assert rule_lines(shown)[0] == "revert: back in force"
    with store_app.app_context():
        assert refused("customer", {"name": "Ann", "department": "Sales"}) == {
            "cost_centre": "Cost Centre is mandatory when Department is Sales (rule "
                           "finance-needs-cost-centre)."}

    # The change reverted: the condition and the actions are as they were.
    revert(store_client, changed)
    with store_app.app_context():
        assert stored(FINANCE["name"]).document() == FINANCE
        records.create("customer", {"name": "Bo", "department": "Sales"}, BY_FORM)
        assert set(refused("customer", {"name": "Cy", "department": "Finance"})) == {
            "cost_centre"}

    # The addition reverted: retired, never deleted; and that revert reverted in turn.
    shown = revert(store_client, added)
    assert "Reverted: rule finance-needs-cost-centre of customer is retired, out of force " \
           "as it was before that change." in flashed(shown)
    with store_app.app_context():
        assert stored(FINANCE["name"]).retired is True
        records.create("customer", {"name": "Di", "department": "Finance"}, BY_FORM)
    revert(store_client, rule_changes()[-1])
    with store_app.app_context():
        assert stored(FINANCE["name"]).document() == FINANCE
        assert [c.summary.split(":")[0] for c in rule_changes()][3:] == ["revert"] * 4
        assert set(refused("customer", {"name": "Ed", "department": "Finance"})) == {
            "cost_centre"}


def test_a_revert_that_no_longer_fits_the_dictionary_is_refused_with_the_rules_sentence(
        store_app, store_client):
    with store_app.app_context():
        add_field("customer", "cost_centre", "Cost Centre", "text")
        rules.add_rule(FINANCE)
        rules.retire_rule("customer", FINANCE["name"])
        update_field("customer", "cost_centre", retired=True)  # no rule in force names it
    retirement = rule_changes()[-1]
    count = DictionaryChange.objects.count()
    shown = revert(store_client, retirement)
    [message] = flashed(shown)
    assert message.startswith("Rule finance-needs-cost-centre: customer has no field "
                              "'cost_centre'")
    with store_app.app_context():
        assert stored(FINANCE["name"]).retired is True
        assert DictionaryChange.objects.count() == count
        records.create("customer", {"name": "Ann", "department": "Finance"}, BY_FORM)

    # Reverting the retirement of the field first, then the rule's: both go back.
    field_change = DictionaryChange.objects(kind="field", name="cost_centre").order_by(
        "-at").first()
    revert(store_client, field_change)
    shown = revert(store_client, retirement)
    assert any(m.startswith("Reverted: rule finance-needs-cost-centre") for m in flashed(shown))
    with store_app.app_context():
        assert stored(FINANCE["name"]).retired is False


def test_a_revert_of_a_rule_already_as_it_was_says_so(store_app, store_client):
    with store_app.app_context():
        add_field("customer", "cost_centre", "Cost Centre", "text")
        rules.add_rule(FINANCE)
        rules.retire_rule("customer", FINANCE["name"])
        rules.retire_rule("customer", FINANCE["name"], retired=False)
    added, retired, _ = rule_changes()
    assert flashed(revert(store_client, retired)) == [
        "Rule finance-needs-cost-centre is already as it was before that change."]
    revert(store_client, added)
    assert flashed(revert(store_client, added)) == [
        "Rule finance-needs-cost-centre is already retired."]
    assert len(rule_changes()) == 4


def test_labels_and_rule_text_are_escaped_in_the_history(store_app, store_client):
    with store_app.app_context():
        add_field("customer", "cost_centre", "<i>Cost</i> Centre", "text")
        rules.add_rule({**FINANCE, "name": "<b>bold</b>",
                        "description": "<script>alert(1)</script>",
                        "when": {"field": "department", "equals": "<img src=x>"}})
        rules.update_rule({**FINANCE, "name": "<b>bold</b>", "description": "plain",
                           "when": {"field": "department", "equals": "<img src=x>"}})
    page = store_client.get(HISTORY).get_data(as_text=True)
    assert "<i>Cost</i>" not in page and "<img src=x>" not in page
    assert "<b>bold</b>" not in page and "<script>alert(1)" not in page
    assert "&lt;i&gt;Cost&lt;/i&gt; Centre" in page and "&lt;b&gt;bold&lt;/b&gt;" in page
    assert rule_lines(page) == [
        "description: '<script>alert(1)</script>' → 'plain'",
        "added: when Department is <img src=x>: shows <i>Cost</i> Centre, makes <i>Cost</i> "
        "Centre mandatory"]


# -- solution profiles ---------------------------------------------------------------------

def profile(runner, key):
    return runner.invoke(args=["dictionary", "profile", key])


def test_a_profile_brings_its_rules_and_the_next_retires_only_those(store_app):
    runner = store_app.test_cli_runner()
    with store_app.app_context():
        add_field("customer", "cost_centre", "Cost Centre", "text")
        rules.add_rule(FINANCE)  # an admin's rule: no profile touches it
    result = profile(runner, "cafm")
    assert result.exit_code == 0, result.output
    assert "rule customer.tenant-needs-location: added, when Level is Customer: makes " \
           "Location mandatory" in result.output
    with store_app.app_context():
        entry = DictionaryChange.objects.get(kind="rule", name=TENANT)
        assert entry.summary == "profile cafm: added"
        assert refused("customer", {"name": "Ann"}) == {
            "location": "Location is mandatory when Level is Customer (rule "
                        "tenant-needs-location)."}
        records.create("customer", {"name": "Acme", "level": "Org"}, BY_FORM)
    assert "Profile cafm was already in use." in profile(runner, "cafm").output

    switched = profile(runner, "itsm")
    assert switched.exit_code == 0, switched.output
    assert "rule customer.tenant-needs-location: retired (it came with profile cafm)" \
        in switched.output
    with store_app.app_context():
        assert stored(TENANT).retired is True and stored(FINANCE["name"]).retired is False
        records.create("customer", {"name": "Ann"}, BY_FORM)
        assert set(refused("customer", {"name": "Bo", "department": "Finance"})) == {
            "cost_centre"}

    back = profile(runner, "cafm")
    assert "rule customer.tenant-needs-location: back in force" in back.output
    with store_app.app_context():
        assert stored(TENANT).retired is False
        assert [c.summary for c in DictionaryChange.objects(kind="rule", name=TENANT)
                .order_by("at", "id")] == ["profile cafm: added",
                                           "profile itsm: retired: False → True",
                                           "profile cafm: retired: True → False"]


def test_a_profiles_rule_an_admin_has_changed_since_is_theirs_and_stays(store_app):
    runner = store_app.test_cli_runner()
    assert profile(runner, "cafm").exit_code == 0
    with store_app.app_context():
        rules.update_rule({**stored(TENANT).document(), "description": "Ours now."})
    switched = profile(runner, "csm")
    assert switched.exit_code == 0 and "tenant-needs-location" not in switched.output
    with store_app.app_context():
        assert stored(TENANT).retired is False
        assert EntityDefinition.objects.get(name="customer").plural == "Customers"


def test_a_profile_whose_rule_no_longer_fits_changes_nothing(store_app):
    runner = store_app.test_cli_runner()
    with store_app.app_context():
        update_field("customer", "location", retired=True)
    number = DictionaryChange.objects.count()
    result = profile(runner, "cafm")
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "Profile cafm was not applied: Rule tenant-needs-location: customer has no " \
           "field 'location'" in " ".join(result.output.split())
    with store_app.app_context():
        assert EntityDefinition.objects.get(name="customer").plural == "Customers"
        assert DictionaryChange.objects.count() == number
        assert RuleDefinition.objects.count() == 0


def test_a_profile_file_may_carry_several_rules_and_a_switch_updates_them(store_app,
                                                                         tmp_path,
                                                                         monkeypatch):
    """Profiles are files: one of a site's own, with rules that change between versions."""
    shipped = json.loads((profiles.FOLDER / "csm.json").read_text(encoding="utf-8"))
    folder = tmp_path / "profiles"
    folder.mkdir()

    def write(key, carried):
        (folder / f"{key}.json").write_text(json.dumps({**shipped, "rules": carried}))

    lock = {"name": "lock-email", "entity": "customer",
            "when": {"field": "department", "equals": "IT"},
            "then": {"read_only": ["email"]}, "except_directory_sync": True}
    hide = {"name": "hide-phone", "entity": "contact",
            "when": {"field": "job_title", "empty": True}, "then": {"hide": ["phone"]}}
    write("site", [lock, hide])
    write("plain", [])
    monkeypatch.setattr(profiles, "FOLDER", folder)
    runner = store_app.test_cli_runner()
    assert profile(runner, "site").exit_code == 0
    write("site", [{**lock, "when": {"field": "department", "one_of": ["IT", "Ops"]}}, hide])
    again = profile(runner, "site")
    assert "rule customer.lock-email: condition: Department is IT → Department is one of " \
           "IT, Ops" in again.output
    plain = profile(runner, "plain")
    assert "rule contact.hide-phone: retired (it came with profile site)" in plain.output
    assert "rule customer.lock-email: retired (it came with profile site)" in plain.output
    with store_app.app_context():
        assert [r.retired for r in RuleDefinition.objects.order_by("name")] == [True, True]
