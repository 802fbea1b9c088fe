"""Every query the main flows send is served by a declared index, in ESR order (issue 14),
and is targeted or justified on a sharded cluster (issue 20).

The flows run on mongomock with a recorder installed (`tests/query_shapes.py`); each
shape they send is checked against the indexes the models declare. A new query that
no index serves fails here, naming the shape and the flow that sent it. Each shape is
also classified under the shard keys `admin_app/store/sharding.py` declares: the run
ends with a table of every shape, "targeted" or "broadcast", and a broadcast on a hot
path (a list page, a lookup, a save) with no reason declared fails.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from mongoengine.base.common import _document_registry

from admin_app import records, store
from admin_app.customising.fields import add_field, update_field
from admin_app.dictionary.documents import LayoutDefinition
from admin_app.directory.connectors import Connector
from admin_app.directory.reader import Entry, Extract
from admin_app.directory.runs import LEASES
from admin_app.directory.sync import run
from admin_app.models import Customer, User
from admin_app.records.history import INTENTS
from admin_app.records.listing import COUNT_BOUND
from admin_app.records.upkeep import MARKER
from admin_app.security import api_tokens
from admin_app.store import sharding

from .api_list_flows import api_list_flows
from .helpers import ADMIN_EMAIL, opened_state, submit
from .query_shapes import (
    BROADCAST,
    EQUALITY,
    RANGE,
    SCAN,
    TARGETED,
    Shape,
    declared_indexes,
    filter_fields,
    recording,
    routing,
    routing_table,
    served_by,
    shape_of,
    unjustified_broadcasts,
    unserved,
)

# Shapes no index needs to serve, each for a reason that holds whatever the store's size.
ALLOWED: dict[Shape, str] = {
    # The one-time upgrade of an older store (records/upkeep.py), guarded by a marker.
    Shape("customers", (("archived", RANGE),)): "once per store, then the marker says done",
    # Contracts and SLAs are short fixed lists (tens of rows), not growing with records.
    Shape("contracts", (("archived", EQUALITY),)): "a short fixed list, exported whole",
    Shape("slas", (("archived", EQUALITY),)): "a short fixed list, exported whole",
}


def _person(n: int, company: str) -> Entry:
    return Entry(f"guid-{n}", f"cn=p{n},ou=people,dc=example,dc=com",
                 {"displayName": [f"Person {n}"], "mail": [f"p{n}@example.com"],
                  "department": ["Sales"], "company": [company]}, False)


def _filterable_fields() -> None:
    """A filterable field of each type the list filters offer, on both Levels' forms
    (besides the list columns: Org, a reference; Department, a text)."""
    sections = {layout.level: layout.sections[0].title
                for layout in LayoutDefinition.objects(entity="customer")}
    for name, kind, extra in (("tier", "choice", {"choices": ["Gold", "Silver"]}),
                              ("vip", "boolean", {}), ("seats", "integer", {}),
                              ("score", "decimal", {})):
        add_field("customer", name, name.title(), kind, sections=sections, filterable=True,
                  **extra)
    for name in ("expiry_date", "sla"):
        update_field("customer", name, filterable=True)


# Each kind of filter, two at once with the search box, on each tab and sorted by name
# either way: the shapes `records/listing.py` sends (one index serves them all).
FILTERS = {
    "choice": "f.tier=Gold&f.tier=Silver", "boolean": "f.vip=yes",
    "number": "f.seats.min=1&f.seats.max=20", "decimal": "f.score.min=0.5",
    "date": "f.expiry_date.min=2026-01-01&f.expiry_date.max=2026-06-30",
    "text": "f.department=fin", "exact": "f.department.exact=Finance",
}


def _filter_flows(recorder, client, acme) -> None:
    base = "/admin/customer/"
    with recorder.running("filtered list"):
        for kind, args in FILTERS.items():
            assert client.get(f"{base}?{args}").status_code == 200, kind
        assert client.get(f"{base}?f.org={acme.pk}").status_code == 200
        assert client.get(f"/admin/org/?f.sla={acme.pk}&f.expiry_date.max=2027-01-01") \
            .status_code == 200
        assert client.get("/admin/contact/?f.job_title=man").status_code == 200
    with recorder.running("filtered search"):
        for args in FILTERS.values():
            for sort in ("", "&sort=0", "&sort=0&desc=1", "&page=2"):
                url = f"{base}?search=alice&{args}&f.org={acme.pk}{sort}"
                assert client.get(url).status_code == 200, url
    with recorder.running("filtered Archived tab"):
        for args in FILTERS.values():
            assert client.get(f"{base}?archived=1&{args}&f.tier=Gold").status_code == 200
        assert client.get(f"/admin/contact/?archived=1&f.customer={acme.pk}&search=pri") \
            .status_code == 200


def _lookups(client, name: str, typed: str) -> None:
    for end in range(len(typed) + 1):  # as an agent types, one request per keystroke
        response = client.get(f"/admin/customer/ajax/lookup/?name={name}&query={typed[:end]}")
        assert response.status_code == 200


@pytest.fixture
def recorded(app, client, tmp_path, monkeypatch):
    """Run the main flows once with the recorder installed; return the recorder."""
    runner = app.test_cli_runner()
    with app.app_context():
        _filterable_fields()
        # As a new store: the seed load below brings it up to date once (ALLOWED).
        store.database()[MARKER].delete_many({})
    demo = json.loads(Path("seed/demo.json").read_text(encoding="utf-8"))
    seed = tmp_path / "demo.json"
    seed.write_text(json.dumps(demo), encoding="utf-8")
    with recording() as recorder:
        # On mongomock the importer reads a kind's keys once (no indexes to ask); the
        # `$in` queries are what it sends to MongoDB and the embedded store.
        with recorder.running("seed load"), monkeypatch.context() as patched:
            patched.setattr(store, "in_memory", lambda: False)
            assert runner.invoke(args=["seed", "load", str(seed)]).exit_code == 0
            for org in demo["orgs"]:
                org["news"] = "Changed"
            seed.write_text(json.dumps(demo), encoding="utf-8")
            loaded = runner.invoke(args=["seed", "load", str(seed), "--on-existing", "update"])
            assert loaded.exit_code == 0, loaded.output
        with recorder.running("seed export"):
            out = tmp_path / "export.json"
            assert runner.invoke(args=["seed", "export", str(out)]).exit_code == 0
        with app.app_context():
            alice = Customer.objects.get(level="Customer", archived=False, name="Alice Carter")
            acme = Customer.objects.get(level="Org", archived=False, name="Acme Manufacturing")
        for endpoint in ("customer", "org", "contact"):
            with recorder.running(f"{endpoint} list"):
                html = client.get(f"/admin/{endpoint}/").get_data(as_text=True)
                assert "Acme" in html or "Alice" in html or "Priya" in html
                for column in range(8):
                    for desc in ("", "&desc=1"):
                        assert client.get(f"/admin/{endpoint}/?sort={column}{desc}") \
                            .status_code == 200
                assert client.get(f"/admin/{endpoint}/?page=1").status_code == 200
                assert client.get(f"/admin/{endpoint}/?page=5000").status_code == 200
            with recorder.running(f"{endpoint} Archived tab"):
                assert client.get(f"/admin/{endpoint}/?archived=1").status_code == 200
            with recorder.running(f"{endpoint} search"):
                assert client.get(f"/admin/{endpoint}/?search=acm").status_code == 200
                assert client.get(f"/admin/{endpoint}/?search=alice+fin&sort=0") \
                    .status_code == 200
        _filter_flows(recorder, client, acme)
        with recorder.running("home page"):
            assert client.get("/admin/").status_code == 200
        for name in ("org", "customer", "record", "contact"):
            with recorder.running(f"{name} lookup as an agent types"):
                _lookups(client, name, "acme m")
        with recorder.running("record form open and save"):
            assert client.get("/admin/customer/new/").status_code == 200
            assert submit(client, "/admin/customer/new/", {
                "level": "Customer", "name": "Zed Ng", "org": str(acme.pk)}).status_code == 302
            url = f"/admin/customer/edit/?id={alice.pk}"
            assert submit(client, url, {"level": "Customer", "name": "Alice Carter",
                                        "department": "Audit"}).status_code == 302
            assert client.get(f"/admin/org/edit/?id={acme.pk}").status_code == 200
        with recorder.running("record form save over another's change"):
            page = client.get(url).get_data(as_text=True)
            with app.app_context():
                records.update("customer", alice.pk, {"location": "Elsewhere"},
                               records.Trace(records.trace.COMMAND_LINE, records.trace.FORM))
            assert submit(client, url, {**opened_state(page), "level": "Customer",
                                        "name": "Alice Carter", "department": "Tax"}
                          ).status_code == 302
        with recorder.running("record history"):
            with app.app_context():
                history_ids = [str(f["id"]) for f in records.RecordChange.objects(
                    record=alice.pk).first().fields]
                batch = records.RecordChange.objects(batch__ne=None).first().batch
                change = records.RecordChange.objects(record=alice.pk).order_by("-seq").first()
            base = f"/admin/history/customer/{alice.pk}/"
            for query in ("", "?way=form", f"?field={history_ids[0]}",
                          f"?way=import&field={history_ids[0]}", "?before=3", "?after=1"):
                assert client.get(base + query).status_code == 200
            assert client.get(f"/admin/history/batch/{batch}/").status_code == 200
            assert client.get(f"/admin/history/revert/{change.pk}/").status_code == 200
        with recorder.running("ticket log"):
            assert client.get(f"/admin/ticket/new/?customer={alice.pk}").status_code == 200
            assert client.get(f"/admin/ticket/customer-facts/?id={alice.pk}").status_code == 200
            assert submit(client, f"/admin/ticket/new/?customer={alice.pk}", {
                "customer": str(alice.pk), "summary": "Printer jams",
                "status": "open"}).status_code == 302
        with recorder.running("ticket list"):
            assert client.get("/admin/ticket/").status_code == 200
            assert client.get(f"/admin/ticket/?customer={alice.pk}").status_code == 200
            for listed in ("", f"customer={alice.pk}&"):
                for column in range(4):  # every column, sortable or not, both ways
                    for desc in ("", "&desc=1"):
                        assert client.get(f"/admin/ticket/?{listed}sort={column}{desc}") \
                            .status_code == 200
        with recorder.running("sorted ticket search"):
            for listed in ("", f"customer={alice.pk}&"):
                for column in range(4):
                    for desc in ("", "&desc=1"):
                        assert "Printer jams" in client.get(
                            f"/admin/ticket/?{listed}search=printer&sort={column}{desc}"
                        ).get_data(as_text=True)
        with recorder.running("ticket search"):
            for typed in ("p", "print", "printer ja"):  # as an agent types
                assert "Printer jams" in client.get(f"/admin/ticket/?search={typed}") \
                    .get_data(as_text=True)
                assert "Printer jams" in client.get(
                    f"/admin/ticket/?customer={alice.pk}&search={typed}").get_data(as_text=True)
        with app.app_context():
            secret = api_tokens.create(User.objects.get(email=ADMIN_EMAIL), "read",
                                       actor="test").secret
        api_list_flows(recorder, client, {"Authorization": f"Bearer {secret}"})
        with recorder.running("directory sync"), app.app_context():
            conn = Connector(name="ad", servers=["ldap://127.0.0.1:1"], bind_user="cn=sync",
                             password="secret", base_dns=["ou=people,dc=example,dc=com"],
                             org_policy="create").save()
            people = [_person(1, "Acme Manufacturing Ltd"), _person(2, "Initech")]
            for entries in (people, people[:1]):
                result = run(conn, read=lambda _c, e=entries: Extract(e, True, None, 1))
                assert result.status == "complete", result.reason
    return recorder


def test_every_query_the_main_flows_send_is_served_by_a_declared_index(recorded):
    assert recorded.flows >= {
        "seed load", "seed export", "customer list", "org search",
        "org lookup as an agent types", "record form open and save", "ticket log", "ticket list",
        "ticket search", "sorted ticket search",
        "directory sync", "record history", "record form save over another's change",
        "filtered list", "filtered search", "filtered Archived tab",
        *(f"api {entity} {flow}" for entity in ("customer", "contact")
          for flow in ("list", "filtered list", "search", "Archived tab"))}
    problems = unserved(recorded, ALLOWED)
    assert not problems, "no declared index serves:\n" + "\n".join(problems)


def test_a_ticket_search_asks_for_search_keys_newest_first(recorded):
    """The ticket list's search is equalities on search keys, never a pattern over every
    ticket: all of it, and one customer's, each served by an index in the list's order."""
    sent = {str(shape) for shape, flows in recorded.sent_by.items()
            if "ticket search" in flows and shape.collection == "tickets"}
    assert sent == {"tickets {search_keys:equality} sort -logged_at",
                    "tickets {customer:equality, search_keys:equality} sort -logged_at"}, sent


def test_every_sort_the_ticket_list_offers_is_sent_and_served(recorded):
    """Logged (either way) and Status (either way, each status in the order of its
    index) on the whole list, one customer's, and a search of each: the sorts the list
    offers (views/tickets.py), all sent here, so the test above checks each is served."""
    sent = {str(shape) for shape, flows in recorded.sent_by.items()
            if flows & {"ticket list", "sorted ticket search"} and shape.collection == "tickets"}
    for narrowed in ("", "customer:equality", "search_keys:equality",
                     "customer:equality, search_keys:equality"):
        for order in ("-logged_at", "logged_at", "status,-logged_at", "-status,logged_at"):
            assert f"tickets {{{narrowed}}} sort {order}" in sent, (narrowed, order, sent)
    assert not [shape for shape in sent if "summary" in shape], sent


def test_list_pages_count_only_so_far_and_lookups_count_nothing(recorded):
    """A list page counts what it shows up to COUNT_BOUND + 1 (then it says "more than"),
    along a declared index; a lookup (one request per keystroke) counts nothing."""
    indexes = declared_indexes()
    listed = [(shape, flow, limit) for shape, flow, limit in recorded.count_limits
              if flow.endswith(("list", "search", "tab"))]
    assert {flow for _, flow, _ in listed} >= {"customer list", "filtered search",
                                               "filtered Archived tab"}
    unbounded = [f"{shape} limit {limit} (from: {flow})" for shape, flow, limit in listed
                 if limit != COUNT_BOUND + 1
                 or not served_by(shape, indexes.get(shape.collection, []))]
    assert not unbounded, unbounded
    typed = [f"{shape} (from: {flow})" for shape, flow in recorded.counts
             if flow.endswith("as an agent types")]
    assert not typed, typed


def test_filters_and_search_ask_one_index_for_every_combination(recorded):
    """However many filters and words, a list asks the search keys by equality (`$in`)
    after the Level and the Archive flag, in name order (either way) or the store's:
    one shape, which (Level, Archive flag, search_keys, name, _id) serves."""
    sent = [shape for shape, flows in recorded.sent_by.items()
            if flows & {"filtered list", "filtered search", "filtered Archived tab"}
            and shape.collection in ("customers", "contacts")
            and dict(shape.fields).get("search_keys")]
    narrowed = {"customers": (("archived", EQUALITY), ("level", EQUALITY),
                              ("search_keys", EQUALITY)),
                "contacts": (("archived", EQUALITY), ("search_keys", EQUALITY))}
    assert {shape.collection for shape in sent} == set(narrowed)
    odd = [str(shape) for shape in sent if shape.fields != narrowed[shape.collection]
           or shape.sort not in ((), (("name", 1),), (("name", -1),)) or shape.branches]
    assert not odd, odd


def test_every_allowed_shape_is_still_sent(recorded):
    """An allowance outliving its query would hide the next one with that shape."""
    assert set(ALLOWED) <= set(recorded.seen), set(ALLOWED) - set(recorded.seen)


# -- the checker itself -------------------------------------------------------------------


INDEX = (("level", 1), ("archived", 1), ("name", 1))


@pytest.mark.parametrize(("query", "sort", "served"), [
    ({"level": "Org", "archived": False}, [("name", 1)], True),
    ({"archived": False, "level": "Org"}, [("name", -1)], True),  # reversed, any eq order
    ({"level": "Org"}, [("name", 1)], False),  # a gap: archived is neither given nor sorted
    ({"level": "Org", "archived": {"$ne": True}}, [("name", 1)], False),  # range before sort
    ({"level": "Org", "archived": False, "name": {"$regex": "^Ac"}}, None, True),
    ({"level": "Org", "archived": False, "name": {"$regex": "Ac", "$options": "i"}}, None,
     False),
    ({"level": "Org", "archived": False}, [("email", 1)], False),
    ({"name": {"$in": ["a", "b"]}}, None, False),  # the index leads with the level
    ({"_id": {"$in": [1, 2]}, "anything": 1}, None, True),
    ({}, None, True),  # a whole collection in natural order
    ({}, [("name", 1)], False),
    ({"level": "Org", "archived": False, "$or": [{"name": "a"}, {"name": {"$regex": "^b"}}]},
     None, True),
    ({"level": "Org", "archived": False, "$or": [{"name": "a"}, {"email": "b"}]}, None, False),
])
def test_the_checker_follows_equality_sort_range(query, sort, served):
    assert served_by(shape_of("customers", query, sort), [INDEX]) is served


def test_a_shape_says_how_each_field_is_tested():
    shape = shape_of("c", {"a": 1, "b": {"$gt": 2}, "c": {"$regex": "x", "$options": "i"}},
                     [("d", -1)], 40)
    assert shape.fields == (("a", EQUALITY), ("b", RANGE), ("c", SCAN))
    assert str(shape) == "c {a:equality, b:range, c:scan} sort -d skip 40"


def test_a_deep_skip_is_not_served():
    deep = shape_of("customers", {"level": "Org", "archived": False}, [("name", 1)], 100_000)
    assert not served_by(deep, [INDEX])


# -- on a sharded cluster (docs/scaling.md) ------------------------------------------------


SCALING = Path("docs/scaling.md")
# What users wait for many times a day: every list page and its search and tabs, a lookup
# per keystroke, and the saves (opening the form, saving it, logging a ticket).
SAVES = {"record form open and save", "record form save over another's change", "ticket log"}


def hot(flow: str) -> bool:
    return flow.endswith(("list", "search", "Archived tab", "as an agent types")) \
        or flow in SAVES


class _RoutingSummary:
    """Prints the recorded shapes, targeted or broadcast, at the end of the pytest run."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines

    def pytest_terminal_summary(self, terminalreporter) -> None:
        terminalreporter.section("query shapes on a sharded cluster (admin_app/store/sharding.py)")
        for line in self.lines:
            terminalreporter.write_line(line)


