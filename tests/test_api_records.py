"""The REST API's customers and contacts: what a script sends and gets back, on both stores.

Each test talks HTTP to the app with a bearer token, as a script would, and checks the
status, the headers, the problem document and what is stored (the record, its history).
"""

from __future__ import annotations

import typing as t

import pytest
from bson import ObjectId

from admin_app import records
from admin_app.models import Customer
from admin_app.records.history import RecordChange

from .api_client import API, Api, errors_of, problem, token_for
from .helpers import ADMIN_EMAIL


@pytest.fixture
def api(store_app) -> Api:
    return token_for(store_app)


def stored(app: t.Any, entity: str, oid: str) -> dict[str, t.Any] | None:
    with app.app_context():
        return records.write.collection_of(entity).find_one({"_id": ObjectId(oid)})


def count(app: t.Any) -> int:
    with app.app_context():
        return Customer.objects.count()


# -- create -------------------------------------------------------------------------------

def test_a_customer_is_created_with_201_location_etag_and_history(api):
    answer = api.send("POST", "customers", {"name": "Ada Lovelace", "email": "ADA@Example.com",
                                            "expiry_date": "2027-01-31"})
    assert answer.status_code == 201
    body = answer.get_json()
    assert answer.headers["Location"] == f"{API}/customers/{body['id']}"
    assert answer.headers["ETag"] == f'"{body["id"]}-1"'
    assert body["email"] == "ada@example.com" and body["expiry_date"] == "2027-01-31"
    assert body["level"] == "Customer" and body["archived"] is False
    assert body["department"] is None  # every live field, null when empty
    document = stored(api.app, "customer", body["id"])
    assert document["name"] == "Ada Lovelace" and document["email"] == "ada@example.com"
    with api.app.app_context():
        change = RecordChange.objects.get(record=ObjectId(body["id"]))
    assert change.way == "api" and change.who["name"] == ADMIN_EMAIL
    # The Location reads it back, as it was answered.
    again = api.send("GET", answer.headers["Location"])
    assert again.get_json() == body and again.headers["ETag"] == answer.headers["ETag"]


def test_every_refused_field_is_named_with_its_label_code_and_the_forms_message(api):
    body = problem(api.send("POST", "customers", {
        "email": "not an address", "phone_1": "abc", "expiry_date": "2026-13-01",
        "level": "Tenant", "department": 7}), 422)
    assert errors_of(body) == {
        "email": ("Email", "invalid", "Email must be an email address."),
        "phone_1": ("Phone 1", "invalid", "Phone 1 must be a phone number: digits, spaces, "
                                          "+ ( ) - . / and an extension such as x2201."),
        "expiry_date": ("Expiry Date", "invalid",
                        "Expiry Date must be a date written YYYY-MM-DD."),
        "level": ("Level", "not_a_choice", "Level must be one of: Customer, Org."),
        "department": ("Department", "invalid",
                       "Department must be text, not a number, list or object."),
        "name": ("Name", "mandatory", "Name is mandatory."),
    }
    assert body["detail"] == "Nothing was saved: 6 fields refused."
    assert count(api.app) == 0


def test_keys_that_are_not_fields_are_refused_and_nothing_is_written(api):
    body = problem(api.send("POST", "customers", {
        "name": "Ada", "$where": "1", "email.domain": "x", "nickname": "A", "id": "x",
        "revision": 9, "archived": True}), 422)
    found = errors_of(body)
    assert {k: v[1] for k, v in found.items()} == {
        "$where": "unknown_field", "email.domain": "unknown_field", "nickname": "unknown_field",
        "id": "read_only", "revision": "read_only", "archived": "read_only"}
    assert found["archived"][2] == ("Archive or restore a record with POST …/archive or "
                                    "…/restore.")
    assert count(api.app) == 0


