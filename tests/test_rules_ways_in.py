"""Conditional rules hold on every way in besides the admin's form: a seed load, the
portal's My details and the REST API each refuse a value a rule forbids, naming the rule,
and write nothing of the refused record; on both stores. (The directory sync:
test_rules_ways_in_directory.py; the API's description: test_rules_ways_in_description.py.)
"""

from __future__ import annotations

import json
import typing as t

import pytest
from bson import ObjectId

from admin_app import records
from admin_app.customising.conditional_rules import add_rule
from admin_app.customising.fields import add_field
from admin_app.models import Customer, User
from admin_app.records.history import RecordChange

from .api_client import Api, conforms, errors_of, problem, token_for
from .helpers import submit

FINANCE = {"name": "finance-needs-cost-centre", "entity": "customer",
           "when": {"all": [{"field": "department", "equals": "Finance"},
                            {"not": {"field": "level", "equals": "Org"}}]},
           "then": {"mandatory": ["cost_centre"]}}
LOCK_EMAIL = {"name": "lock-email", "entity": "customer",
              "when": {"field": "location", "equals": "Leeds"},
              "then": {"read_only": ["email"]}}
SALES_TIERS = {"name": "sales-tiers", "entity": "customer",
               "when": {"field": "department", "equals": "Sales"},
               "then": {"choices": {"tier": ["Silver", "Bronze"]}}}

NEEDS_COST_CENTRE = ("Cost Centre is mandatory when Department is Finance and Level is not "
                     "Org (rule finance-needs-cost-centre).")
EMAIL_LOCKED = "Email is read-only when Location is Leeds (rule lock-email); it was not changed."
TIER_NARROWED = "Tier can only be Silver, Bronze when Department is Sales (rule sales-tiers)."


def with_rules(app: t.Any, *documents: dict[str, t.Any]) -> None:
    """A Cost Centre and a Tier field on the customer form, and the rules given."""
    with app.app_context():
        add_field("customer", "cost_centre", "Cost Centre", "text",
                  sections={"Customer": "Customer"})
        add_field("customer", "tier", "Tier", "choice", choices=["Gold", "Silver", "Bronze"],
                  sections={"Customer": "Customer"})
        for document in documents:
            add_rule(document)


def stored(app: t.Any, **query: t.Any) -> dict[str, t.Any] | None:
    with app.app_context():
        return Customer._get_collection().find_one(query)


def changes(app: t.Any, oid: ObjectId) -> int:
    with app.app_context():
        return RecordChange.objects(record=oid).count()


# -- the seed load -----------------------------------------------------------------------

def load(app: t.Any, tmp_path: t.Any, data: dict[str, t.Any], name: str) -> t.Any:
    """`flask seed load FILE`, as an operator runs it."""
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return app.test_cli_runner().invoke(args=["seed", "load", str(path)])


def test_a_seed_load_reports_each_record_a_rule_refuses_and_loads_the_rest(store_app,
                                                                         tmp_path):
    with_rules(store_app, FINANCE, LOCK_EMAIL, SALES_TIERS)
    first = load(store_app, tmp_path, {"customers": [
        {"name": "Ann", "email": "ann@example.com", "department": "Finance"},
        {"name": "Bob", "email": "bob@example.com", "department": "Finance",
         "cost_centre": "CC-7"},
        {"name": "Cy", "email": "cy@example.com", "department": "Sales", "tier": "Gold"},
        {"name": "Di", "email": "di@example.com", "department": "Sales", "tier": "Silver",
         "location": "Leeds"},
        {"name": "Ed", "location": "Leeds"},
    ]}, "first.json")
    assert first.exit_code == 1, first.output
    assert (f"first.json customers #1 (ann@example.com): Cost Centre: {NEEDS_COST_CENTRE}"
            in first.output)
    assert f"first.json customers #3 (cy@example.com): Tier: {TIER_NARROWED}" in first.output
    # A new record's read-only field may hold a value only if it is the default.
    assert f"first.json customers #4 (di@example.com): Email: {EMAIL_LOCKED}" in first.output
    assert "2 created, 0 updated, 0 unchanged, 3 failed" in first.output
    for name in ("Ann", "Cy", "Di"):
        assert stored(store_app, name=name) is None
    bob = stored(store_app, name="Bob")
    assert bob["cost_centre"] == "CC-7" and stored(store_app, name="Ed") is not None

    second = load(store_app, tmp_path, {"customers": [
        {"name": "Ed", "location": "Leeds", "news": "Moved."},
        {"name": "Bob", "email": "bob@example.com", "cost_centre": None},
    ]}, "second.json")
    assert second.exit_code == 1, second.output
    assert (f"second.json customers #2 (bob@example.com): Cost Centre: {NEEDS_COST_CENTRE}"
            in second.output)
    assert "0 created, 1 updated, 0 unchanged, 1 failed" in second.output
    after = stored(store_app, name="Bob")
    assert (after["cost_centre"], after["revision"]) == ("CC-7", bob["revision"])
    assert changes(store_app, bob["_id"]) == 1