def test_every_broadcast_on_a_hot_path_has_a_declared_reason(recorded, request):
    table = routing_table(recorded)
    if not request.config.pluginmanager.has_plugin("query-shape-routing"):
        request.config.pluginmanager.register(_RoutingSummary(table), "query-shape-routing")
    assert any(line.startswith(TARGETED) for line in table)
    assert any(line.startswith(BROADCAST) for line in table)
    problems = unjustified_broadcasts(recorded, hot)
    assert not problems, (
        "sent to every shard from a hot path, with no reason in admin_app/store/sharding.py "
        "(and docs/scaling.md):\n" + "\n".join(problems))


def test_a_form_reads_and_saves_its_record_by_shard_key(recorded):
    """A form's record, its save, its tickets and its earlier history go to one shard;
    its contacts are asked of every shard (a reason in sharding.py says why)."""
    sent = {str(shape): routing(shape) for shape, flows in recorded.sent_by.items()
            if "record form open and save" in flows
            or "record form save over another's change" in flows}
    assert sent["customers {_id:equality, level:equality}"] == TARGETED
    assert sent["customers {_id:equality}"] == TARGETED
    assert sent["tickets {customer:equality} sort -logged_at"] == TARGETED
    assert sent["record_history {record:equality, seq:range} sort seq"] == TARGETED
    assert sent["contacts {customer:equality} sort archived,name"] == BROADCAST