@pytest.mark.parametrize(("body", "headers", "status", "kind"), [
    ('{"name": "Ada"', {"Content-Type": "application/json"}, 400, "malformed"),
    ('{"name": "Ada"}', {"Content-Type": "text/plain"}, 415, "media-type"),
    ('["Ada"]', {"Content-Type": "application/json"}, 400, "not-an-object"),
    ('{"name": [[[["deep"]]]]}', {"Content-Type": "application/json"}, 400, "too-deep"),
    ("[" * 100_000 + "]" * 100_000, {"Content-Type": "application/json"}, 400, "too-deep"),
    (b'{"name": "\xff"}', {"Content-Type": "application/json"}, 400, "malformed"),
    ('{"name": 1' + "0" * 5000 + "}", {"Content-Type": "application/json"}, 400, "malformed"),
])
def test_bad_bodies_get_a_problem_naming_what_was_wrong(api, body, headers, status, kind):
    answer = api.client.post(f"{API}/customers", data=body, headers={**api.headers, **headers})
    assert problem(answer, status)["type"] == f"urn:dictadmin:problem:{kind}"
    assert count(api.app) == 0


def test_a_huge_array_is_refused_as_a_value_and_a_body_over_the_limit_as_too_large(api):
    body = problem(api.send("POST", "customers", {"name": ["x"] * 50_000}), 422)
    assert errors_of(body)["name"][2] == "Name must be text, not a number, list or object."
    over = api.send("POST", "customers", {"name": "x" * (3 * 2**20)})
    assert problem(over, 413)["type"] == "urn:dictadmin:problem:too-large"
    assert count(api.app) == 0


def test_a_contact_links_to_a_customer_by_id_and_a_missing_one_is_refused(api):
    customer = api.send("POST", "customers", {"name": "Acme", "level": "Org"}).get_json()
    made = api.send("POST", "contacts", {"name": "Sam", "customer": customer["id"]})
    assert made.status_code == 201 and made.get_json()["customer"] == customer["id"]
    for missing in (str(ObjectId()), "not-an-id"):
        body = problem(api.send("POST", "contacts", {"name": "Kim", "customer": missing}), 422)
        assert errors_of(body) == {"customer": (
            "Customer / Org", "not_found",
            "The chosen Customer / Org no longer exists; choose again.")}


# -- read --------------------------------------------------------------------------------

def test_a_record_is_read_by_id_or_natural_key(api):
    made = api.send("POST", "customers", {"name": "Acme", "level": "Org",
                                          "email": "it@acme.example"}).get_json()
    assert api.send("GET", f"customers/{made['id']}").get_json() == made
    assert api.send("GET", "customers/lookup?email=IT@Acme.example").get_json() == made
    assert api.send("GET", "customers/lookup?name=Acme&level=Org").get_json() == made
    assert problem(api.send("GET", "customers/lookup?name=Acme&level=Customer"), 404)
    assert problem(api.send("GET", "customers/lookup?phone_1=1"), 400)["detail"] == (
        "Look a customer up by email=… or name=…&level=….")
    api.send("POST", "customers", {"name": "Acme", "level": "Org"})
    assert "read them by id" in problem(
        api.send("GET", "customers/lookup?name=Acme&level=Org"), 409)["detail"]
    for absent in (str(ObjectId()), "nothing"):
        assert problem(api.send("GET", f"customers/{absent}"), 404)["detail"] == (
            f"There is no customer with the id {absent!r}.")


# -- change ------------------------------------------------------------------------------

def test_a_change_needs_the_etag_it_read_and_a_stale_one_is_refused(api):
    made = api.send("POST", "customers", {"name": "Ada"})
    oid, tag = made.get_json()["id"], made.headers["ETag"]
    assert problem(api.send("PATCH", f"customers/{oid}", {"department": "Finance"}),
                   428)["type"].endswith("if-match-required")
    changed = api.send("PATCH", f"customers/{oid}", {"department": "Finance"}, **{"If-Match": tag})
    assert changed.status_code == 200 and changed.get_json()["department"] == "Finance"
    assert changed.headers["ETag"] == f'"{oid}-2"'
    # Someone else changes it (the write path, as a form would); the old ETag is refused.
    with api.app.app_context():
        records.update("customer", oid, {"location": "Leeds"}, records.trace.by_request("form"))
    stale = api.send("PATCH", f"customers/{oid}", {"department": "Sales"},
                     **{"If-Match": changed.headers["ETag"]})
    assert problem(stale, 412)["type"].endswith("stale")
    assert stale.headers["ETag"] == f'"{oid}-3"'
    assert stored(api.app, "customer", oid)["department"] == "Finance"


