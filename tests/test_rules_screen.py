"""The rules screen (admins list, add, edit, retire and put back an entity's conditional
rules, with the builder or as JSON) and the Rules panel of a record's page (every rule in
force, whether it holds for the record and why), on both stores."""

from __future__ import annotations

import json
import re
from html import unescape

import pytest

from admin_app import records
from admin_app.customising import conditional_rules as rules
from admin_app.customising.fields import add_field, update_field
from admin_app.dictionary.documents import RuleDefinition
from admin_app.records.trace import COMMAND_LINE, FORM, Trace

from .helpers import csrf_token, submit

BY_FORM = Trace(COMMAND_LINE, FORM)
LIST = "/admin/dictionary/rules/customer/"
NEW = "/admin/dictionary/rules/customer/new/"
FINANCE = {"name": "finance-needs-cost-centre", "entity": "customer",
           "description": "Finance books every customer to a cost centre.",
           "when": {"all": [{"field": "department", "equals": "Finance"},
                            {"not": {"field": "level", "equals": "Org"}}]},
           "then": {"show": ["cost_centre"], "mandatory": ["cost_centre"]}}
NORTH = {"name": "north-sites", "entity": "customer",
         "when": {"field": "region", "equals": "North"},
         "then": {"choices": {"site": ["Leeds", "York"]}, "read_only": ["email"]}}
MARKUP = '<img src=x onerror=alert(1)>'


def edit_url(name: str, entity: str = "customer", action: str = "edit") -> str:
    return f"/admin/dictionary/rules/{entity}/{action}/?name={name}"


def add_fields(app) -> None:
    with app.app_context():
        add_field("customer", "cost_centre", "Cost Centre", "text")
        add_field("customer", "region", "Region", "choice", choices=["North", "South", "East"])
        add_field("customer", "site", "Site", "choice", choices=["Leeds", "York", "Hull"])
        add_field("customer", "start_date", "Start Date", "date")
        add_field("customer", "vip", "VIP", "boolean")


def stored(app, name: str) -> dict | None:
    with app.app_context():
        found = RuleDefinition.objects(name=name).first()
        return found.document() if found else None