def test_every_declared_broadcast_is_still_sent_by_a_hot_path(recorded):
    """A reason outliving its query would let the next broadcast of that shape pass."""
    sent = {(shape.collection, filter_fields(shape)) for shape, flows in recorded.sent_by.items()
            if routing(shape) == BROADCAST and any(hot(flow) for flow in flows)}
    declared = {(name, fields) for name, where in sharding.PLACEMENTS.items()
                for fields in where.broadcasts}
    assert declared <= sent, declared - sent


def test_every_collection_has_a_placement(recorded, app):
    """Each collection the app creates or declares has a shard key or a reason to stay
    unsharded, and nothing placed is gone."""
    with app.app_context():
        created = set(store.database().list_collection_names())
    declared = {document._meta["collection"] for document in list(_document_registry.values())
                if getattr(document, "_meta", {}).get("collection")
                and not document._meta.get("abstract")}
    raw = {INTENTS, MARKER, LEASES}  # written through store.database()[name]
    assert created <= declared | raw, created - declared - raw
    assert set(sharding.PLACEMENTS) == declared | raw, \
        set(sharding.PLACEMENTS) ^ (declared | raw)


def test_unique_indexes_of_a_sharded_collection_lead_with_its_shard_key():
    """MongoDB refuses to shard a collection with a unique index not prefixed by the key
    (and a hashed key cannot be unique): a new unique index needs a new placement."""
    for document in list(_document_registry.values()):
        meta = getattr(document, "_meta", {})
        where = sharding.PLACEMENTS.get(meta.get("collection") or "")
        if meta.get("abstract") or where is None or not where.sharded:
            continue
        for spec in meta.get("index_specs") or ():
            if spec.get("unique"):
                fields = [name for name, _ in spec["fields"]]
                key = [name for name, _ in where.key]
                ranged = sharding.HASHED not in dict(where.key).values()
                assert ranged and fields[:len(key)] == key, \
                    f"{meta['collection']}: unique {fields} cannot live beside key {key}"


