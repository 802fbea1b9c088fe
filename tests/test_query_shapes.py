"""Every query the main flows send is served by a declared index, in ESR order (issue 14).

The flows run on mongomock with a recorder installed (`tests/query_shapes.py`); each
shape they send is checked against the indexes the models declare. A new query that
no index serves fails here, naming the shape and the flow that sent it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from admin_app import records, store
from admin_app.directory.connectors import Connector
from admin_app.directory.reader import Entry, Extract
from admin_app.directory.sync import run
from admin_app.models import Customer

from .helpers import opened_state, submit
from .query_shapes import EQUALITY, RANGE, SCAN, Shape, recording, served_by, shape_of, unserved

# Shapes no index needs to serve, each for a reason that holds whatever the store's size.
ALLOWED: dict[Shape, str] = {
    # The one-time upgrade of an older store (models/upkeep.py), guarded by a marker.
    Shape("customers", (("archived", RANGE),)): "once per store, then the marker says done",
    # Contracts and SLAs are short fixed lists (tens of rows), not growing with records.
    Shape("contracts", (("archived", EQUALITY),)): "a short fixed list, exported whole",
    Shape("slas", (("archived", EQUALITY),)): "a short fixed list, exported whole",
}


def _person(n: int, company: str) -> Entry:
    return Entry(f"guid-{n}", f"cn=p{n},ou=people,dc=example,dc=com",
                 {"displayName": [f"Person {n}"], "mail": [f"p{n}@example.com"],
                  "department": ["Sales"], "company": [company]}, False)


def _lookups(client, name: str, typed: str) -> None:
    for end in range(len(typed) + 1):  # as an agent types, one request per keystroke
        response = client.get(f"/admin/customer/ajax/lookup/?name={name}&query={typed[:end]}")
        assert response.status_code == 200


@pytest.fixture
def recorded(app, client, tmp_path, monkeypatch):
    """Run the main flows once with the recorder installed; return the recorder."""
    runner = app.test_cli_runner()
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
        "directory sync", "record history", "record form save over another's change"}
    problems = unserved(recorded, ALLOWED)
    assert not problems, "no declared index serves:\n" + "\n".join(problems)


def test_list_pages_and_lookups_count_nothing(recorded):
    """A list page is not counted on every request: a count is a second scan."""
    counted = [f"{shape} (from: {flow})" for shape, flow in recorded.counts
               if flow.endswith(("list", "search", "tab", "as an agent types"))]
    assert not counted, counted


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
