"""The self-service portal: a WebGuest signs in, sees its own details (the fields the
dictionary marks visible to the customer), changes the editable ones under the rulebook,
sees its own tickets and logs one; and nobody reaches another customer's data, whatever
is put in a URL or a form. Also the dictionary's two portal flags and their checks."""

from __future__ import annotations

import json
import re

import pytest

from admin_app.customising import filing
from admin_app.customising.checked import DictionaryError
from admin_app.customising.fields import add_field, check_update_field, update_field
from admin_app.dictionary.documents import DictionaryVersion, FieldDefinition
from admin_app.models import Customer, Ticket, User
from admin_app.security.audit import AuditEvent
from admin_app.tickets import log_ticket

from .helpers import csrf_token, opened_state, submit

PASSWORD = "plum orchard wheelbarrow 42"
PORTAL_PAGES = ["/portal/details/", "/portal/details/edit", "/portal/tickets/",
                "/portal/tickets/new"]


def make_guest(email: str, **values) -> tuple[Customer, User]:
    customer = Customer(level="Customer", email=email, **values).save()
    user = User(email=email, role="webguest", customer=customer)
    user.set_password(PASSWORD)
    user.save()
    return customer, user


def sign_in(client, email: str, password: str = PASSWORD):
    return submit(client, "/portal/", {"email": email, "password": password})


@pytest.fixture
def alice(app):
    with app.app_context():
        customer, _ = make_guest("alice@example.com", name="Alice Carter", phone_1="+44 1",
                                 location="Leeds", department="Sales",
                                 news="Internal: VIP, call back within the hour")
    return customer


@pytest.fixture
def guest(app, alice):
    with app.test_client() as client:
        assert sign_in(client, "alice@example.com").status_code == 302
        yield client


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)


def stored(customer: Customer) -> dict:
    return Customer._get_collection().find_one({"_id": customer.pk})


# -- signing in and out --------------------------------------------------------------------

def test_the_portal_serves_a_sign_in_form_with_a_csrf_token(app):
    with app.test_client() as client:
        html = page(client, "/portal/")
    assert 'id="sign-in-form"' in html and 'name="password"' in html
    assert csrf_token(html)


def test_a_webguest_signs_in_and_lands_on_its_details(app, alice):
    with app.test_client() as client:
        response = sign_in(client, "alice@example.com")
        assert response.status_code == 302
        assert response.headers["Location"].endswith("/portal/details/")
        assert "Alice Carter" in page(client, "/portal/details/")
    with app.app_context():
        assert AuditEvent.objects(event="sign_in", area="portal",
                                  subject="alice@example.com").count() == 1


def test_a_wrong_password_and_a_staff_login_are_refused_alike(app, alice):
    with app.test_client() as client:
        wrong = sign_in(client, "alice@example.com", "not the password at all")
        staff = sign_in(client, "admin@example.com", "correct horse battery staple")
        for response in (wrong, staff):
            assert response.status_code == 401
            assert "do not match" in response.get_data(as_text=True)
        assert client.get("/portal/details/").status_code == 302  # still signed out


def test_signed_out_visitors_are_sent_to_the_sign_in_form_from_every_page(app):
    with app.test_client() as client:
        for url in PORTAL_PAGES:
            response = client.get(url)
            assert response.status_code == 302, url
            assert response.headers["Location"].endswith("/portal/"), url


def test_sign_out_is_a_post_with_csrf_and_the_old_cookie_no_longer_works(app, guest):
    assert guest.get("/portal/sign-out").status_code == 405
    assert guest.post("/portal/sign-out").status_code == 302  # no token: nothing happens
    assert guest.get("/portal/details/").status_code == 200
    copied = guest.get_cookie("session").value
    html = page(guest, "/portal/details/")
    response = guest.post("/portal/sign-out", data={"csrf_token": csrf_token(html)})
    assert response.status_code == 302
    assert guest.get("/portal/details/").status_code == 302
    guest.set_cookie("session", copied)  # the cookie copied before signing out
    assert guest.get("/portal/details/").status_code == 302