def test_a_seed_update_of_a_field_a_rule_locks_is_refused_naming_the_rule(store_app,
                                                                        tmp_path):
    with_rules(store_app)
    assert load(store_app, tmp_path, {"customers": [
        {"external_id": "ed-1", "name": "Ed", "email": "ed@example.com", "location": "Leeds"}]},
        "a.json").exit_code == 0
    with store_app.app_context():
        add_rule(LOCK_EMAIL)
    ed = stored(store_app, name="Ed")
    refused = load(store_app, tmp_path, {"customers": [
        {"external_id": "ed-1", "email": "edward@example.com"},
        {"name": "Fay", "email": "fay@example.com", "location": "York"}]}, "b.json")
    assert refused.exit_code == 1, refused.output
    assert f"b.json customers #1 (ed-1): Email: {EMAIL_LOCKED}" in refused.output
    assert "1 created, 0 updated, 0 unchanged, 1 failed" in refused.output
    # Leaving Leeds in the same record does not unlock it: it was locked.
    leaving = load(store_app, tmp_path, {"customers": [
        {"external_id": "ed-1", "email": "edward@example.com", "location": "York"}]},
        "c.json")
    assert f"c.json customers #1 (ed-1): Email: {EMAIL_LOCKED}" in leaving.output
    assert stored(store_app, _id=ed["_id"]) == ed
    assert changes(store_app, ed["_id"]) == 1
    left = load(store_app, tmp_path, {"customers": [{"external_id": "ed-1", "location": "York"}]},
                "d.json")
    changed = load(store_app, tmp_path, {"customers": [
        {"external_id": "ed-1", "email": "edward@example.com"}]}, "e.json")
    assert (left.exit_code, changed.exit_code) == (0, 0), changed.output
    assert stored(store_app, _id=ed["_id"])["email"] == "edward@example.com"


# -- the portal --------------------------------------------------------------------------

PASSWORD = "plum orchard wheelbarrow 42"
YORK_PHONE = {"name": "york-needs-phone-2", "entity": "customer",
              "when": {"field": "location", "equals": "York"},
              "then": {"mandatory": ["phone_2"]}}
LEEDS_LOCKS_PHONE = {"name": "leeds-locks-phone", "entity": "customer",
                     "when": {"field": "location", "equals": "Leeds"},
                     "then": {"read_only": ["phone_1"]}}


@pytest.fixture
def guest(store_app):
    """Alice, in Leeds, signed in to the portal (Location and the phones are hers to
    change, as the shipped dictionary says)."""
    with store_app.app_context():
        customer = Customer(level="Customer", name="Alice Carter", email="alice@example.com",
                            location="Leeds", phone_1="+44 1").save()
        user = User(email="alice@example.com", role="webguest", customer=customer)
        user.set_password(PASSWORD)
        user.save()
        add_rule(YORK_PHONE)
        add_rule(LEEDS_LOCKS_PHONE)
    with store_app.test_client() as client:
        signed_in = submit(client, "/portal/", {"email": "alice@example.com",
                                                "password": PASSWORD})
        assert signed_in.status_code == 302
        yield client


def alice(app: t.Any) -> dict[str, t.Any]:
    return stored(app, email="alice@example.com")