def text_of(html: str) -> str:
    """The page's words, tags dropped and entities read, spaces collapsed."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def revision_of(html: str) -> str:
    return re.search(r'name="revision" value="(\d+)"', html).group(1)


def confirm(client, url: str):
    """Open a confirmation page and press its button (the page's revision and token)."""
    page = client.get(url).get_data(as_text=True)
    return client.post(url, data={"csrf_token": csrf_token(page), "revision": revision_of(page)})


def row_of(html: str, name: str) -> str:
    """The text of the table row of rule `name`."""
    match = re.search(r'<tr[^>]*data-rule="' + re.escape(name) + r'".*?</tr>', html, re.S)
    assert match, f"no row for rule {name}"
    return text_of(match.group(0))


# -- the list ----------------------------------------------------------------------------------

def test_the_list_says_each_rule_in_words_with_the_current_labels(store_app, store_client):
    add_fields(store_app)
    with store_app.app_context():
        rules.add_rule(FINANCE)
        rules.add_rule(NORTH)
        rules.retire_rule("customer", "north-sites")
    page = store_client.get(LIST).get_data(as_text=True)
    assert row_of(page, "finance-needs-cost-centre") == (
        " finance-needs-cost-centre Finance books every customer to a cost centre. "
        "Department is Finance and Level is not Org Department, Level Show: Cost Centre "
        "Mandatory: Cost Centre in force Edit Retire ")
    assert "Choices of Site: Leeds, York" in row_of(page, "north-sites")
    assert "Read-only: Email" in row_of(page, "north-sites")
    assert "retired" in row_of(page, "north-sites") and "Put back in force" in \
        row_of(page, "north-sites")
    assert "All (2)" in text_of(page) and "In force (1)" in text_of(page)
    retired = store_client.get(LIST + "?show=retired").get_data(as_text=True)
    assert 'data-rule="north-sites"' in retired
    assert 'data-rule="finance-needs-cost-centre"' not in retired
    in_force = store_client.get(LIST + "?show=in_force").get_data(as_text=True)
    assert 'data-rule="north-sites"' not in in_force
    # A relabel shows on the next page.
    with store_app.app_context():
        update_field("customer", "department", label="Division")
    page = store_client.get(LIST).get_data(as_text=True)
    assert "Division is Finance and Level is not Org" in row_of(page, "finance-needs-cost-centre")


def test_the_dictionary_links_each_entitys_rules_and_the_list_pages(store_app, store_client):
    index = store_client.get("/admin/dictionary/").get_data(as_text=True)
    assert 'href="/admin/dictionary/rules/customer/"' in index
    assert 'href="/admin/dictionary/rules/contact/"' in index
    assert store_client.get("/admin/dictionary/rules/").headers["Location"].endswith(LIST)
    assert "Customers have no rules yet." in text_of(store_client.get(LIST).get_data(
        as_text=True))
    with store_app.app_context():
        for number in range(23):
            rules.add_rule({"name": f"rule-{number:02}", "entity": "contact",
                            "when": {"field": "job_title", "equals": f"Title {number}"},
                            "then": {"mandatory": ["phone"]}})
    first = store_client.get("/admin/dictionary/rules/contact/").get_data(as_text=True)
    second = store_client.get("/admin/dictionary/rules/contact/?page=1").get_data(as_text=True)
    assert first.count('data-rule=') == 20 and second.count('data-rule=') == 3
    assert "Page 1 of 2" in first and 'data-rule="rule-22"' in second
    assert store_client.get("/admin/dictionary/rules/nothing/").status_code == 404
    assert store_client.get(edit_url("no-such-rule")).status_code == 404


# -- adding and editing ------------------------------------------------------------------------

BUILT = {
    "name": "finance-north", "description": "Finance in the North",
    "match": "all",
    "when-0-field": "department", "when-0-op": "equals", "when-0-value": " Finance ",
    "when-1-field": "level", "when-1-op": "not_equals", "when-1-value": "Org",
    "when-2-field": "", "when-2-op": "equals", "when-2-value": "",
    "when-3-field": "start_date", "when-3-op": "before", "when-3-value": "2026-03-01",
    "when-4-field": "region", "when-4-op": "one_of", "when-4-value": "North, East",
    "condition_rows": "5", "choice_rows": "2",
    "show": ["cost_centre"], "mandatory": ["cost_centre"], "read_only": ["email"],
    "except_directory_sync": "y",
    "choices-0-field": "site", "choices-0-values": "Leeds, York",
    "_save": "builder",
}


def test_a_rule_made_with_the_builder_is_saved_as_its_document(store_app, store_client):
    add_fields(store_app)
    response = submit(store_client, NEW, BUILT)
    assert response.status_code == 302 and response.headers["Location"].endswith(LIST)
    assert stored(store_app, "finance-north") == {
        "name": "finance-north", "entity": "customer", "description": "Finance in the North",
        "when": {"all": [{"field": "department", "equals": "Finance"},
                         {"not": {"field": "level", "equals": "Org"}},
                         {"field": "start_date", "before": "2026-03-01"},
                         {"field": "region", "one_of": ["North", "East"]}]},
        "then": {"show": ["cost_centre"], "mandatory": ["cost_centre"],
                 "read_only": ["email"], "choices": {"site": ["Leeds", "York"]}},
        "except_directory_sync": True}
    assert "Added rule finance-north." in store_client.get(LIST).get_data(as_text=True)


def test_the_builder_reads_tick_boxes_and_emptiness_and_any(store_app, store_client):
    add_fields(store_app)
    response = submit(store_client, NEW, {
        "name": "vip-or-empty", "match": "any",
        "when-0-field": "vip", "when-0-op": "equals", "when-0-value": "yes",
        "when-1-field": "phone_1", "when-1-op": "empty", "when-1-value": "",
        "when-2-field": "email", "when-2-op": "not_empty",
        "hide": ["address"], "_save": "builder"})
    assert response.status_code == 302
    assert stored(store_app, "vip-or-empty") == {
        "name": "vip-or-empty", "entity": "customer",
        "when": {"any": [{"field": "vip", "equals": True}, {"field": "phone_1", "empty": True},
                         {"field": "email", "empty": False}]},
        "then": {"hide": ["address"]}}
    # The builder shows it as it was made.
    page = store_client.get(edit_url("vip-or-empty")).get_data(as_text=True)
    assert '<option value="any" selected>' in page
    assert 'name="when-0-value" value="yes"' in page
    assert re.search(r'name="when-2-op".*?<option value="not_empty" selected>', page, re.S)


def test_more_rows_keeps_what_was_typed_and_saves_nothing(store_app, store_client):
    add_fields(store_app)
    response = submit(store_client, NEW, {**BUILT, "_more": "1", "_save": ""})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'name="when-7-field"' in page and 'name="when-8-field"' not in page
    assert 'value="finance-north"' in page and 'name="when-3-value" value="2026-03-01"' in page
    assert stored(store_app, "finance-north") is None


def test_a_rule_added_as_json_is_saved_and_edited_as_json(store_app, store_client):
    add_fields(store_app)
    nested = {"name": "nested", "when": {"any": [
        {"field": "vip", "equals": True},
        {"all": [{"field": "region", "equals": "North"},
                 {"not": {"field": "site", "one_of": ["Hull"]}}]}]},
        "then": {"mandatory": ["cost_centre"]}}
    response = submit(store_client, NEW, {"_save": "advanced", "document": json.dumps(nested)})
    assert response.status_code == 302
    assert stored(store_app, "nested") == {**nested, "entity": "customer"}
    page = store_client.get(edit_url("nested")).get_data(as_text=True)
    assert 'id="builder-unavailable"' in page and 'id="rule-builder"' not in page
    assert "VIP is Yes or (Region is North and Site is not one of Hull)" in text_of(
        store_client.get(LIST).get_data(as_text=True))
    changed = {**nested, "entity": "customer", "then": {"mandatory": ["phone_1"]}}
    response = submit(store_client, edit_url("nested"), {
        "_save": "advanced", "document": json.dumps(changed),
        "revision": revision_of(page)})
    assert response.status_code == 302
    assert stored(store_app, "nested")["then"] == {"mandatory": ["phone_1"]}


def test_editing_with_the_builder_changes_the_rule(store_app, store_client):
    add_fields(store_app)
    with store_app.app_context():
        rules.add_rule(FINANCE)
    url = edit_url("finance-needs-cost-centre")
    page = store_client.get(url).get_data(as_text=True)
    assert 'name="name"' not in page  # a rule's name stays
    assert 'name="when-0-value" value="Finance"' in page
    assert re.search(r'name="when-1-op".*?<option value="not_equals" selected>', page, re.S)
    assert '"department"' in page  # the JSON too
    response = store_client.post(url, data={
        "csrf_token": csrf_token(page), "revision": revision_of(page),
        "description": "Finance and Audit", "match": "all",
        "when-0-field": "department", "when-0-op": "one_of", "when-0-value": "Finance,Audit",
        "mandatory": ["cost_centre"], "_save": "builder"})
    assert response.status_code == 302
    assert stored(store_app, "finance-needs-cost-centre") == {
        "name": "finance-needs-cost-centre", "entity": "customer",
        "description": "Finance and Audit",
        "when": {"all": [{"field": "department", "one_of": ["Finance", "Audit"]}]},
        "then": {"mandatory": ["cost_centre"]}}


# -- refusals ----------------------------------------------------------------------------------

def test_a_refused_rule_shows_the_sentence_keeps_what_was_typed_and_saves_nothing(
        store_app, store_client):
    add_fields(store_app)
    typed = {**BUILT, "when-3-value": "2026-3-1"}
    response = submit(store_client, NEW, typed)
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    refusal = re.search(r'id="rule-refused">(.*?)</div>', page, re.S).group(1)
    assert unescape(refusal) == ("Rule finance-north: the value '2026-3-1' does not fit Start "
                                 "Date: Start Date must be a date written YYYY-MM-DD. Nothing "
                                 "was saved.")
    assert 'name="when-3-value" value="2026-3-1"' in page and 'value="finance-north"' in page
    assert re.search(r'<option value="cost_centre" selected>Cost Centre</option>', page)
    assert stored(store_app, "finance-north") is None
    # A tick box cannot be mandatory (said of the JSON); a rule's name is needed.
    bad = {"name": "vip-mandatory", "when": {"field": "region", "equals": "North"},
           "then": {"mandatory": ["vip"]}}
    page = submit(store_client, NEW, {"_save": "advanced", "document": json.dumps(bad)}
                  ).get_data(as_text=True)
    assert ("Rule vip-mandatory: VIP is a tick box: it always has a value, so it cannot be "
            "mandatory.") in text_of(page)
    assert '&#34;vip-mandatory&#34;' in page  # the JSON as typed
    page = submit(store_client, NEW, {"_save": "advanced", "document": '{"name": '}
                  ).get_data(as_text=True)
    assert "The JSON could not be read (line 1, column 10): Expecting value." in text_of(page)
    page = submit(store_client, NEW, {**BUILT, "when-2-value": "Leeds"}).get_data(as_text=True)
    assert ("Rule finance-north: condition row 3 has a value but no field; choose the field "
            "it compares.") in text_of(page)
    with store_app.app_context():
        assert RuleDefinition.objects.count() == 0


def test_a_name_in_use_and_a_circle_are_refused(store_app, store_client):
    add_fields(store_app)
    with store_app.app_context():
        rules.add_rule(NORTH)
    page = submit(store_client, NEW, {
        "name": "north-sites", "when-0-field": "vip", "when-0-value": "no",
        "hide": ["phone_2"], "_save": "builder"}).get_data(as_text=True)
    assert ("customer already has a rule named 'north-sites'; choose another name or edit that "
            "rule.") in text_of(page)
    page = submit(store_client, NEW, {
        "name": "site-sets-region", "when-0-field": "site", "when-0-value": "Leeds",
        "choices-0-field": "region", "choices-0-values": "North", "_save": "builder"}
    ).get_data(as_text=True)
    assert "Rule site-sets-region: the rules would go round in a circle" in text_of(page)
    assert stored(store_app, "site-sets-region") is None


def test_a_stale_edit_is_refused(store_app, store_client):
    add_fields(store_app)
    with store_app.app_context():
        rules.add_rule(FINANCE)
    url = edit_url("finance-needs-cost-centre")
    page = store_client.get(url).get_data(as_text=True)
    with store_app.app_context():  # another admin saves first
        rules.update_rule({**FINANCE, "description": "Theirs"})
    response = store_client.post(url, data={
        "csrf_token": csrf_token(page), "revision": revision_of(page),
        "description": "Mine", "when-0-field": "department", "when-0-value": "Finance",
        "mandatory": ["cost_centre"], "_save": "builder"})
    assert response.status_code == 409
    assert ("Rule finance-needs-cost-centre was changed by someone else after you opened it; "
            "reload to see their change, then make yours again.") in text_of(
        response.get_data(as_text=True))
    assert 'Mine</textarea>' in response.get_data(as_text=True)
    assert stored(store_app, "finance-needs-cost-centre")["description"] == "Theirs"


# -- retiring ----------------------------------------------------------------------------------

def test_retiring_asks_first_and_putting_back_checks_the_rule_again(store_app, store_client):
    add_fields(store_app)
    with store_app.app_context():
        rules.add_rule(FINANCE)
    retire = edit_url("finance-needs-cost-centre", action="retire")
    asked = text_of(store_client.get(retire).get_data(as_text=True))
    assert "Retire rule finance-needs-cost-centre?" in asked
    assert "Retiring takes the rule out of force on the next page anyone opens" in asked
    assert "Records keep every value they hold." in asked
    assert stored(store_app, "finance-needs-cost-centre").get("retired") is None
    response = confirm(store_client, retire)
    assert response.status_code == 302
    assert stored(store_app, "finance-needs-cost-centre")["retired"] is True
    assert "retired" in row_of(store_client.get(LIST).get_data(as_text=True),
                               "finance-needs-cost-centre")
    with store_app.app_context():  # out of force: the record needs no cost centre
        records.create("customer", {"name": "Ann", "department": "Finance"}, BY_FORM)
        # and its field can now be retired, so the rule no longer fits
        update_field("customer", "cost_centre", retired=True)
    reinstate = edit_url("finance-needs-cost-centre", action="reinstate")
    assert "checks it against the dictionary as it is now" in text_of(
        store_client.get(reinstate).get_data(as_text=True))
    refused = confirm(store_client, reinstate)
    assert refused.status_code == 409
    assert ("Rule finance-needs-cost-centre: customer has no field 'cost_centre'") in \
        text_of(refused.get_data(as_text=True))
    assert stored(store_app, "finance-needs-cost-centre")["retired"] is True
    with store_app.app_context():
        update_field("customer", "cost_centre", retired=False)
    assert confirm(store_client, reinstate).status_code == 302
    assert stored(store_app, "finance-needs-cost-centre").get("retired") is None
    # Retiring what is retired already, or a stale confirmation, changes nothing.
    assert store_client.get(reinstate).status_code == 302
    page = store_client.get(retire).get_data(as_text=True)
    with store_app.app_context():
        rules.update_rule({**FINANCE, "description": "Changed meanwhile"})
    stale = store_client.post(retire, data={"csrf_token": csrf_token(page),
                                            "revision": revision_of(page)})
    assert stale.status_code == 409 and "changed by someone else" in text_of(
        stale.get_data(as_text=True))
    assert stored(store_app, "finance-needs-cost-centre").get("retired") is None


# -- who may, and escaping ---------------------------------------------------------------------

def test_agents_get_403_on_every_rules_screen(store_app, store_agent_client):
    with store_app.app_context():
        rules.add_rule({"name": "contact-phone", "entity": "contact",
                        "when": {"field": "job_title", "equals": "Buyer"},
                        "then": {"mandatory": ["phone"]}})
    assert store_agent_client.get("/admin/dictionary/rules/").status_code == 403
    urls = [LIST, NEW, "/admin/dictionary/rules/contact/",
            edit_url("contact-phone", "contact"),
            edit_url("contact-phone", "contact", "retire"),
            edit_url("contact-phone", "contact", "reinstate")]
    for url in urls:
        assert store_agent_client.get(url).status_code == 403, url
        assert store_agent_client.post(url, data={"document": "{}"}).status_code == 403, url
    assert "/admin/dictionary/rules/" not in store_agent_client.get("/admin/").get_data(
        as_text=True)
    with store_app.app_context():
        assert RuleDefinition.objects.get(name="contact-phone").retired is False


def test_markup_in_labels_rule_names_and_descriptions_is_shown_as_text(store_app, store_client):
    add_fields(store_app)
    name = f"rule {MARKUP}"
    with store_app.app_context():
        update_field("customer", "region", label=f"Region {MARKUP}")
        rules.add_rule({**NORTH, "name": name, "description": f"About {MARKUP}"})
        made = records.create("customer", {"name": "Ann", "region": "North"}, BY_FORM)
    pages = [LIST, edit_url(name), edit_url(name, action="retire"),
             f"/admin/customer/edit/?id={made.record['_id']}"]
    for url in pages:
        page = store_client.get(url).get_data(as_text=True)
        assert MARKUP not in page, url
        assert "&lt;img src=x onerror=alert(1)&gt;" in page, url
    refused = submit(store_client, NEW, {
        "name": f"new {MARKUP}", "when-0-field": "region", "when-0-value": f"<b>{MARKUP}",
        "hide": ["phone_2"], "_save": "builder"}).get_data(as_text=True)
    assert MARKUP not in refused and "is not one of the choices of Region" in text_of(refused)


# -- the Rules panel of a record's page --------------------------------------------------------

def test_the_record_page_explains_which_rules_hold_and_why(store_app, store_client):
    add_fields(store_app)
    with store_app.app_context():
        rules.add_rule(FINANCE)
        rules.add_rule(NORTH)
        rules.add_rule({"name": "retired-one", "entity": "customer",
                        "when": {"field": "vip", "equals": True},
                        "then": {"mandatory": ["phone_2"]}})
        rules.retire_rule("customer", "retired-one")
        ann = records.create("customer", {"name": "Ann", "department": "Finance",
                                          "cost_centre": "CC-1", "region": "South"}, BY_FORM)
    url = f"/admin/customer/edit/?id={ann.record['_id']}"
    page = store_client.get(url).get_data(as_text=True)
    assert 'id="rules-explained"' in page and 'data-rule="retired-one"' not in page
    assert row_of(page, "finance-needs-cost-centre") == (
        " finance-needs-cost-centre Finance books every customer to a cost centre. holds "
        "Department is Finance and Level is not Org Show: Cost Centre; Mandatory: Cost "
        "Centre ")
    assert row_of(page, "north-sites") == (
        " north-sites does not hold Region is North Read-only: Email; Choices of Site: "
        "Leeds, York ")
    assert "Mandatory by a rule: Cost Centre" in text_of(page)
    assert 'id="rules-screen" href="/admin/dictionary/rules/customer/"' in page
    # The labels are the current ones.
    with store_app.app_context():
        update_field("customer", "department", label="Division")
        update_field("customer", "cost_centre", label="Budget Code")
    page = store_client.get(url).get_data(as_text=True)
    assert "Division is Finance and Level is not Org Show: Budget Code; Mandatory: Budget " \
           "Code" in row_of(page, "finance-needs-cost-centre")
    # An Org: the Level is part of the condition.
    with store_app.app_context():
        acme = records.create("customer", {"name": "Acme", "level": "Org",
                                           "department": "Finance", "region": "North"},
                              BY_FORM)
    page = store_client.get(f"/admin/org/edit/?id={acme.record['_id']}").get_data(as_text=True)
    assert "does not hold" in row_of(page, "finance-needs-cost-centre")
    assert "holds" in row_of(page, "north-sites").split("Region")[0]
    assert "Read-only by a rule: Email" in text_of(page)
    assert "Hidden by a rule: Budget Code" in text_of(page)  # shown only when Finance holds
    assert "Site can only be: Leeds, York" in text_of(page)


def test_agents_see_the_panel_without_the_link_and_contacts_have_it_too(
        store_app, store_agent_client):
    with store_app.app_context():
        rules.add_rule({"name": "buyers-need-a-phone", "entity": "contact",
                        "when": {"field": "job_title", "equals": "Buyer"},
                        "then": {"mandatory": ["phone"]}})
        acme = records.create("customer", {"name": "Acme", "level": "Org"}, BY_FORM)
        bo = records.create("contact", {"name": "Bo", "customer": acme.record["_id"],
                                        "job_title": "Buyer", "phone": "0113 496 0000"},
                            BY_FORM)
    page = store_agent_client.get(f"/admin/contact/edit/?id={bo.record['_id']}").get_data(
        as_text=True)
    assert row_of(page, "buyers-need-a-phone") == (
        " buyers-need-a-phone holds Job Title is Buyer Mandatory: Phone ")
    assert 'id="rules-screen"' not in page
    # No rule for customers: no panel.
    customer = store_agent_client.get(f"/admin/org/edit/?id={acme.record['_id']}").get_data(
        as_text=True)
    assert 'id="rules-explained"' not in customer


@pytest.mark.parametrize("entity", ["customer", "contact"])
def test_the_builder_offers_the_entitys_live_fields(store_app, store_client, entity):
    add_fields(store_app)
    with store_app.app_context():
        update_field("customer", "phone_2", retired=True)
    page = store_client.get(f"/admin/dictionary/rules/{entity}/new/").get_data(as_text=True)
    options = set(re.findall(r'name="when-0-field"[^>]*>(.*?)</select>', page, re.S)[0]
                  .split("<option"))
    names = {m for o in options for m in re.findall(r'value="([^"]*)"', o)}
    if entity == "customer":
        assert {"department", "region", "start_date", "vip", "level"} <= names
        assert "phone_2" not in names and "job_title" not in names
        mandatory = re.search(r'id="rule-mandatory".*?</select>', page, re.S).group(0)
        assert 'value="vip"' not in mandatory and 'value="cost_centre"' in mandatory
        show = re.search(r'id="rule-show".*?</select>', page, re.S).group(0)
        assert 'value="level"' not in show
    else:
        assert {"job_title", "phone", "customer"} <= names and "department" not in names