def _doc_collections(text: str) -> set[str]:
    """The collections the doc's placement table names (its rows start "| `name` |")."""
    return set(re.findall(r"^\| `([a-z_]+)` \|", text, flags=re.MULTILINE))


def test_the_scaling_doc_quotes_every_placement_and_reason():
    text = SCALING.read_text(encoding="utf-8")
    flat = " ".join(text.split())
    assert _doc_collections(text) == set(sharding.PLACEMENTS), \
        _doc_collections(text) ^ set(sharding.PLACEMENTS)
    for name, where in sharding.PLACEMENTS.items():
        assert where.why in flat, f"docs/scaling.md does not quote why {name} is placed so"
        for fields, reason in where.broadcasts.items():
            assert reason in flat, f"docs/scaling.md does not quote {name} {fields}: {reason}"
    for command in sharding.shard_commands("dictadmin"):
        assert command in text, command


# -- the classifier itself --------------------------------------------------------------

ID = {"_id": "5f0000000000000000000001"}


@pytest.mark.parametrize(("collection", "query", "expected"), [
    ("customers", ID, TARGETED),  # a lookup by _id
    ("customers", {"_id": {"$in": [1, 2]}}, TARGETED),  # the shards holding those two
    ("customers", {**ID, "revision": 3}, TARGETED),  # a save's compare-and-set
    ("customers", {"_id": {"$gt": 1}}, BROADCAST),  # a hashed key orders nothing
    ("customers", {"level": "Org", "archived": False}, BROADCAST),  # a list page
    ("customers", {}, BROADCAST),
    ("tickets", {"customer": 1}, TARGETED),
    ("tickets", ID, BROADCAST),
    ("record_history", {"record": 1, "seq": {"$lt": "9"}}, TARGETED),
    ("users", {"email": "a@example.com"}, TARGETED),  # unsharded: one shard holds it all
    ("customers", {"$or": [ID, {"_id": 2}]}, TARGETED),
    ("customers", {"$or": [ID, {"name": "a"}]}, BROADCAST),
])
def test_a_shape_is_targeted_when_it_pins_the_whole_shard_key(collection, query, expected):
    assert routing(shape_of(collection, query)) == expected