def test_an_outdated_session_is_refused_without_ending_the_current_one(app, alice):
    # Not `with`: each request gets its own context, as two devices' requests do.
    phone, laptop = app.test_client(), app.test_client()
    assert sign_in(phone, "alice@example.com").status_code == 302
    assert sign_in(laptop, "alice@example.com").status_code == 302
    html = page(laptop, "/portal/details/")
    laptop.post("/portal/sign-out", data={"csrf_token": csrf_token(html)})  # ends both
    assert sign_in(laptop, "alice@example.com").status_code == 302
    assert phone.get("/portal/details/").status_code == 302
    assert laptop.get("/portal/details/").status_code == 200


def test_archiving_the_customer_or_disabling_the_login_signs_the_guest_out(app, alice):
    with app.test_client() as client:
        assert sign_in(client, "alice@example.com").status_code == 302
        Customer.objects(pk=alice.pk).update_one(set__archived=True)
        assert client.get("/portal/details/").status_code == 302
        assert sign_in(client, "alice@example.com").status_code == 401
        Customer.objects(pk=alice.pk).update_one(set__archived=False)
        assert sign_in(client, "alice@example.com").status_code == 302
        User.objects(email="alice@example.com").update_one(set__active=False)
        assert client.get("/portal/tickets/").status_code == 302
    ended = AuditEvent.objects(event="sign_out", area="portal", subject="alice@example.com")
    assert ended.count() == 2 and "archived" in ended.first().detail


# -- my details ----------------------------------------------------------------------------

def test_my_details_show_the_visible_fields_with_the_dictionarys_labels_escaped(app, guest):
    with app.app_context():
        update_field("customer", "phone_1", label="<b>Mobile</b>")
        update_field("customer", "news", label="News")
    html = page(guest, "/portal/details/")
    assert "&lt;b&gt;Mobile&lt;/b&gt;" in html and "<b>Mobile</b>" not in html
    for value in ("Alice Carter", "alice@example.com", "+44 1", "Leeds", "Sales"):
        assert value in html
    assert "VIP" not in html  # News is not visible to customers


def test_a_field_flagged_visible_by_an_admin_shows_on_the_next_page(app, guest):
    assert "VIP" not in page(guest, "/portal/details/")
    with app.app_context():
        update_field("customer", "news", customer_visible=True)
    assert "VIP" in page(guest, "/portal/details/")


def test_a_visible_reference_shows_the_name_of_what_it_refers_to(app, guest, alice):
    acme = Customer(level="Org", name="Acme <Ltd>").save()
    Customer.objects(pk=alice.pk).update_one(set__org=acme.pk)
    with app.app_context():
        update_field("customer", "org", customer_visible=True)
    html = page(guest, "/portal/details/")
    assert "Acme &lt;Ltd&gt;" in html and str(acme.pk) not in html
    assert 'name="org"' not in page(guest, "/portal/details/edit")


def test_editing_an_editable_field_saves_it_and_moves_the_revision(app, guest, alice):
    before = stored(alice)["revision"]
    response = submit(guest, "/portal/details/edit",
                      {"phone_1": "+44 113 496 0000", "location": "York"})
    assert response.status_code == 302
    after = stored(alice)
    assert (after["phone_1"], after["location"]) == ("+44 113 496 0000", "York")
    assert after["revision"] == before + 1
    assert "York" in page(guest, "/portal/details/")


