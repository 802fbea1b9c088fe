"""The API's lists of customers and contacts, as a script reads them, on both stores:
filters (equality, `in` by a repeated argument, no value, word-prefix search, ranges on
dates and numbers), sorts both ways, cursor paging through every record exactly once
with ties on the sort value, `fields=`, the 400 problems for what it cannot use, and a
dictionary change showing in the next request. And every read those lists send is one a
declared index serves and a sharded cluster may send (tests/query_shapes.py).
"""

from __future__ import annotations

import typing as t
from datetime import datetime

import pytest
from bson import ObjectId

from admin_app import records
from admin_app.api import filters
from admin_app.customising.fields import add_field, update_field
from admin_app.models import Customer

from .api_client import Api, problem, token_for
from .api_list_flows import api_list_flows, walk
from .query_shapes import Recorder, recording, unjustified_broadcasts, unserved

NAMES = ("Ada Lovelace", "Alan Turing", "Grace Hopper")
DEPARTMENTS = ("Finance", "Sales", None, "Finance")
COUNT = 12


def _trace() -> records.Trace:
    return records.Trace(records.trace.COMMAND_LINE, records.trace.FORM)


@pytest.fixture
def desk(store_app) -> Api:
    """Twelve customers (each name four times, departments Finance, Sales and none, an
    expiry date and a number of seats each), an archived one, an Org with two contacts;
    and a read token."""
    with store_app.app_context():
        add_field("customer", "seats", "Seats", "integer",
                  sections={"Customer": "Customer", "Org": "Organisation"})
        org = records.create("customer", {"level": "Org", "name": "Acme Manufacturing"},
                             _trace()).record
        for i in range(COUNT):
            records.create("customer", {
                "level": "Customer", "name": NAMES[i % 3], "department": DEPARTMENTS[i % 4],
                "expiry_date": datetime(2026, 1 + i, 1), "seats": i * 10,
                "email": f"person{i}@example.com"}, _trace())
        gone = records.create("customer", {"level": "Customer", "name": "Old Timer",
                                           "department": "Finance"}, _trace()).record
        records.archive("customer", gone["_id"], _trace())
        for name in ("Priya Patel", "Piet Mondriaan"):
            records.create("contact", {"name": name, "customer": org["_id"],
                                       "job_title": "Buyer"}, _trace())
        # stored before a contact needed its record (no check: as an old store holds it)
        records.create("contact", {"name": "Zoe Lone", "job_title": "Buyer"}, _trace(),
                       check=False)
    return token_for(store_app, "read")


def listed(api: Api, query: str, key: str = "name", resource: str = "customers",
           limit: int = 100) -> list[t.Any]:
    """`key` of every item of every page, following Link rel=next to the end."""
    items = walk(api.client, api.headers, f"/api/v1/{resource}?limit={limit}&{query}",
                 pages=1000)
    return [item[key] if key else item for item in items]


def _customers(app: t.Any, **where: t.Any) -> list[dict[str, t.Any]]:
    with app.app_context():
        return [d for d in Customer._get_collection().find(
            {"level": "Customer", "archived": False, **where})]


# -- filters -------------------------------------------------------------------------------

def test_equality_in_and_no_value_read_by_the_fields_type(desk):
    assert sorted(listed(desk, "department=Finance")) == sorted(
        [NAMES[i % 3] for i in range(COUNT) if DEPARTMENTS[i % 4] == "Finance"])
    both = listed(desk, "department=Finance&department=Sales", "department")
    assert sorted(both) == ["Finance"] * 6 + ["Sales"] * 3
    assert listed(desk, "department=", "department") == [None] * 4  # no value (the Org too)
    assert listed(desk, "seats=30", "seats") == [30]  # read as a whole number
    assert listed(desk, "email=PERSON4@Example.com", "email") == ["person4@example.com"]
    assert listed(desk, "expiry_date=2026-03-01", "expiry_date") == ["2026-03-01"]
    assert listed(desk, "level=Org") == ["Acme Manufacturing"]
    assert len(listed(desk, "level=Org&level=Customer")) == COUNT + 1
    assert listed(desk, "archived=true") == ["Old Timer"]  # the Archived tab


