"""NoSQL operator injection on the admin screens: `{"$ne": null}` and the bracket forms
(`search[$ne]=`) are either text, matched literally, or refused; never a query that
widens what a screen shows, never a server error.
"""

from __future__ import annotations

import json
import re

import pytest

from admin_app.models import Contract, Customer

NE = '{"$ne": null}'
REGEX_ALL = ".*"


@pytest.fixture
def records(app):
    with app.app_context():
        Customer(name="Alice Adams", level="Customer").save()
        Customer(name="Bob Brown", level="Customer").save()
        Customer(name="Acme Ltd", level="Org").save()
        Customer(name="Acme Gone", level="Org", archived=True).save()
        Contract(name="Gold").save()
        Contract(name="Old terms", archived=True).save()


def form_token(html: str) -> str:
    """The CSRF token of the page's own form (the last on the page: the menu bar's Sign
    out form comes first, and Contracts' SecureForm token is of another kind)."""
    return re.findall(r'name="csrf_token"[^>]*value="([^"]+)"', html)[-1]


def listed(response, names=("Alice Adams", "Bob Brown", "Gold", "Old terms")) -> list[str]:
    """The names a list page shows in its table rows."""
    assert response.status_code == 200, response.status_code
    html = response.get_data(as_text=True)
    table = html[html.find("<table"):html.rfind("</table>")]
    text = " ".join(re.sub(r"<[^>]+>", " ", table).split())
    return [name for name in names if name in text]


def offered(response) -> list[str]:
    """The names a search-as-you-type lookup offers."""
    assert response.status_code == 200, response.status_code
    return [text for _id, text in json.loads(response.get_data(as_text=True))]


def test_the_lists_show_records_so_the_checks_below_can_see_a_widening(client, records):
    assert listed(client.get("/admin/customer/")) == ["Alice Adams", "Bob Brown"]
    assert listed(client.get("/admin/customer/?search=alice")) == ["Alice Adams"]
    assert listed(client.get("/admin/contract/")) == ["Gold", "Old terms"]
    assert listed(client.get("/admin/contract/?flt0_0=1")) == ["Old terms"]
    assert offered(client.get("/admin/customer/ajax/lookup/?name=org&query=acm")) == ["Acme Ltd"]


@pytest.mark.parametrize("search", [NE, REGEX_ALL, '{"$regex": ".*"}', '{"$gt": ""}'])
def test_an_operator_typed_in_list_search_is_text_and_matches_nothing(client, records, search):
    for view in ("customer", "contract"):
        assert listed(client.get(f"/admin/{view}/", query_string={"search": search})) == []


def test_a_record_literally_named_like_an_operator_is_found_by_that_text(client, records, app):
    with app.app_context():
        Customer(name=NE, level="Customer").save()
    response = client.get("/admin/customer/", query_string={"search": NE})
    assert listed(response) == []  # neither Alice nor Bob...
    assert "{&#34;$ne&#34;: null}" in response.get_data(as_text=True)  # ...only that record


@pytest.mark.parametrize("url", [
    "/admin/customer/?search[$ne]=",
    "/admin/customer/?search[$regex]=.*",
    "/admin/customer/?archived[$ne]=1",
    "/admin/customer/?sort[$ne]=1",
    "/admin/contract/?flt0_0[$gt]=",
    "/admin/contract/?flt0_0[$ne]=1",
    "/admin/customer/ajax/lookup/?name=org&query[$ne]=",
    "/admin/customer/edit/?id[$ne]=1",
    "/admin/ticket/?customer[$ne]=1",
    "/admin/customer/?$where=1",
])
def test_a_parameter_named_with_an_operator_is_refused(client, records, url):
    response = client.get(url)
    assert response.status_code == 400
    assert "Alice Adams" not in response.get_data(as_text=True)


@pytest.mark.parametrize("value", [NE, '{"$gt": ""}', "1 || true"])
def test_an_operator_as_a_filter_value_is_refused_not_applied(client, records, value):
    """Contracts' Archive filter takes 1 or 0; anything else is said to be invalid and the
    filter is not applied (the list shows what it shows with no filter at all)."""
    for flt in ("flt0_0", "flt0_1"):
        response = client.get("/admin/contract/", query_string={flt: value})
        assert "Invalid Filter Value" in response.get_data(as_text=True)
        assert listed(response) == listed(client.get("/admin/contract/"))


