"""The record forms and the portal's My details save through the record write path: a
save writes only the fields the user changed, keeps (and names) other people's changes
made since the form was opened, and is refused only where both changed the same field.
Every save is one change set in the record's history, with its way in and who made it."""

from __future__ import annotations

import re
from html import unescape

import pytest

from admin_app import records
from admin_app.customising.fields import add_field, update_field
from admin_app.models import Customer, User
from admin_app.records.trace import COMMAND_LINE, IMPORT, Trace

from .helpers import (
    ADMIN_EMAIL,
    AGENT_PASSWORD,
    FormValues,
    csrf_token,
    field_error,
    login,
    opened_state,
    submit,
)

AGENT_EMAIL = "agent@example.com"
GUEST_PASSWORD = "plum orchard wheelbarrow 42"
STALE = "Someone else saved this record after you opened it"


def signed_in(app, email=ADMIN_EMAIL, password=None):
    """A client signed in to the admin. Not kept open with `with`: a client that keeps its
    last request's context would lend its `g` (and CSRF token) to the other clients."""
    client = app.test_client()
    assert login(client, email, *([password] if password else [])).status_code == 302
    return client


@pytest.fixture
def desk(store_app):
    """Two people at the desk: the admin and an agent, each in a browser of their own."""
    with store_app.app_context():
        user = User(email=AGENT_EMAIL, role="agent")
        user.set_password(AGENT_PASSWORD)
        user.save()
    return signed_in(store_app), signed_in(store_app, AGENT_EMAIL, AGENT_PASSWORD)


def made(app, **values):
    """A customer as the seed load would make it (so its history starts with a create)."""
    with app.app_context():
        return records.create("customer", {"level": "Customer", **values},
                              Trace(COMMAND_LINE, IMPORT)).record["_id"]


def edit_url(oid):
    return f"/admin/customer/edit/?id={oid}"


def open_form(client, oid):
    page = client.get(edit_url(oid))
    assert page.status_code == 200
    return page.get_data(as_text=True)


def save(client, oid, page, **values):
    """Post the form on `page` back as a browser does: every field as shown, with
    `values` typed over them (archived="" unticks Archive); then the page it lands on."""
    start = page.index('class="admin-form dictadmin-record"')
    form = page[page.rindex("<form", 0, start):page.index("</form>", start)]
    data = {**FormValues(form).values, **values, "_continue_editing": "Save"}
    data = {name: value for name, value in data.items()
            if not (name == "archived" and value == "")}
    return client.post(edit_url(oid), data=data, follow_redirects=True)


def changes_of(app, oid):
    with app.app_context():
        return list(records.RecordChange.objects(record=oid).order_by("revision"))


def stored(oid):
    return Customer._get_collection().find_one({"_id": oid})


def flashed(html):
    return [" ".join(unescape(m).split()) for m in re.findall(
        r'<div class="alert alert-\w+ alert-dismissable">\s*<button[^>]*>.*?</button>(.*?)</div>',
        html, re.S)]


def stale_message(html):
    match = re.search(r'id="stale-save">(.*?)<a ', html, re.S)
    return " ".join(unescape(match.group(1)).split()) if match else None


# -- one change set per save ---------------------------------------------------------------

def test_a_form_save_records_one_change_set_by_form_as_the_admin(store_app, store_client):
    oid = made(store_app, name="Ann Lee", department="IT")
    response = save(store_client, oid, open_form(store_client, oid), department="Sales")
    assert response.status_code == 200
    created, changed = changes_of(store_app, oid)
    assert created.created and created.way == "import"
    assert changed.way == "form" and changed.revision == 2
    assert (changed.who["kind"], changed.who["name"]) == ("login", ADMIN_EMAIL)
    assert [(f["name"], f["old"], f["new"]) for f in changed.fields] == [
        ("department", "IT", "Sales")]
    assert (stored(oid)["department"], stored(oid)["revision"]) == ("Sales", 2)


def test_a_save_that_changes_nothing_records_nothing(store_app, store_client):
    oid = made(store_app, name="Ann Lee", department="IT", phone_1="+44 1")
    response = save(store_client, oid, open_form(store_client, oid))
    assert response.status_code == 200 and "Record was successfully saved." in \
        response.get_data(as_text=True)
    assert len(changes_of(store_app, oid)) == 1
    assert stored(oid)["revision"] == 1


def test_a_save_never_writes_a_field_the_user_did_not_touch(store_app, store_client):
    """Values the form cannot show exactly (an address in capitals, stray spaces, a tick
    box never set) are left as stored when the user changes something else."""
    with store_app.app_context():
        oid = Customer._get_collection().insert_one({
            "name": "Ann Lee", "level": "Customer", "email": "ANN@EXAMPLE.COM",
            "location": "Leeds ", "revision": 1}).inserted_id
    save(store_client, oid, open_form(store_client, oid), department="Sales")
    after = stored(oid)
    assert (after["email"], after["location"], after["department"]) == (
        "ANN@EXAMPLE.COM", "Leeds ", "Sales")
    assert "archived" not in after
    (changed,) = changes_of(store_app, oid)
    assert [f["name"] for f in changed.fields] == ["department"]