def test_ranges_on_dates_and_numbers(desk):
    march_to_may = listed(desk, "expiry_date[gte]=2026-03-01&expiry_date[lt]=2026-06-01",
                          "expiry_date")
    assert sorted(march_to_may) == ["2026-03-01", "2026-04-01", "2026-05-01"]
    assert sorted(listed(desk, "seats[gt]=80", "seats")) == [90, 100, 110]
    assert sorted(listed(desk, "seats[lte]=10&seats[gte]=0", "seats")) == [0, 10]


def test_the_search_finds_every_word_typed_as_a_word_prefix(desk):
    assert listed(desk, "search=ada lov") == ["Ada Lovelace"] * 4
    assert listed(desk, "search=hop") == ["Grace Hopper"] * 4
    assert listed(desk, "search=priy", resource="contacts") == ["Priya Patel"]
    assert listed(desk, "search=lovelace turing") == []


def test_filters_combine_with_each_other_and_with_the_search(desk, store_app):
    found = listed(desk, "search=ada&department=Finance&seats[gte]=30", "seats")
    expected = sorted(d["seats"] for d in _customers(
        store_app, name="Ada Lovelace", department="Finance") if d["seats"] >= 30)
    assert sorted(found) == expected and expected
    assert listed(desk, "department=Sales&department=Finance&search=grace&sort=-department",
                  "department") == sorted(
        (d["department"] for d in _customers(store_app, name="Grace Hopper")
         if d.get("department")), reverse=True)
    org = listed(desk, "level=Org", "id")[0]
    assert sorted(listed(desk, f"customer={org}", resource="contacts")) == [
        "Piet Mondriaan", "Priya Patel"]
    assert listed(desk, f"customer={org}&search=pie", resource="contacts") == ["Piet Mondriaan"]
    assert listed(desk, "customer=&job_title=Buyer", resource="contacts") == ["Zoe Lone"]


# -- sort and paging ------------------------------------------------------------------------

@pytest.mark.parametrize("sort", ["name", "-name", "department", "-department", "email",
                                  "-email"])
