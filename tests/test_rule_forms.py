"""The record forms (create and edit, Customers, Orgs and Contacts) and the portal's My
details are laid out for the record's state under the conditional rules: a field a rule
hides is hidden (and keeps its value), a mandatory one is starred and `required` (a
Level-mandatory one a rule hides is not), a read-only one is locked but still posts its
value, a narrowed drop-down offers only the allowed choices. A save the rules forbid is
refused beside the field in the record write path's words, naming the rule, and saves
nothing. Each page is read, and posted, as a browser would."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest
from werkzeug.datastructures import MultiDict

from admin_app import dictionary
from admin_app.customising.conditional_rules import add_rule
from admin_app.customising.fields import add_field, update_field
from admin_app.models import Contact, Customer, User

from .helpers import field_error, submit

FINANCE = {"name": "finance-needs-cost-centre", "entity": "customer",
           "when": {"all": [{"field": "department", "equals": "Finance"},
                            {"not": {"field": "level", "equals": "Org"}}]},
           "then": {"show": ["cost_centre"], "mandatory": ["cost_centre"]}}
REMOTE = {"name": "remote-has-no-location", "entity": "customer",
          "when": {"field": "department", "equals": "Remote"},
          "then": {"hide": ["location"]}}
LOCK_EMAIL = {"name": "lock-email", "entity": "customer",
              "when": {"field": "region", "equals": "North"},
              "then": {"read_only": ["email"]}}
NORTH_SITES = {"name": "north-sites", "entity": "customer",
               "when": {"field": "region", "equals": "North"},
               "then": {"choices": {"site": ["Leeds", "York", "Hull"]}}}
EAST_LOCKS_SITE = {"name": "east-locks-site", "entity": "customer",
                   "when": {"field": "region", "equals": "East"},
                   "then": {"read_only": ["site"]}}
ORG_EAST = {"name": "org-east-phone", "entity": "customer",
            "when": {"all": [{"field": "level", "equals": "Org"},
                             {"field": "region", "equals": "East"}]},
            "then": {"mandatory": ["phone_1"]}}
DIRECTOR = {"name": "director-phone", "entity": "contact",
            "when": {"field": "job_title", "equals": "Director"},
            "then": {"mandatory": ["phone"]}}
# The portal's: Department is visible to the customer, not editable.
FINANCE_PHONES = {"name": "finance-phones", "entity": "customer",
                  "when": {"field": "department", "equals": "Finance"},
                  "then": {"mandatory": ["phone_2"], "read_only": ["phone_1"]}}
NEW = "/admin/customer/new/"
PASSWORD = "plum orchard wheelbarrow 42"


@pytest.fixture
def ruled(store_app):
    """Region and Site (choices) and Cost Centre on the Customer form, Location mandatory
    for a Customer, and the rules above in force."""
    with store_app.app_context():
        dictionary.current_or_default()
        add_field("customer", "cost_centre", "Cost Centre", "text",
                  sections={"Customer": "Customer"})
        add_field("customer", "region", "Region", "choice", choices=["North", "South", "East"],
                  sections={"Customer": "Customer", "Org": "Organisation"})
        add_field("customer", "site", "Site", "choice", choices=["Leeds", "York", "Hull", "Kent"],
                  sections={"Customer": "Customer"})
        update_field("customer", "location", mandatory=["Customer"])
        for rule in (FINANCE, REMOTE, LOCK_EMAIL, NORTH_SITES, EAST_LOCKS_SITE, ORG_EAST,
                     DIRECTOR):
            add_rule(rule)
    return store_app


# -- reading a page as a browser does ------------------------------------------------------

class FormPage(HTMLParser):
    """One form of a page: each field's group (its attributes, star, control, options,
    hidden copies) and what a browser posts for the form left as shown (no disabled
    control, a tick box only when ticked, a drop-down's selected options or its first)."""

    def __init__(self, html: str, marker: str) -> None:
        super().__init__()
        at = html.index(marker)
        self.groups: dict[str, dict] = {}
        self.posted: list[tuple[str, str]] = []
        self._group: dict | None = None
        self._depth = 0
        self._select: tuple[str, bool, list] | None = None
        self._textarea: list | None = None
        self.feed(html[html.rindex("<form", 0, at):html.index("</form>", at)])

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "div" and "data-rule-field" in a:
            self._group = {"attrs": a, "star": False, "control": None, "options": [],
                           "copies": []}
            self.groups[a["data-rule-field"]] = self._group
            self._depth = 0
        if tag == "div" and self._group is not None:
            self._depth += 1
        group = self._group or {}
        if tag == "strong" and "data-rule-star" in a and group:
            group["star"] = True
        name = a.get("name")
        if tag in ("input", "select", "textarea") and name and group \
                and "data-rule-copy" not in a and group.get("control") is None:
            group["control"] = (tag, a)
        if tag == "input" and "data-rule-copy" in a and group:
            group["copies"].append(a.get("value", ""))
        if tag == "input" and name and "disabled" not in a \
                and a.get("type") not in ("submit", "button") \
                and (a.get("type") != "checkbox" or "checked" in a):
            self.posted.append((name, a.get("value") or ("y" if a.get("type") == "checkbox"
                                                         else "")))
        elif tag == "select" and name:
            self._select = (name, "disabled" in a or False, [])
            self._multiple = "multiple" in a
        elif tag == "option" and self._select is not None:
            value = a.get("value", "")
            self._select[2].append((value, "selected" in a))
            if group:
                group["options"].append(value)
        elif tag == "textarea" and name and "disabled" not in a:
            self._textarea = [name, ""]

    def handle_endtag(self, tag):
        if tag == "div" and self._group is not None:
            self._depth -= 1
            if self._depth == 0:
                self._group = None
        if tag == "select" and self._select is not None:
            name, disabled, options = self._select
            if not disabled:
                chosen = [v for v, selected in options if selected]
                if not chosen and options and not self._multiple:
                    chosen = [options[0][0]]
                self.posted.extend((name, value) for value in chosen)
            self._select = None
        if tag == "textarea" and self._textarea is not None:
            name, text = self._textarea
            self.posted.append((name, text[1:] if text.startswith("\n") else text))
            self._textarea = None

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data

    def group(self, name: str) -> dict:
        return self.groups[name]

    def hidden(self, name: str) -> bool:
        return "hidden" in self.group(name)["attrs"]

    def starred(self, name: str) -> bool:
        """Starred, `required` and aria-required, all three or none."""
        group = self.group(name)
        control = group["control"][1]
        marks = {group["star"], "required" in control, control.get("aria-required") == "true"}
        assert len(marks) == 1, f"{name}: star, required and aria-required disagree"
        return group["star"]

    def locked(self, name: str) -> bool:
        control = self.group(name)["control"][1]
        return control.get("aria-readonly") == "true" and (
            "readonly" in control or "disabled" in control)

    def options(self, name: str) -> list[str]:
        return self.group(name)["options"]

    def post(self, **changes: str) -> MultiDict:
        """What a browser posts after the user set `changes` (and pressed Save)."""
        pairs = [(n, v) for n, v in self.posted if n not in changes]
        return MultiDict([*pairs, *changes.items(), ("_continue_editing", "Save")])


def record_form(html: str) -> FormPage:
    return FormPage(html, 'class="admin-form dictadmin-record"')


def get_form(client, url: str) -> FormPage:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return record_form(response.get_data(as_text=True))


def edit_url(record) -> str:
    entity = "contact" if isinstance(record, Contact) else \
        "org" if record.level == "Org" else "customer"
    return f"/admin/{entity}/edit/?id={record.pk}"


def data_block(html: str, block: str) -> dict:
    found = re.search(rf'<script type="application/json" id="{block}">(.*?)</script>', html,
                      re.S)
    assert found, f"no {block} block"
    return json.loads(found.group(1))


def stored(record) -> dict:
    return type(record)._get_collection().find_one({"_id": record.pk})


# -- the admin's record forms ---------------------------------------------------------------

def test_a_new_customer_form_is_laid_out_for_its_initial_values(ruled, store_client):
    html = store_client.get(NEW).get_data(as_text=True)
    form = record_form(html)
    # Shown only while Department is Finance: not yet.
    assert form.hidden("cost_centre") and not form.starred("cost_centre")
    assert not form.hidden("location") and form.starred("location")  # on its Level
    assert not form.locked("email")
    assert form.options("site") == ["", "Leeds", "York", "Hull", "Kent"]
    # What the page's script needs: the rules, and the form's facts.
    assert {r["name"] for r in data_block(html, "rule-bundle")["rules"]} >= {
        "finance-needs-cost-centre", "north-sites"}
    assert data_block(html, "rule-facts")["level"] == "Customer"
    assert "rule_form.js" in html and "conditions.js" in html


def test_an_edit_form_is_laid_out_for_the_stored_record(ruled, store_client):
    with ruled.app_context():
        ann = Customer(name="Ann", level="Customer", department="Finance", region="North",
                       site="Leeds", email="ann@example.com", location="Leeds").save()
        kent = Customer(name="Kim", level="Customer", region="North", site="Kent",
                        location="Hull").save()
    form = get_form(store_client, edit_url(ann))
    assert not form.hidden("cost_centre") and form.starred("cost_centre")
    assert form.locked("email") and "readonly" in form.group("email")["control"][1]
    assert form.options("site") == ["", "Leeds", "York", "Hull"]
    # A stored choice a rule no longer allows stays, selected, for the save to name it.
    form = get_form(store_client, edit_url(kent))
    assert form.options("site") == ["", "Leeds", "York", "Hull", "Kent"]
    assert ("site", "Kent") in form.posted
    assert form.hidden("cost_centre") and not form.starred("cost_centre")


def test_a_level_mandatory_field_a_rule_hides_is_not_starred_and_saves_empty(ruled,
                                                                               store_client):
    # The Level switch re-lays the form out on what was typed.
    page = store_client.get(NEW).get_data(as_text=True)
    switched = store_client.post(NEW, data={**dict(record_form(page).posted),
                                            "_level_switch": "1", "name": "Ann",
                                            "department": "Remote"})
    form = record_form(switched.get_data(as_text=True))
    assert form.hidden("location") and not form.starred("location")
    response = store_client.post(NEW, data=form.post(location="", _ok="OK"))
    assert response.status_code == 302
    with ruled.app_context():
        ann = Customer.objects.get(name="Ann")
        assert ann.department == "Remote" and "location" not in stored(ann)


def test_a_field_a_rule_makes_mandatory_is_refused_empty_naming_the_rule(ruled, store_client):
    response = submit(store_client, NEW, {
        "name": "Ann", "level": "Customer", "department": "Finance", "location": "Leeds",
        "email": "not-an-email", "_ok": "OK"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    # Every refusal at once, each beside its field.
    assert field_error(html, "Cost Centre is mandatory when Department is Finance and Level "
                             "is not Org (rule finance-needs-cost-centre).")
    assert field_error(html, "Email must be an email address.")
    form = record_form(html)  # laid out on what was posted
    assert not form.hidden("cost_centre") and form.starred("cost_centre")
    with ruled.app_context():
        assert Customer.objects.count() == 0
    response = submit(store_client, NEW, {
        "name": "Ann", "level": "Customer", "department": "Finance", "location": "Leeds",
        "cost_centre": "CC-7", "_ok": "OK"})
    assert response.status_code == 302
    with ruled.app_context():
        assert Customer.objects.get(name="Ann").cost_centre == "CC-7"


def test_a_choice_a_rule_narrows_away_is_refused_naming_the_rule(ruled, store_client):
    response = submit(store_client, NEW, {
        "name": "Ann", "level": "Customer", "location": "Leeds", "region": "North",
        "site": "Kent", "_ok": "OK"})
    html = response.get_data(as_text=True)
    assert field_error(html, "Site can only be Leeds, York, Hull when Region is North (rule "
                             "north-sites).")
    form = record_form(html)
    assert form.options("site") == ["", "Leeds", "York", "Hull", "Kent"]
    assert ("site", "Kent") in form.posted  # kept as chosen, not silently dropped
    with ruled.app_context():
        assert Customer.objects.count() == 0


def test_hiding_keeps_the_stored_value_through_saves(ruled, store_client):
    with ruled.app_context():
        bo = Customer(name="Bo", level="Customer", department="Sales",
                      location="Leeds").save()
    form = get_form(store_client, edit_url(bo))
    assert store_client.post(edit_url(bo), data=form.post(department="Remote")
                             ).status_code == 302
    form = get_form(store_client, edit_url(bo))
    assert form.hidden("location") and ("location", "Leeds") in form.posted
    assert store_client.post(edit_url(bo), data=form.post(phone_1="0113 496 0000")
                             ).status_code == 302
    with ruled.app_context():
        kept = stored(bo)
    assert (kept["location"], kept["department"], kept["phone_1"]) == (
        "Leeds", "Remote", "0113 496 0000")


def test_a_locked_field_still_posts_its_value_and_a_change_to_it_is_refused(ruled,
                                                                           store_client):
    with ruled.app_context():
        cy = Customer(name="Cy", level="Customer", region="East", site="Hull",
                      location="York").save()
        di = Customer(name="Di", level="Customer", region="North", email="di@example.com",
                      location="York").save()
    form = get_form(store_client, edit_url(cy))
    # A drop-down cannot be read-only: it is disabled, and a hidden copy posts its value.
    assert form.locked("site") and "disabled" in form.group("site")["control"][1]
    assert form.group("site")["copies"] == ["Hull"]
    assert store_client.post(edit_url(cy), data=form.post(phone_1="0113 496 0000")
                             ).status_code == 302
    with ruled.app_context():
        assert stored(cy)["site"] == "Hull" and stored(cy)["phone_1"] == "0113 496 0000"
    form = get_form(store_client, edit_url(cy))
    response = store_client.post(edit_url(cy), data=form.post(site="York"))
    assert field_error(response.get_data(as_text=True), "Site is read-only when Region is "
                       "East (rule east-locks-site); it was not changed.")
    form = get_form(store_client, edit_url(di))
    assert form.locked("email") and ("email", "di@example.com") in form.posted
    response = store_client.post(edit_url(di), data=form.post(email="other@example.com"))
    assert field_error(response.get_data(as_text=True), "Email is read-only when Region is "
                       "North (rule lock-email); it was not changed.")
    with ruled.app_context():
        assert stored(cy)["site"] == "Hull" and stored(di)["email"] == "di@example.com"
        assert stored(cy)["revision"] == 2 and stored(di)["revision"] == 1


def test_an_org_form_follows_the_rules_that_read_its_level(ruled, store_client):
    response = submit(store_client, "/admin/org/new/", {
        "name": "Acme", "level": "Org", "region": "East", "_ok": "OK"})
    assert field_error(response.get_data(as_text=True), "Phone 1 is mandatory when Level is "
                       "Org and Region is East (rule org-east-phone).")
    with ruled.app_context():
        assert Customer.objects.count() == 0
        acme = Customer(name="Acme", level="Org", region="East").save()
        ann = Customer(name="Ann", level="Customer", region="East", location="York").save()
    assert get_form(store_client, edit_url(acme)).starred("phone_1")
    assert not get_form(store_client, edit_url(ann)).starred("phone_1")  # not an Org


def test_a_contact_form_follows_the_contacts_rules(ruled, store_client):
    with ruled.app_context():
        acme = Customer(name="Acme", level="Org").save()
    url = f"/admin/contact/new/?customer={acme.pk}"
    form = get_form(store_client, url)
    assert not form.starred("phone") and form.starred("customer")
    response = store_client.post(url, data=form.post(name="Eve", job_title="Director",
                                                     _ok="OK"))
    assert field_error(response.get_data(as_text=True), "Phone is mandatory when Job Title "
                       "is Director (rule director-phone).")
    with ruled.app_context():
        assert Contact.objects.count() == 0
        eve = Contact(name="Eve", customer=acme.pk, job_title="Director",
                      phone="0113 496 0000").save()
    form = get_form(store_client, edit_url(eve))
    assert form.starred("phone")
    response = store_client.post(edit_url(eve), data=form.post(phone=""))
    assert field_error(response.get_data(as_text=True), "Phone is mandatory when Job Title "
                       "is Director (rule director-phone).")
    with ruled.app_context():
        assert stored(eve)["phone"] == "0113 496 0000"


def test_dictionary_text_reaches_the_page_only_as_text_and_data(ruled, store_client):
    markup = "</script><img src=x onerror=alert(1)>"
    with ruled.app_context():
        update_field("customer", "site", label=f"{markup}Site",
                     choices=["Leeds", "York", "Hull", "Kent", markup])
        add_rule({"name": "south-sites", "entity": "customer",
                  "when": {"field": "region", "equals": "South"},
                  "then": {"choices": {"site": ["Leeds", markup]}}})
    html = store_client.get(NEW).get_data(as_text=True)
    assert "<img src=x" not in html
    assert data_block(html, "rule-facts")["options"]["site"][-1] == [markup, markup]
    assert {"field": "region", "equals": "South"} in [
        r["when"] for r in data_block(html, "rule-bundle")["rules"]]
    assert markup in data_block(html, "rule-bundle")["fields"]["site"]["choices"]


# -- the portal's My details --------------------------------------------------------------

@pytest.fixture
def guest(ruled):
    """A WebGuest in Finance (Department is visible to them, not editable) with the
    portal's rules in force, signed in."""
    with ruled.app_context():
        update_field("customer", "department", customer_visible=True)
        add_rule(FINANCE_PHONES)
        customer = Customer(name="Fay", level="Customer", email="fay@example.com",
                            department="Finance", cost_centre="CC-1", phone_1="+44 1",
                            location="Leeds").save()
        user = User(email="fay@example.com", role="webguest", customer=customer)
        user.set_password(PASSWORD)
        user.save()
    with ruled.test_client() as client:
        assert submit(client, "/portal/", {"email": "fay@example.com",
                                           "password": PASSWORD}).status_code == 302
        client.customer = customer
        yield client


def details_form(client) -> FormPage:
    response = client.get("/portal/details/edit")
    assert response.status_code == 200
    return FormPage(response.get_data(as_text=True), 'id="details-form"')


def test_my_details_are_laid_out_and_refused_by_the_rules(ruled, guest):
    form = details_form(guest)
    assert form.starred("phone_2") and form.locked("phone_1") and not form.hidden("location")
    response = guest.post("/portal/details/edit", data=form.post(address="1 High St"))
    html = response.get_data(as_text=True)
    assert re.search(r'id="error-phone_2">Phone 2 is mandatory when Department is Finance '
                     r'\(rule finance-phones\).<', html)
    response = guest.post("/portal/details/edit", data=form.post(phone_1="+44 2",
                                                                 phone_2="+44 3"))
    assert re.search(r'id="error-phone_1">Phone 1 is read-only when Department is Finance '
                     r'\(rule finance-phones\); it was not changed.<',
                     response.get_data(as_text=True))
    with ruled.app_context():
        record = stored(guest.customer)
        assert "address" not in record and "phone_2" not in record
        assert record["phone_1"] == "+44 1"
    response = guest.post("/portal/details/edit", data=form.post(phone_2="+44 3"))
    assert response.status_code == 302
    with ruled.app_context():
        record = stored(guest.customer)
        assert (record["phone_1"], record["phone_2"]) == ("+44 1", "+44 3")


def test_a_field_a_rule_hides_is_hidden_on_my_details_and_keeps_its_value(ruled, guest):
    with ruled.app_context():
        Customer.objects(pk=guest.customer.pk).update_one(set__department="Remote")
    details = guest.get("/portal/details/").get_data(as_text=True)
    assert 'id="value-department"' in details and 'id="value-location"' not in details
    form = details_form(guest)
    assert form.hidden("location") and ("location", "Leeds") in form.posted
    assert not form.starred("phone_2") and not form.locked("phone_1")
    response = guest.post("/portal/details/edit", data=form.post(phone_1="+44 2"))
    assert response.status_code == 302
    with ruled.app_context():
        record = stored(guest.customer)
        assert (record["location"], record["phone_1"]) == ("Leeds", "+44 2")