def test_a_list_page_by_level_is_targeted_under_a_key_that_leads_with_it():
    page = shape_of("customers", {"level": "Org", "archived": False}, [("name", 1)], 20)
    keyed = {"customers": sharding.Placement("by level", (("level", 1), ("archived", 1)))}
    assert routing(page) == BROADCAST
    assert routing(page, keyed) == TARGETED
    assert routing(shape_of("customers", {"level": "Org"}), keyed) == BROADCAST


def test_a_collection_with_no_placement_is_named():
    with pytest.raises(KeyError, match="nowhere has no placement in admin_app/store/sharding.py"):
        routing(shape_of("nowhere", ID))


# -- older stores -------------------------------------------------------------------------


def test_setup_gives_records_of_an_older_store_the_flag_and_keys_the_lists_query(app, client):
    """A record stored by an older version (no Archive flag, no search keys) is listed,
    searched and looked up after `flask setup`, which says it brought it up to date."""
    with app.app_context():
        Customer._get_collection().insert_one({"level": "Org", "name": "Oldco Trading"})
    assert "Oldco" not in client.get("/admin/org/").get_data(as_text=True)
    result = app.test_cli_runner().invoke(args=["setup", "--no-demo"])
    assert result.exit_code == 0, result.output
    assert "Records brought up to date: 1 archive flags, 1 search keys." in result.output
    assert "Oldco Trading" in client.get("/admin/org/").get_data(as_text=True)
    assert "Oldco Trading" in client.get("/admin/org/?search=trad").get_data(as_text=True)
    found = client.get("/admin/customer/ajax/lookup/?name=org&query=old").get_json()
    assert [label for _pk, label in found] == ["Oldco Trading"]
    again = app.test_cli_runner().invoke(args=["setup", "--no-demo"])
    assert "brought up to date" not in again.output