def test_a_bad_value_gets_the_rulebooks_message_and_nothing_is_saved(app, guest, alice):
    response = submit(guest, "/portal/details/edit", {"phone_1": "call me", "location": "York"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Phone 1 must be a phone number" in html
    assert (stored(alice)["phone_1"], stored(alice)["location"]) == ("+44 1", "Leeds")


def test_fields_that_are_not_editable_cannot_be_changed_through_the_form(app, guest, alice):
    other = Customer(level="Org", name="Other Org").save()
    response = submit(guest, "/portal/details/edit", {
        "location": "York", "name": "Mallory", "email": "mallory@evil.example",
        "archived": "y", "level": "Org", "org": str(other.pk), "news": "hacked",
        "_id": str(other.pk), "id": str(other.pk)})
    assert response.status_code == 302
    after = stored(alice)
    assert after["location"] == "York"
    assert (after["name"], after["email"], after.get("archived"), after["level"]) == (
        "Alice Carter", "alice@example.com", False, "Customer")
    assert "org" not in after or after["org"] is None
    assert after["news"].startswith("Internal")
    assert stored(other)["name"] == "Other Org"


def stored_before_the_check(name: str, **attributes) -> None:
    """A customer field's definition as a dictionary stored before the flags were
    checked may hold it (written straight to the store); the next page reads it."""
    FieldDefinition.objects(entity="customer", name=name).update_one(
        **{f"set__{key}": value for key, value in attributes.items()})
    DictionaryVersion.objects(id="dictionary").modify(upsert=True, new=True, inc__number=1)


@pytest.mark.parametrize(("name", "attributes", "posted", "shown", "editable"), [
    # Editable needs visible: the field screen shows it unticked, so customers never see it.
    ("news", {"customer_visible": False, "customer_editable": True}, "hacked", False, False),
    ("name", {"customer_visible": True, "customer_editable": True}, "Mallory", True, False),
    ("contract", {"customer_visible": True, "customer_editable": True}, "other", True, False),
    ("department", {"customer_visible": True, "customer_editable": True, "retired": True},
     "Support", False, False),
    ("department", {"customer_visible": True, "customer_editable": True}, "Support", True,
     True),
])
def test_the_portal_page_and_save_follow_the_dictionarys_portal_rule(
        app, guest, alice, name, attributes, posted, shown, editable):
    other = Customer(level="Org", name="Other Org").save()
    stored_before_the_check(name, **attributes)
    before = stored(alice).get(name)
    assert (f'id="label-{name}"' in page(guest, "/portal/details/")) is shown
    assert (f'name="{name}"' in page(guest, "/portal/details/edit")) is editable
    value = str(other.pk) if posted == "other" else posted
    response = submit(guest, "/portal/details/edit", {name: value, "location": "York"})
    assert response.status_code == 302
    after = stored(alice)
    assert after["location"] == "York"
    assert after.get(name) == (posted if editable else before)
    assert ("VIP" in page(guest, "/portal/details/")) is (name == "news" and shown)


def test_a_save_from_a_page_opened_before_an_agents_change_is_refused(app, guest, alice):
    """Only where both changed the same field (the merge: tests/test_form_merge.py)."""
    html = page(guest, "/portal/details/edit")
    record = Customer.objects.get(pk=alice.pk)
    record.phone_1 = "+44 999"
    record.save()  # an agent's save moves the revision
    response = guest.post("/portal/details/edit", data={
        "csrf_token": csrf_token(html), **opened_state(html),
        "phone_1": "+44 2", "location": "York"})
    assert response.status_code == 409
    assert "changed by the service desk" in response.get_data(as_text=True)
    assert (stored(alice)["phone_1"], stored(alice)["location"]) == ("+44 999", "Leeds")
    without = guest.post("/portal/details/edit", data={
        "csrf_token": csrf_token(html), "phone_1": "+44 1", "location": "York"})
    assert without.status_code == 400  # a form that does not say what it was opened at
    assert stored(alice)["location"] == "Leeds"


# -- tickets -------------------------------------------------------------------------------

def test_logging_a_ticket_stamps_it_as_the_admin_does_and_lists_it(app, guest, alice):
    response = submit(guest, "/portal/tickets/new",
                      {"summary": "Printer jammed", "description": "Tray 2"})
    assert response.status_code == 302
    ticket = Ticket.objects.get(summary="Printer jammed")
    assert ticket.customer == alice.pk and ticket.status == "open"
    assert ticket.brought_forward["location"] == "Leeds"  # the record's flagged fields
    assert ticket.email == "alice@example.com"  # where the closure notice will go
    assert response.headers["Location"].endswith(f"/portal/tickets/{ticket.pk}")
    assert "Printer jammed" in page(guest, "/portal/tickets/")
    assert "Tray 2" in page(guest, f"/portal/tickets/{ticket.pk}")


def test_a_ticket_needs_a_summary(app, guest):
    response = submit(guest, "/portal/tickets/new", {"summary": "   ", "description": "x"})
    assert response.status_code == 200
    assert "Summary is mandatory." in response.get_data(as_text=True)
    assert Ticket.objects.count() == 0


# -- nobody else's data ----------------------------------------------------------------------

def test_a_second_guest_cannot_read_or_change_the_first_ones_record_or_tickets(app, alice):
    with app.app_context():
        bob, _ = make_guest("bob@example.com", name="Bob Brown", location="Paris")
        alices = log_ticket(alice, "Alice's secret ticket", description="only hers")
        bobs = log_ticket(bob, "Bob's ticket")
    with app.test_client() as client:
        assert sign_in(client, "bob@example.com").status_code == 302
        assert client.get(f"/portal/tickets/{alices.pk}").status_code == 404
        assert client.get("/portal/tickets/not-an-id").status_code == 404
        assert client.get(f"/portal/tickets/{bobs.pk}").status_code == 200
        ids = {"id": alice.pk, "customer": alice.pk, "_id": alice.pk, "ticket": alices.pk}
        for url in PORTAL_PAGES:
            html = page(client, f"{url}?{'&'.join(f'{k}={v}' for k, v in ids.items())}")
            assert "Alice" not in html and "secret" not in html, url
        response = submit(client, f"/portal/details/edit?id={alice.pk}&customer={alice.pk}",
                          {"location": "Hijacked", "customer": str(alice.pk),
                           "id": str(alice.pk)})
        assert response.status_code == 302
        submit(client, f"/portal/tickets/new?customer={alice.pk}",
               {"summary": "Whose?", "customer": str(alice.pk)})
    assert stored(alice)["location"] == "Leeds"
    assert Customer.objects.get(email="bob@example.com").location == "Hijacked"
    assert Ticket.objects.get(summary="Whose?").customer == bob.pk
    assert Ticket.objects(customer=alice.pk).count() == 1


# -- query operators are text, never operators -----------------------------------------------

def test_operator_values_in_sign_in_are_refused(app, alice):
    with app.test_client() as client:
        token = csrf_token(page(client, "/portal/"))
        as_json = client.post("/portal/", json={"csrf_token": token, "email": {"$ne": None},
                                                "password": {"$ne": None}})
        assert as_json.status_code == 400
        as_text = client.post("/portal/", data={"csrf_token": token, "email": '{"$ne": null}',
                                                "password": '{"$ne": null}'})
        assert as_text.status_code == 401
        bracketed = client.post("/portal/", data={"csrf_token": token, "email[$ne]": "x",
                                                  "password[$ne]": "x"})
        assert bracketed.status_code == 400
        assert client.get("/portal/details/").status_code == 302


def test_operator_values_in_portal_fields_are_stored_as_text(app, guest, alice):
    literal = '{"$ne": null}'
    assert submit(guest, "/portal/details/edit", {"location": literal}).status_code == 302
    assert stored(alice)["location"] == literal
    html = page(guest, "/portal/details/edit")
    response = guest.post("/portal/details/edit", json={
        "csrf_token": csrf_token(html), **opened_state(html),
        "location": {"$ne": None}})
    assert response.status_code == 400  # a JSON body is not a form: nothing in it is read
    assert stored(alice)["location"] == literal
    summary = '{"$gt": ""}'
    assert submit(guest, "/portal/tickets/new", {"summary": summary}).status_code == 302
    assert Ticket.objects.get(customer=alice.pk).summary == summary


# -- no inline script on any portal page ---------------------------------------------------

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<[^>]+\sstyle\s*=", re.IGNORECASE)


def test_no_portal_page_has_inline_script_handlers_or_styles(app, alice):
    with app.app_context():
        ticket = log_ticket(alice, "A ticket")
    with app.test_client() as client:
        pages = [page(client, "/portal/")]
        assert sign_in(client, "alice@example.com").status_code == 302
        pages += [page(client, url) for url in [*PORTAL_PAGES, f"/portal/tickets/{ticket.pk}"]]
    for html in pages:
        assert not INLINE_SCRIPT.search(html)
        assert not INLINE_HANDLER.search(html)
        assert not INLINE_STYLE.search(html)


# -- the dictionary's portal flags ------------------------------------------------------------

@pytest.mark.parametrize(("entity", "name", "flags", "refusal"), [
    ("customer", "department", {"customer_editable": True, "customer_visible": False},
     "without being visible"),
    ("customer", "level", {"customer_visible": True, "customer_editable": True},
     "system field"),
    ("customer", "archived", {"customer_visible": True, "customer_editable": True},
     "system field"),
    ("customer", "contract", {"customer_visible": True, "customer_editable": True},
     "refers to other records"),
    ("contact", "phone", {"customer_visible": True}, "only customer fields"),
])
def test_the_dictionary_refuses_portal_flags_that_would_open_too_much(app, entity, name,
                                                                     flags, refusal):
    with app.app_context():
        with pytest.raises(DictionaryError, match=refusal):
            update_field(entity, name, **flags)
        with pytest.raises(DictionaryError, match=refusal):
            check_update_field(entity, name, flags)


@pytest.mark.parametrize(("entity", "type_", "flags", "refusal"), [
    ("customer", "text", {"customer_editable": True}, "without being visible"),
    ("customer", "reference", {"customer_visible": True, "customer_editable": True},
     "refers to other records"),
    ("contact", "text", {"customer_visible": True}, "only customer fields"),
])
def test_a_new_field_gets_the_same_checks(app, entity, type_, flags, refusal):
    with app.app_context():
        with pytest.raises(DictionaryError, match=refusal):
            add_field(entity, "portal_extra", "Extra", type_, target="contract"
                              if type_ == "reference" else None, **flags)
        assert FieldDefinition.objects(name="portal_extra").count() == 0
        add_field("customer", "portal_extra", "Extra", "text",
                          customer_visible=True, customer_editable=True)


def test_the_shipped_dictionary_shows_contact_details_and_lets_phones_be_changed(app):
    with app.app_context():
        definitions = {f.name: f for f in FieldDefinition.objects(entity="customer")}
    visible = {n for n, f in definitions.items() if f.customer_visible}
    editable = {n for n, f in definitions.items() if f.customer_editable}
    assert {"name", "email", "phone_1", "location"} <= visible
    assert {"phone_1", "location"} <= editable <= visible
    assert not editable & {"name", "email", "level", "archived", "org", "news"}


def test_the_field_screen_sets_the_flags_and_refuses_editable_without_visible(app, client):
    url = "/admin/dictionary/customer/address/"
    base = {"label": "Address", "revision": str(FieldDefinition.objects.get(
        entity="customer", name="address").revision)}
    response = submit(client, url, {**base, "customer_editable": "y"})
    assert response.status_code == 409
    assert "without being visible" in response.get_data(as_text=True)
    assert FieldDefinition.objects.get(entity="customer", name="address").customer_editable
    response = submit(client, url, {**base})  # both unticked
    assert response.status_code == 302
    address = FieldDefinition.objects.get(entity="customer", name="address")
    assert (address.customer_visible, address.customer_editable) == (False, False)
    contact = page(client, "/admin/dictionary/contact/phone/")
    assert "customer_visible" not in contact


def test_the_dictionary_file_carries_the_flags_and_its_import_checks_them(app, tmp_path):
    path = tmp_path / "dictionary.json"
    with app.app_context():
        filing.export(path)
        data = json.loads(path.read_text())
        phone = next(f for f in data["fields"] if f["name"] == "phone_1"
                     and f["entity"] == "customer")
        assert phone["customer_visible"] is True and phone["customer_editable"] is True
        news = next(f for f in data["fields"] if f["name"] == "news")
        news["customer_visible"] = True
        path.write_text(json.dumps(data))
        filing.apply(path)
        assert FieldDefinition.objects.get(entity="customer", name="news").customer_visible
        level = next(f for f in data["fields"] if f["name"] == "level")
        level["customer_visible"] = level["customer_editable"] = True
        path.write_text(json.dumps(data))
        result = filing.plan(path)
        assert any("level" in problem and "system field" in problem
                   for problem in result.problems)
        with pytest.raises(filing.ImportRefused):
            filing.execute(result)
        assert not FieldDefinition.objects.get(entity="customer", name="level").customer_editable