@pytest.mark.parametrize("arg", ["sort", "desc", "page", "page_size"])
def test_an_operator_as_a_sort_or_page_value_is_ignored(client, records, arg):
    response = client.get("/admin/customer/", query_string={arg: NE})
    assert listed(response) == ["Alice Adams", "Bob Brown"]


@pytest.mark.parametrize("query", [NE, REGEX_ALL, '{"$regex": ""}'])
def test_an_operator_in_a_record_lookup_is_text_and_finds_nothing(client, records, query):
    for view in ("customer", "contact", "ticket"):
        response = client.get(f"/admin/{view}/ajax/lookup/",
                              query_string={"name": "org", "query": query})
        assert offered(response) == []


def test_an_operator_as_a_lookup_limit_or_offset_gives_the_first_page(client, records):
    for arg in ("limit", "offset"):
        response = client.get("/admin/customer/ajax/lookup/",
                              query_string={"name": "org", "query": "", arg: NE})
        assert offered(response) == ["Acme Ltd"]  # live Orgs only, as without the argument


@pytest.mark.parametrize("url", [
    f"/admin/customer/edit/?id={NE}",
    f"/admin/ticket/customer-facts/?id={NE}",
    f"/admin/ticket/?customer={NE}",
    f"/admin/contact/new/?customer={NE}",
    f"/admin/customer/new/?org={NE}",
])
def test_an_operator_as_a_record_id_finds_no_record(client, records, url):
    response = client.get(url)
    assert response.status_code in (200, 302, 404), response.status_code
    html = response.get_data(as_text=True)
    assert "Alice Adams" not in html and "Acme Ltd" not in html


def test_an_operator_typed_into_a_record_form_is_stored_as_text(client, records, app):
    page = client.get("/admin/customer/new/").get_data(as_text=True)
    response = client.post("/admin/customer/new/", data={
        "csrf_token": form_token(page), "level": "Customer", "name": NE})
    assert response.status_code == 302
    with app.app_context():
        stored = Customer._get_collection().find_one({"name": NE})
    assert stored is not None and stored["name"] == NE


def test_an_operator_as_a_reference_in_a_record_form_is_refused(client, records, app):
    page = client.get("/admin/customer/new/").get_data(as_text=True)
    response = client.post("/admin/customer/new/", data={
        "csrf_token": form_token(page), "level": "Customer", "name": "Carol", "org": NE})
    assert response.status_code == 200
    assert "The chosen Org no longer exists" in response.get_data(as_text=True)
    with app.app_context():
        assert Customer.objects(name="Carol").count() == 0


@pytest.mark.parametrize("view, fields", [
    ("customer", {"level": "Customer", "name": {"$ne": None}}),
    ("contract", {"name": {"$ne": None}}),
])
def test_a_json_body_with_an_operator_is_not_read_by_a_form(client, records, app, view, fields):
    page = client.get(f"/admin/{view}/new/").get_data(as_text=True)
    client.post(f"/admin/{view}/new/", json={"csrf_token": form_token(page), **fields})
    with app.app_context():
        for model in (Customer, Contract):
            assert model._get_collection().count_documents({"name": {"$type": "object"}}) == 0
        assert Customer.objects.count() == 4 and Contract.objects.count() == 2


def test_a_form_field_named_with_an_operator_is_refused(client, records, app):
    page = client.get("/admin/contract/new/").get_data(as_text=True)
    response = client.post("/admin/contract/new/", data={
        "csrf_token": form_token(page), "name": "Silver", "name[$ne]": ""})
    assert response.status_code == 400
    with app.app_context():
        assert Contract.objects(name="Silver").count() == 0


def test_an_operator_typed_into_a_contract_form_is_stored_as_text(client, records, app):
    page = client.get("/admin/contract/new/").get_data(as_text=True)
    response = client.post("/admin/contract/new/", data={
        "csrf_token": form_token(page), "name": NE})
    assert response.status_code == 302
    with app.app_context():
        assert Contract.objects(name=NE).count() == 1


def test_the_sign_in_form_refuses_an_operator_named_field(app):
    with app.test_client() as anonymous:
        page = anonymous.get("/login").get_data(as_text=True)
        response = anonymous.post("/login", data={
            "csrf_token": form_token(page), "email[$ne]": "", "password[$ne]": ""})
        assert response.status_code == 400
        assert anonymous.get("/admin/").status_code == 302  # still signed out