def test_create_through_the_form_records_one_created_change_set(store_app, store_client):
    response = submit(store_client, "/admin/customer/new/", {
        "name": "Bo Chan", "level": "Customer", "email": "Bo@Example.com", "_ok": "OK"})
    assert response.status_code == 302
    bo = Customer.objects.get(name="Bo Chan")
    (created,) = changes_of(store_app, bo.pk)
    assert created.created and created.way == "form" and created.revision == 1
    assert created.who["name"] == ADMIN_EMAIL
    assert {f["name"]: f["new"] for f in created.fields} == {
        "name": "Bo Chan", "level": "Customer", "email": "bo@example.com", "archived": False}
    assert bo.revision == 1 and "bo" in bo.search_keys


# -- merging with someone else's change ----------------------------------------------------

def test_a_change_to_another_field_is_kept_and_the_page_says_whose(store_app, desk):
    store_client, agent = desk
    oid = made(store_app, name="Ann Lee", department="IT", location="Leeds")
    mine = open_form(store_client, oid)
    save(agent, oid, open_form(agent, oid), department="Sales")

    page = save(store_client, oid, mine, location="York").get_data(as_text=True)
    assert ("Saved. agent@example.com changed Department since you opened this record; "
            "their change is kept.") in flashed(page)
    assert (stored(oid)["department"], stored(oid)["location"]) == ("Sales", "York")
    theirs, ours = changes_of(store_app, oid)[1:]
    assert (theirs.who["name"], [f["name"] for f in theirs.fields]) == (AGENT_EMAIL,
                                                                       ["department"])
    assert (ours.who["name"], [f["name"] for f in ours.fields]) == (ADMIN_EMAIL, ["location"])


def test_the_kept_change_is_named_by_its_current_label_escaped(store_app, desk):
    store_client, agent = desk
    oid = made(store_app, name="Ann Lee", department="IT")
    mine = open_form(store_client, oid)
    save(agent, oid, open_form(agent, oid), department="Sales", phone_1="+44 2")
    with store_app.app_context():
        update_field("customer", "department", label="<b>Cost</b> Centre")
    html = save(store_client, oid, mine, location="York").get_data(as_text=True)
    assert "&lt;b&gt;Cost&lt;/b&gt; Centre and Phone 1" in html
    assert "<b>Cost</b>" not in html
    assert ("Saved. agent@example.com changed <b>Cost</b> Centre and Phone 1 since you opened "
            "this record; their changes are kept.") in flashed(html)


def test_the_same_field_changed_by_both_is_refused_naming_it(store_app, desk):
    store_client, agent = desk
    oid = made(store_app, name="Ann Lee", department="IT", location="Leeds")
    mine = open_form(store_client, oid)
    save(agent, oid, open_form(agent, oid), department="Sales")

    html = save(store_client, oid, mine, department="Legal", location="York") \
        .get_data(as_text=True)
    assert stale_message(html) == (
        f"{STALE}: they changed Department. You changed Department too: the form keeps "
        "yours. Your changes are below and were not saved; check them against the current "
        "values and save again.")
    assert (stored(oid)["department"], stored(oid)["location"]) == ("Sales", "Leeds")
    assert [c.who["name"] for c in changes_of(store_app, oid)[1:]] == [AGENT_EMAIL]

    again = save(store_client, oid, html).get_data(as_text=True)  # as the form now shows
    assert "Record was successfully saved." in again
    assert (stored(oid)["department"], stored(oid)["location"]) == ("Legal", "York")


def test_a_change_history_does_not_name_is_kept_as_someone_elses(store_app, store_client):
    oid = made(store_app, name="Ann Lee", department="IT")
    mine = open_form(store_client, oid)
    Customer._get_collection().update_one({"_id": oid}, {"$set": {"department": "Ops"},
                                                         "$inc": {"revision": 1}})
    html = save(store_client, oid, mine, location="York").get_data(as_text=True)
    assert ("Saved. someone else changed Department since you opened this record; their "
            "change is kept.") in flashed(html)
    assert (stored(oid)["department"], stored(oid)["location"]) == ("Ops", "York")


def test_a_field_added_since_the_form_was_opened_does_not_stop_the_merge(store_app, desk):
    store_client, agent = desk
    oid = made(store_app, name="Ann Lee", department="IT")
    mine = open_form(store_client, oid)
    save(agent, oid, open_form(agent, oid), department="Sales")
    with store_app.app_context():
        add_field("customer", "vip", "VIP", "boolean", sections={"Customer": "Customer"})
    html = save(store_client, oid, mine, location="York").get_data(as_text=True)
    assert "their change is kept." in " ".join(flashed(html))
    after = stored(oid)
    assert (after["department"], after["location"], "vip" in after) == ("Sales", "York", False)


def test_a_rulebook_refusal_is_shown_against_the_field(store_app, store_client, monkeypatch):
    """The form checks first, so the write path refuses only a record that changed under
    it; when it does, the page says so against the field, never with a traceback."""
    oid = made(store_app, name="Ann Lee", department="IT")
    page = open_form(store_client, oid)
    monkeypatch.setattr(records.write, "problems", lambda *a, **k: [
        records.Problem("department", "Department", "Department must not be Sales.")])
    html = save(store_client, oid, page, department="Sales").get_data(as_text=True)
    assert field_error(html, "Department must not be Sales.")
    assert stored(oid)["department"] == "IT"


