"""One record write path: every way in writes the record collections only through
`admin_app.records`, and each leaves exactly one change set per record it changed, with
its way in (issue 19). A new way in that writes by hand, or skips history, fails here.

Each flow runs with the writers watched (`tests/record_writers.py`), on both stores.
Before and after it, every record's values are read; a record whose values moved must
have exactly one new change set, of the flow's way in, and a record that did not move
none. (On the embedded store the upload job runs in a process of its own, which the
watcher cannot see; its history is still counted.)
"""

from __future__ import annotations

import json
import re

import pytest

from admin_app import records
from admin_app.customising.fields import add_field, change_type, rename_choice_values, update_field
from admin_app.directory.connectors import Connector
from admin_app.directory.reader import Entry, Extract
from admin_app.directory.sync import run
from admin_app.models import Customer, User
from admin_app.records.history import INTERNAL, LAST

from .helpers import csrf_token, form_values, submit
from .record_writers import watching
from .test_form_merge import signed_in
from .test_seed_upload import confirm, finished, upload

GUEST = "guest@example.com"
GUEST_PASSWORD = "plum orchard wheelbarrow 42"


def _values() -> dict:
    """Every record's values (not its internal keys), by id."""
    found = {}
    for model in records.MODELS.values():
        for doc in model._get_collection().find({}):
            found[doc["_id"]] = {k: v for k, v in doc.items()
                                 if k not in INTERNAL and k != LAST}
    return found


class Flows:
    """Runs flows and checks each one's writers and history."""

    def __init__(self, app) -> None:
        self.app = app
        self.problems: list[str] = []
        self.ran: list[str] = []

    def check(self, name: str, way: str | None, action) -> None:
        with self.app.app_context():
            before = _values()
            logged = {c.pk for c in records.RecordChange.objects.only("id")}
        with watching() as writes:
            action()
        with self.app.app_context():
            after = _values()
            new = [c for c in records.RecordChange.objects if c.pk not in logged]
        self.ran.append(name)
        for module, method, collection in writes:
            if not module.startswith("admin_app.records"):
                self.problems.append(f"{name}: {module} sent {method} to {collection}")
        moved = {oid for oid in after if before.get(oid) != after[oid]}
        per_record: dict = {}
        for change in new:
            per_record.setdefault(change.record, []).append(change)
        for oid in moved | set(per_record):
            found = per_record.get(oid, [])
            if oid in moved and len(found) != 1:
                self.problems.append(f"{name}: record {oid} changed with {len(found)} change "
                                     f"sets")
            if oid not in moved and found:
                self.problems.append(f"{name}: record {oid} did not change but has "
                                     f"{len(found)} change sets")
            if way is not None and any(c.way != way for c in found):
                self.problems.append(f"{name}: way {[c.way for c in found]}, not {way}")
        if way is not None and not moved:
            self.problems.append(f"{name}: changed no record (the flow is not exercised)")


def _person(n: int, department: str) -> Entry:
    return Entry(f"guid-{n}", f"cn=p{n},ou=people,dc=example,dc=com",
                 {"displayName": [f"Person {n}"], "mail": [f"p{n}@example.com"],
                  "department": [department], "company": ["Acme Manufacturing"]}, False)


def _form_post(client, url: str, changes_: dict) -> None:
    """Post the page's record form back as a browser does, with `changes_` typed over it
    (archived="" unticks Archive)."""
    data = {**form_values(client.get(url).get_data(as_text=True)), **changes_}
    data = {k: v for k, v in data.items() if not (k == "archived" and v == "")}
    response = client.post(url, data=data)
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:300]