@pytest.mark.parametrize("limit", [1, 3, 5])
def test_paging_gives_every_record_once_in_the_sorts_order_with_ties(desk, store_app, sort,
                                                                    limit):
    """Names and departments repeat (and a department may be missing): each page's cursor
    holds the value and the id, so no record is skipped or repeated at a page's edge."""
    items = listed(desk, f"sort={sort}", None, limit=limit)
    ids = [item["id"] for item in items]
    assert len(ids) == len(set(ids)) == COUNT + 1  # every current Customer and the Org
    column, backwards = sort.lstrip("-"), sort.startswith("-")
    values = [item[column] for item in items]
    missing_first = [v is not None for v in values]  # MongoDB sorts no value first
    assert missing_first == sorted(missing_first, reverse=backwards)
    present = [v for v in values if v is not None]
    assert present == sorted(present, reverse=backwards)
    ties = [item["id"] for item in items if item[column] == values[len(values) // 2]]
    assert ties == sorted(ties, reverse=backwards)  # a tie is ordered by id


def test_a_filtered_walk_visits_each_match_once_though_pages_may_be_short(desk, store_app,
                                                                           monkeypatch):
    """A filter no index serves is checked on at most SCAN records a page: pages may be
    short, even empty, but following the Link gives every match once, and no Link on the
    last page."""
    monkeypatch.setattr(filters, "SCAN", 2)
    items = listed(desk, "department=Sales&sort=name", None, limit=1)
    assert sorted(item["name"] for item in items) == sorted(
        NAMES[i % 3] for i in range(COUNT) if DEPARTMENTS[i % 4] == "Sales")
    assert len({item["id"] for item in items}) == len(items)
    pages, url = 0, "/api/v1/customers?department=Sales&limit=1"
    while url:
        answer = desk.send("GET", url)
        assert len(answer.get_json()["items"]) <= 1
        link, pages = answer.headers.get("Link"), pages + 1
        url = link[1:link.index(">")] if link else None
    assert pages > 3  # the walk took several short pages


def test_link_next_is_absent_on_the_last_page_and_keeps_the_arguments(desk):
    first = desk.send("GET", "customers?department=Finance&department=Sales&sort=-department"
                             "&limit=5")
    link = first.headers["Link"]
    assert link.endswith('>; rel="next"')
    assert "department=Finance&department=Sales" in link and "sort=-department" in link
    second = desk.send("GET", link[1:link.index(">")])
    assert len(second.get_json()["items"]) == 4 and "Link" not in second.headers
    assert "Link" not in desk.send("GET", f"customers?limit={COUNT + 1}").headers


def test_fields_picks_the_fields_returned(desk):
    items = desk.send("GET", "customers?fields=name,seats&seats=20").get_json()["items"]
    assert items == [{"id": items[0]["id"], "revision": 1, "archived": False,
                      "name": NAMES[2], "seats": 20}]


# -- refusals --------------------------------------------------------------------------------

@pytest.mark.parametrize(("query", "kind", "words"), [
    ("expiry_date=31/12/2026", "bad-filter",
     "The list cannot be filtered so: Expiry Date must be a date written YYYY-MM-DD."),
    ("seats[gte]=lots", "bad-filter",
     "The list cannot be filtered so: Seats must be a whole number."),
    ("level=Person", "bad-filter",
     "The list cannot be filtered so: Level must be one of: Customer, Org."),
    ("department[gt]=F", "bad-filter", "The list cannot be filtered so: Department is text: "
                                       "only dates and numbers take ranges ([gt], [gte], "
                                       "[lt], [lte])."),
    ("archived=maybe", "bad-filter",
     "The list cannot be filtered so: Archive must be true or false."),
    ("org=acme", "bad-filter", "The list cannot be filtered so: Org must be the id of a"),
    ("colour=red&seats[between]=1", "unknown-argument",
     "The list does not take 'colour', 'seats[between]': its arguments are the fields"),
    ("sort=news", "bad-sort", "sort must be one of name, department, location, phone_1, "
                              "email (a minus before it"),
    ("sort=name&sort=email", "bad-argument", "Give sort once, not 2 times."),
    ("search=%21%3F", "bad-search", "search needs at least one word"),
    ("limit=0", "bad-limit", "limit must be a whole number from 1 to 100."),
    ("after=bm9wZQ", "bad-cursor", "The 'after' cursor is not one this API gave"),
    ("fields=name,colour", "unknown-field", "fields names what is not a field of customer"),
])
def test_what_the_list_cannot_use_is_a_400_problem_with_a_sentence(desk, query, kind, words):
    body = problem(desk.send("GET", f"customers?{query}"), 400)
    assert body["type"] == f"urn:dictadmin:problem:{kind}"
    assert body["detail"].startswith(words), body["detail"]
    if kind == "bad-filter":
        (error,) = body["errors"]
        assert body["detail"].endswith(error["message"])
        assert error["label"] in error["message"]


def test_an_operator_never_reaches_the_store(desk):
    """A `$` in a name is refused before the API; a value is only ever a value."""
    assert desk.send("GET", "customers?name[$ne]=x").status_code == 400
    assert listed(desk, "name=%7B%22%24ne%22%3A+null%7D") == []  # {"$ne": null}, as text
    crafted = filters.cursor(filters.Plan("name", 1, [], []), {"name": {"$ne": None},
                                                                "_id": ObjectId()})
    assert problem(desk.send("GET", f"customers?after={crafted}"), 400)["type"].endswith(
        "bad-cursor")


def test_a_cursor_is_for_the_sort_it_was_made_with(desk):
    link = desk.send("GET", "customers?sort=-email&limit=2").headers["Link"]
    cursor = link.split("after=")[1].split(">")[0]
    body = problem(desk.send("GET", f"customers?sort=email&after={cursor}"), 400)
    assert body["detail"].startswith("The 'after' cursor was made for sort=-email, not "
                                     "sort=email")


# -- the dictionary changes ---------------------------------------------------------------------

def test_a_relabelled_or_retired_field_shows_in_the_next_request(desk, store_app):
    with store_app.app_context():
        update_field("customer", "seats", label="Licences")
    body = problem(desk.send("GET", "customers?seats=many"), 400)
    assert body["errors"] == [{"field": "seats", "label": "Licences", "code": "invalid",
                               "message": "Licences must be a whole number."}]
    assert body["detail"] == "The list cannot be filtered so: Licences must be a whole number."
    with store_app.app_context():
        update_field("customer", "seats", retired=True)
    body = problem(desk.send("GET", "customers?seats=10"), 400)
    assert body["type"].endswith("unknown-argument") and "'seats'" in body["detail"]
    assert "seats" not in desk.send("GET", "customers?limit=1").get_json()["items"][0]
    with store_app.app_context():
        from admin_app import dictionary
        described = {p["name"] for p in filters.list_parameters("customer",
                                                                 dictionary.current())}
    assert "seats" not in described and "seats[gte]" not in described


def test_the_parameters_describe_what_the_list_takes(desk, store_app):
    """Each parameter the description gives is one the list takes (a value of its schema
    gets no 400), and the list takes no argument the description does not give."""
    with store_app.app_context():
        from admin_app import dictionary
        parameters = filters.list_parameters("customer", dictionary.current())
    names = [p["name"] for p in parameters]
    assert len(names) == len(set(names))
    samples = {"string": "x", "integer": "1", "boolean": "true", "number": "1.5"}
    for parameter in parameters:
        schema = parameter["schema"]
        items = schema.get("items", schema)
        value = items.get("enum", [None])[0] if "enum" in items else \
            "2026-01-01" if items.get("format") == "date" else samples[items["type"]]
        if parameter["name"] in ("after", "fields"):
            continue  # a cursor from a Link, field names: tested above
        if items.get("format") == "email":
            value = "a@example.com"
        if "pattern" in items:  # a reference: a record's id
            value = "5f0000000000000000000001"
        answer = desk.send("GET", f"customers?{parameter['name']}={value}")
        assert answer.status_code == 200, (parameter["name"], answer.get_data(as_text=True))
    unknown = problem(desk.send("GET", "customers?undescribed=1"), 400)
    assert "'undescribed'" in unknown["detail"]


# -- query shapes ------------------------------------------------------------------------

def test_every_read_the_lists_send_is_served_by_an_index_on_both_stores(desk, store_app):
    with recording() as recorder:
        api_list_flows(recorder, desk.client, desk.headers)
    assert {flow for flow in recorder.flows if flow.startswith("api ")} == {
        f"api {entity} {flow}" for entity in ("customer", "contact")
        for flow in ("list", "filtered list", "search", "Archived tab")}
    problems = unserved(recorder)
    assert not problems, "no declared index serves:\n" + "\n".join(problems)
    # the records read (a token's and its count's reads are the token modules' to place)
    records_read = Recorder(sent_by={shape: flows for shape, flows in recorder.sent_by.items()
                                     if shape.collection in ("customers", "contacts")})
    broadcasts = unjustified_broadcasts(records_read, lambda flow: flow.startswith("api "))
    assert not broadcasts, "\n".join(broadcasts)
    assert not recorder.counts  # a list page counts nothing