# -- archive and restore -------------------------------------------------------------------

def test_archiving_from_the_form_is_a_change_and_shuts_the_portal_login(store_app):
    store_client = signed_in(store_app)
    oid = made(store_app, name="Ann Lee", email="ann@example.com")
    with store_app.app_context():
        guest = User(email="ann@example.com", role="webguest",
                     customer=Customer.objects.get(pk=oid))
        guest.set_password(GUEST_PASSWORD)
        guest.save()
    portal = store_app.test_client()
    assert submit(portal, "/portal/", {"email": "ann@example.com",
                                       "password": GUEST_PASSWORD}).status_code == 302
    assert portal.get("/portal/details/").status_code == 200

    save(store_client, oid, open_form(store_client, oid), archived="y")
    assert portal.get("/portal/details/").status_code == 302
    archived = changes_of(store_app, oid)[-1]
    assert (archived.way, [(f["name"], f["old"], f["new"]) for f in archived.fields]) == (
        "form", [("archived", False, True)])

    save(store_client, oid, open_form(store_client, oid), archived="")  # unticked
    assert stored(oid)["archived"] is False
    assert changes_of(store_app, oid)[-1].fields[0]["new"] is False


# -- the portal's My details ---------------------------------------------------------------

@pytest.fixture
def portal(store_app):
    oid = made(store_app, name="Alice Carter", email="alice@example.com", phone_1="+44 1",
               location="Leeds")
    with store_app.app_context():
        user = User(email="alice@example.com", role="webguest",
                    customer=Customer.objects.get(pk=oid))
        user.set_password(GUEST_PASSWORD)
        user.save()
        user_id = user.pk
    client = store_app.test_client()  # not `with`: see signed_in
    assert submit(client, "/portal/", {"email": "alice@example.com",
                                       "password": GUEST_PASSWORD}).status_code == 302
    return client, oid, user_id


def details_page(client):
    page = client.get("/portal/details/edit")
    assert page.status_code == 200
    return page.get_data(as_text=True)


def post_details(client, page, **values):
    shown = {"phone_1": "+44 1", "phone_2": "", "location": "Leeds", "address": ""}
    return client.post("/portal/details/edit", data={
        "csrf_token": csrf_token(page), **opened_state(page), **shown, **values})


def test_my_details_save_records_way_portal_as_the_webguest(store_app, portal):
    client, oid, user_id = portal
    assert post_details(client, details_page(client), location="York").status_code == 302
    changed = changes_of(store_app, oid)[-1]
    assert changed.way == "portal"
    assert changed.who == {"kind": "login", "ref": str(user_id), "name": "alice@example.com"}
    assert [(f["name"], f["old"], f["new"]) for f in changed.fields] == [
        ("location", "Leeds", "York")]


def test_my_details_keep_the_desks_change_to_another_field(store_app, portal):
    client, oid, _ = portal
    store_client = signed_in(store_app)
    page = details_page(client)
    save(store_client, oid, open_form(store_client, oid), phone_1="+44 999")
    assert post_details(client, page, location="York").status_code == 302
    assert (stored(oid)["phone_1"], stored(oid)["location"]) == ("+44 999", "York")


def test_my_details_refuse_a_field_the_desk_changed_too_with_409(store_app, portal):
    client, oid, _ = portal
    store_client = signed_in(store_app)
    page = details_page(client)
    save(store_client, oid, open_form(store_client, oid), phone_1="+44 999", location="Hull")
    response = post_details(client, page, phone_1="+44 2")
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert ("Your details were changed by the service desk after you opened this page "
            "(Phone 1), so nothing was saved.") in unescape(html)
    assert (stored(oid)["phone_1"], stored(oid)["location"]) == ("+44 999", "Hull")
    # The form keeps the phone typed, shows the desk's Location, and saves from there.
    assert re.search(r'id="location"[^>]*value="Hull"|value="Hull"[^>]*id="location"', html)
    again = client.post("/portal/details/edit", data={
        "csrf_token": csrf_token(html), **opened_state(html), "phone_1": "+44 2",
        "location": "Hull"})
    assert again.status_code == 302
    assert (stored(oid)["phone_1"], stored(oid)["location"]) == ("+44 2", "Hull")


def test_my_details_refused_by_a_rule_on_a_field_they_cannot_change_says_so(store_app,
                                                                            portal):
    """Name is mandatory for a Customer; a record stored without one cannot be completed
    on the portal, and the customer is told, with nothing written."""
    client, oid, _ = portal
    Customer._get_collection().update_one({"_id": oid}, {"$unset": {"name": ""}})
    response = post_details(client, details_page(client), location="York")
    assert response.status_code == 200
    assert "Nothing was saved: Name is mandatory." in unescape(response.get_data(as_text=True))
    assert stored(oid)["location"] == "Leeds"