def test_every_way_in_writes_records_only_through_the_write_path_with_one_change_set_each(
        store_app, tmp_path):
    flows = Flows(store_app)
    store_client = signed_in(store_app)
    runner = store_app.test_cli_runner()
    flows.check("demo load", "import",
                lambda: runner.invoke(args=["demo", "load"], catch_exceptions=False))
    with store_app.app_context():
        alice = Customer.objects.get(name="Alice Carter")
        acme = Customer.objects.get(level="Org", name="Acme Manufacturing")
        alice_email = alice.email

    # The admin's form: create, edit, archive, restore.
    flows.check("form create", "form", lambda: submit(store_client, "/admin/customer/new/", {
        "level": "Customer", "name": "Zed Ng", "org": str(acme.pk)}))
    edit = f"/admin/customer/edit/?id={alice.pk}"
    flows.check("form edit", "form", lambda: _form_post(store_client, edit,
                                                         {"department": "Audit"}))
    flows.check("form archive", "form", lambda: _form_post(store_client, edit,
                                                            {"archived": "y"}))
    flows.check("form restore", "form", lambda: _form_post(store_client, edit,
                                                            {"archived": ""}))

    # The seed load: the command line and the upload job.
    seed = tmp_path / "update.json"
    seed.write_text(json.dumps({"customers": [{"email": alice_email,
                                               "department": "Payroll"}]}), encoding="utf-8")
    flows.check("seed load", "import", lambda: runner.invoke(
        args=["seed", "load", str(seed), "--on-existing", "update"], catch_exceptions=False))

    def upload_job() -> None:
        html = upload(store_client, {"customers": [{"email": alice_email,
                                                    "location": "Leeds 2"}]})
        finished(store_client, confirm(store_client, html.get_data(as_text=True)))
    flows.check("upload job", "import", upload_job)

    # The directory sync: creates, then an update and an archive.
    with store_app.app_context():
        connector = Connector(name="ad", servers=["ldap://127.0.0.1:1"], bind_user="cn=sync",
                              password="secret", base_dns=["ou=people,dc=example,dc=com"],
                              org_policy="create").save()

    def sync(people: list[Entry]) -> None:
        with store_app.app_context():
            done = run(connector, read=lambda _c: Extract(people, True, None, 1), force=True)
            assert done.status == "complete", done.reason
    flows.check("sync creates", "sync", lambda: sync([_person(1, "Sales"), _person(2, "Ops")]))
    flows.check("sync updates and archives", "sync", lambda: sync([_person(1, "Support")]))
    flows.check("sync with nothing changed", None, lambda: sync([_person(1, "Support")]))

    # The portal's My details, as a WebGuest.
    with store_app.app_context():
        User.objects(email=GUEST).delete()
        guest = User(email=GUEST, role="webguest", customer=alice.pk)
        guest.set_password(GUEST_PASSWORD)
        guest.save()
        update_field("customer", "location", customer_editable=True)

    def portal() -> None:
        # A plain client: one kept open with `with` would lend its `g` (and CSRF token).
        client = store_app.test_client()
        assert submit(client, "/portal/", {"email": GUEST,
                                           "password": GUEST_PASSWORD}).status_code == 302
        _form_post(client, "/portal/details/edit", {"location": "Harrogate"})
    flows.check("portal", "portal", portal)

    # Dictionary-driven rewrites: a choice rename, a type change, search keys.
    with store_app.app_context():
        add_field("customer", "tier", "Tier", "choice", choices=["Gold", "Silver"])
        add_field("customer", "floor", "Floor", "text")
        records.update("customer", alice.pk, {"tier": "Gold", "floor": "7"},
                       records.Trace(records.trace.COMMAND_LINE, records.trace.FORM))

    def rename() -> None:
        with store_app.app_context():
            definition = update_field("customer", "tier",
                                              choices=["Platinum", "Silver"])
            rename_choice_values(definition, {"Gold": "Platinum"})
    flows.check("choice rename", "dictionary", rename)

    def retype() -> None:
        with store_app.app_context():
            change_type("customer", "floor", "integer", keep_unconverted=False)
    flows.check("type change", "dictionary", retype)

    def searchable() -> None:
        with store_app.app_context():
            update_field("customer", "location", searchable=True)
    flows.check("search keys follow", None, searchable)

    # A revert from the History tab.
    with store_app.app_context():
        change = records.update("customer", alice.pk, {"department": "Tax"}, records.Trace(
            records.trace.COMMAND_LINE, records.trace.FORM)).change

    def revert() -> None:
        url = f"/admin/history/revert/{change['_id']}/"
        page = store_client.get(url).get_data(as_text=True)
        done = store_client.post(url, data={"csrf_token": csrf_token(page)})
        assert done.status_code == 302, done.get_data(as_text=True)[:300]
    flows.check("revert", "revert", revert)

    assert not flows.problems, "\n".join(flows.problems)
    assert len(flows.ran) == 15


@pytest.mark.parametrize("method", ["update_one", "insert_one"])
def test_a_write_sent_from_outside_the_write_path_is_caught(app, method):
    """The watcher itself: a module that writes a record collection by hand is named."""
    with app.app_context(), watching() as writes:
        collection = Customer._get_collection()
        # As a module of the app would: the frame that sends it is admin_app's.
        code = compile(f"collection.{method}({{'_id': 1}}" +
                       (", {'$set': {'name': 'x'}})" if method == "update_one" else ")"),
                       "admin_app/rogue.py", "exec")
        exec(code, {"__name__": "admin_app.rogue", "collection": collection})  # noqa: S102
    assert [(m, w) for m, w, _c in writes] == [("admin_app.rogue", method)]
    assert re.match(r"admin_app\.", writes[0][0])