def test_a_change_is_held_to_the_rules_of_the_level_it_leaves_the_record_at(api):
    made = api.send("POST", "customers", {"name": "Ada"})
    oid, tag = made.get_json()["id"], made.headers["ETag"]
    body = problem(api.send("PATCH", f"customers/{oid}", {"name": None}, **{"If-Match": tag}),
                   422)
    assert errors_of(body) == {"name": ("Name", "mandatory", "Name is mandatory.")}
    assert stored(api.app, "customer", oid)["revision"] == 1


def test_archive_and_restore_are_actions_and_nothing_is_ever_deleted(api):
    oid = api.send("POST", "customers", {"name": "Ada"}).get_json()["id"]
    archived = api.send("POST", f"customers/{oid}/archive")
    assert archived.status_code == 200 and archived.get_json()["archived"] is True
    current = api.send("GET", "customers").get_json()["items"]
    assert oid not in [item["id"] for item in current]
    assert oid in [i["id"] for i in api.send("GET", "customers?archived=true").get_json()["items"]]
    assert api.send("POST", f"customers/{oid}/restore").get_json()["archived"] is False
    deleted = api.send("DELETE", f"customers/{oid}")
    assert "never deleted" in problem(deleted, 405)["detail"]
    assert deleted.headers["Allow"] == "GET, PATCH"
    assert stored(api.app, "customer", oid)["archived"] is False


# -- list --------------------------------------------------------------------------------

def test_the_list_pages_through_every_record_once_by_its_link_header(api):
    made = {api.send("POST", "customers", {"name": f"Customer {n:02}"}).get_json()["id"]
            for n in range(25)}
    seen, url, pages = [], f"{API}/customers?limit=10", 0
    while url:
        answer = api.send("GET", url)
        assert answer.status_code == 200
        seen += [item["id"] for item in answer.get_json()["items"]]
        link = answer.headers.get("Link")
        url = link[1:link.index(">")] if link else None
        assert link is None or link.endswith('rel="next"')
        pages += 1
    assert pages == 3 and len(seen) == 25 and set(seen) == made
    picked = api.send("GET", "customers?limit=1&fields=name,email").get_json()["items"][0]
    assert set(picked) == {"id", "revision", "archived", "name", "email"}


@pytest.mark.parametrize(("query", "detail"), [
    ("limit=0", "limit must be a whole number from 1 to 100."),
    ("limit=101", "limit must be a whole number from 1 to 100."),
    ("after=bm9wZQ", "The 'after' cursor is not one this API gave: follow the Link header's "
                     "next URL."),
    ("fields=name,salary", "fields names what is not a field of customer records: salary."),
    ("archived=maybe", "The list cannot be filtered so: Archive must be true or false."),
])
def test_bad_list_arguments_get_a_sentence(api, query, detail):
    assert problem(api.send("GET", f"customers?{query}"), 400)["detail"] == detail


# -- who may ------------------------------------------------------------------------------

def test_no_token_no_records_and_unknown_places_answer_as_problems(api):
    anonymous = api.app.test_client()
    answer = anonymous.get(f"{API}/customers")
    assert problem(answer, 401)["type"].endswith("unauthorised")
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert problem(api.send("GET", "tenants"), 404)["detail"].startswith(
        "There is no resource 'tenants'")
    assert problem(api.send("GET", "/api/v1/customers/a/b/c/d"), 404)
    assert problem(api.send("PUT", "customers"), 405)


def test_an_operator_in_an_arguments_name_is_refused_with_its_sentence(api):
    body = problem(api.send("GET", "customers?name[$ne]=x"), 400)
    assert body["detail"] == "A request parameter's name may not carry a query operator ($)."