def test_my_details_refuse_a_value_a_rule_makes_mandatory_naming_the_rule(store_app, guest):
    before = alice(store_app)
    response = submit(guest, "/portal/details/edit", {"location": "York", "phone_2": "",
                                                      "phone_1": "+44 1"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Phone 2 is mandatory when Location is York (rule york-needs-phone-2)." in html
    assert alice(store_app) == before
    saved = submit(guest, "/portal/details/edit", {"location": "York", "phone_2": "+44 2",
                                                   "phone_1": "+44 1"})
    assert saved.status_code == 302
    assert (alice(store_app)["location"], alice(store_app)["phone_2"]) == ("York", "+44 2")


def test_my_details_refuse_a_change_to_a_field_a_rule_locks(store_app, guest):
    before = alice(store_app)
    # Posted directly, with a valid CSRF token, whatever the page showed.
    response = submit(guest, "/portal/details/edit", {"location": "Leeds",
                                                      "phone_1": "+44 999"})
    assert response.status_code == 200
    assert ("Phone 1 is read-only when Location is Leeds (rule leeds-locks-phone); it was "
            "not changed.") in response.get_data(as_text=True)
    assert alice(store_app) == before
    # Moving away from Leeds in the same save does not unlock it: it was locked.
    moving = submit(guest, "/portal/details/edit", {"location": "London",
                                                    "phone_1": "+44 999"})
    assert "(rule leeds-locks-phone)" in moving.get_data(as_text=True)
    assert alice(store_app) == before


# -- the API -----------------------------------------------------------------------------

@pytest.fixture
def api(store_app) -> Api:
    with_rules(store_app, FINANCE, LOCK_EMAIL, SALES_TIERS)
    return token_for(store_app)


def count(app: t.Any) -> int:
    with app.app_context():
        return Customer.objects.count()


def rule_errors(body: dict[str, t.Any]) -> dict[str, tuple[str, str]]:
    """field → (code, rule) of a 422 problem's errors."""
    return {e["field"]: (e["code"], e.get("rule", "")) for e in body["errors"]}


def test_a_create_a_rule_refuses_is_a_problem_naming_the_field_code_and_rule(api):
    body = problem(api.send("POST", "customers", {
        "department": "Finance", "location": "Leeds", "email": "ann@example.com"}), 422)
    assert rule_errors(body) == {"name": ("mandatory", ""),
                                 "cost_centre": ("mandatory", "finance-needs-cost-centre"),
                                 "email": ("read_only", "lock-email")}
    assert errors_of(body)["cost_centre"] == ("Cost Centre", "mandatory", NEEDS_COST_CENTRE)
    assert errors_of(body)["email"] == ("Email", "read_only", EMAIL_LOCKED)
    assert "rule" not in next(e for e in body["errors"] if e["field"] == "name")
    conforms(api.app, body, "Problem")
    narrowed = problem(api.send("POST", "customers", {
        "name": "Cy", "department": "Sales", "tier": "Gold"}), 422)
    assert errors_of(narrowed) == {"tier": ("Tier", "not_a_choice", TIER_NARROWED)}
    assert rule_errors(narrowed)["tier"] == ("not_a_choice", "sales-tiers")
    assert count(api.app) == 0
    made = api.send("POST", "customers", {"name": "Ann", "department": "Finance",
                                          "cost_centre": "CC-7", "tier": "Gold"})
    assert made.status_code == 201, made.get_json()


def test_a_change_a_rule_refuses_is_a_problem_and_nothing_is_written(api):
    made = api.send("POST", "customers", {"name": "Ann", "email": "ann@example.com",
                                          "department": "Finance", "cost_centre": "CC-7"})
    assert made.status_code == 201, made.get_json()
    oid = made.get_json()["id"]
    # Moving to Leeds locks the email from then on.
    moved_in = api.send("PATCH", f"customers/{oid}", {"location": "Leeds"},
                        **{"If-Match": made.headers["ETag"]})
    assert moved_in.status_code == 200, moved_in.get_json()
    tag = moved_in.headers["ETag"]
    before = stored(api.app, _id=ObjectId(oid))

    def change(values: dict[str, t.Any]) -> t.Any:
        return api.send("PATCH", f"customers/{oid}", values, **{"If-Match": tag})

    locked = problem(change({"email": "ann@elsewhere.example"}), 422)
    assert errors_of(locked) == {"email": ("Email", "read_only", EMAIL_LOCKED)}
    assert rule_errors(locked)["email"] == ("read_only", "lock-email")
    emptied = problem(change({"cost_centre": None}), 422)
    assert rule_errors(emptied) == {"cost_centre": ("mandatory", "finance-needs-cost-centre")}
    narrowed = problem(change({"department": "Sales", "tier": "Gold"}), 422)
    assert rule_errors(narrowed) == {"tier": ("not_a_choice", "sales-tiers")}
    conforms(api.app, narrowed, "Problem")
    assert stored(api.app, _id=ObjectId(oid)) == before
    assert changes(api.app, ObjectId(oid)) == 2
    # Out of Leeds, and no longer in Finance, the same record takes both changes.
    moved = change({"location": "York", "department": "Audit", "cost_centre": None})
    assert moved.status_code == 200, moved.get_json()
    again = api.send("PATCH", f"customers/{oid}", {"email": "ann@elsewhere.example"},
                     **{"If-Match": moved.headers["ETag"]})
    assert again.status_code == 200 and again.get_json()["email"] == "ann@elsewhere.example"


def test_a_restore_a_rule_refuses_is_a_problem_naming_the_rule(api):
    """A record archived before a rule came in force comes back only holding what the
    rule asks (the write path's refusal, as the API words it)."""
    made = api.send("POST", "customers", {"name": "Ann", "department": "Audit"})
    oid = made.get_json()["id"]
    assert api.send("POST", f"customers/{oid}/archive").status_code == 200
    with api.app.app_context():
        records.write.collection_of("customer").update_one(
            {"_id": ObjectId(oid)}, {"$set": {"department": "Finance"}})  # an older store
    body = problem(api.send("POST", f"customers/{oid}/restore"), 422)
    assert errors_of(body) == {"cost_centre": ("Cost Centre", "mandatory", NEEDS_COST_CENTRE)}
    assert rule_errors(body)["cost_centre"] == ("mandatory", "finance-needs-cost-centre")
    assert stored(api.app, _id=ObjectId(oid))["archived"] is True
