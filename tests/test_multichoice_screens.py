"""A multichoice field (any number of values from its choices) on every screen a person
uses: the record form (admin and agent), the record's History tab, the dictionary's
new-field and field screens (renaming a choice the records hold), the portal's My
details, the ticket form's brought-forward values and the list search; and, in
Chromium, the ticket form filling the multi-select when the customer is chosen.

On mongomock and on the embedded store (`store_app`), the browser test on the embedded
store only.
"""

from __future__ import annotations

import re
import typing as t
from html import unescape

import mongoengine
import pytest

from admin_app.customising.fields import add_field, update_field
from admin_app.dictionary.documents import FieldDefinition
from admin_app.models import Customer, Ticket, User

from .helpers import csrf_token, field_error, form_values, submit
from .test_history_screen import entries

CHOICES = ["Alpha", "Beta", "Gamma"]
NEW = "/admin/customer/new/"


def add_products(**attributes: t.Any) -> None:
    """The customer field "products" (Products: Alpha, Beta, Gamma) on the Customer form."""
    add_field("customer", "products", "Products", "multichoice", choices=CHOICES,
              sections={"Customer": "Customer"}, **attributes)


def stored(name: str) -> dict:
    return Customer._get_collection().find_one({"name": name})


def select_of(html: str, name: str) -> str:
    match = re.search(rf'<select[^>]*\bname="{name}"[^>]*>.*?</select>', html, re.S)
    assert match, f"no select named {name}"
    return match.group(0)


def options(select: str) -> list[tuple[str, str, bool]]:
    """(value, text, selected) of each option of a rendered select."""
    return [(unescape(re.search(r'value="([^"]*)"', attrs).group(1)), unescape(text),
             re.search(r"\bselected\b", attrs) is not None)
            for attrs, text in re.findall(r"<option([^>]*)>(.*?)</option>", select, re.S)]


def chosen(html: str, name: str) -> list[str]:
    return [value for value, _text, picked in options(select_of(html, name)) if picked]


def is_multiple(select: str) -> bool:
    return re.match(r"<select[^>]*\bmultiple\b", select) is not None


@pytest.fixture
def products(store_app) -> None:
    with store_app.app_context():
        add_products()


@pytest.fixture(params=["admin", "agent"])
def person(request) -> t.Any:
    """Signed in as the admin, or as an agent, on either store."""
    return request.getfixturevalue("store_client" if request.param == "admin"
                                   else "store_agent_client")


# -- the record form -------------------------------------------------------------------------

def test_the_customer_form_offers_the_choices_in_a_select_multiple(store_client, products):
    html = store_client.get(NEW).get_data(as_text=True)
    select = select_of(html, "products")
    assert is_multiple(select)
    assert options(select) == [(c, c, False) for c in CHOICES]
    assert re.search(r'<label for="products"[^>]*>\s*Products', html)


def test_two_picks_in_reverse_order_are_saved_in_the_order_of_the_choices(person, products):
    client = person
    response = submit(client, NEW, {"name": "Ann Lee", "level": "Customer",
                                    "products": ["Gamma", "Alpha"], "_ok": "OK"})
    assert response.status_code == 302, response.get_data(as_text=True)
    assert stored("Ann Lee")["products"] == ["Alpha", "Gamma"]
    edit = client.get(f"/admin/customer/edit/?id={stored('Ann Lee')['_id']}")
    assert chosen(edit.get_data(as_text=True), "products") == ["Alpha", "Gamma"]


def test_an_unknown_value_is_refused_next_to_the_field_by_its_label(person, products):
    client = person
    response = submit(client, NEW, {"name": "Ann Lee", "level": "Customer",
                                    "products": ["Alpha", "Delta"]})
    assert response.status_code == 200
    assert field_error(response.get_data(as_text=True),
                       "Products must be chosen from: Alpha, Beta, Gamma "
                       "(Delta is not one of them).")
    assert stored("Ann Lee") is None


def test_made_mandatory_an_empty_pick_is_refused(store_app, store_client, products):
    with store_app.app_context():
        update_field("customer", "products", mandatory=["Customer"])
    html = store_client.get(NEW).get_data(as_text=True)
    assert "text-danger" in re.search(r'<label for="products"[^>]*>(.*?)</label>', html,
                                      re.S).group(1)
    # Nothing picked: a browser sends no value for the select at all.
    response = submit(store_client, NEW, {"name": "Ann Lee", "level": "Customer"})
    assert field_error(response.get_data(as_text=True), "Products is mandatory.")
    assert stored("Ann Lee") is None
    saved = submit(store_client, NEW, {"name": "Ann Lee", "level": "Customer",
                                       "products": "Beta", "_ok": "OK"})
    assert saved.status_code == 302
    assert stored("Ann Lee")["products"] == ["Beta"]


def test_the_edit_form_shows_the_stored_picks_and_a_save_that_leaves_them_keeps_them(
        store_client, products):
    Customer(name="Ann Lee", level="Customer", products=["Alpha", "Gamma"]).save()
    oid = stored("Ann Lee")["_id"]
    url = f"/admin/customer/edit/?id={oid}"
    html = store_client.get(url).get_data(as_text=True)
    assert chosen(html, "products") == ["Alpha", "Gamma"]
    # Posted as a browser posts the form, with only the location changed.
    response = submit(store_client, url, {"name": "Ann Lee", "level": "Customer",
                                          "products": ["Alpha", "Gamma"],
                                          "location": "Leeds", "_continue_editing": "Save"})
    assert response.status_code == 302
    assert (stored("Ann Lee")["products"], stored("Ann Lee")["location"]) == (
        ["Alpha", "Gamma"], "Leeds")
    # Every option unpicked (the select is not posted): the value goes.
    assert submit(store_client, url, {"name": "Ann Lee", "level": "Customer",
                                      "location": "Leeds"}).status_code == 302
    assert stored("Ann Lee").get("products") is None


def test_the_history_tab_shows_the_change_as_the_choices(store_client, products):
    assert submit(store_client, NEW, {"name": "Ann Lee", "level": "Customer",
                                      "products": ["Beta", "Alpha"], "_ok": "OK"}
                  ).status_code == 302
    oid = stored("Ann Lee")["_id"]
    url = f"/admin/customer/edit/?id={oid}"
    assert submit(store_client, url, {"name": "Ann Lee", "level": "Customer",
                                      "products": ["Gamma", "Beta"]}).status_code == 302
    shown = entries(store_client.get(f"/admin/history/customer/{oid}/").get_data(as_text=True))
    assert len(shown) == 2
    assert "Products: Alpha, Beta → Beta, Gamma" in shown[0]["lines"]
    assert "Products: Alpha, Beta" in shown[1]["lines"]
    assert not any("[" in line for entry in shown for line in entry["lines"])


# -- the dictionary screens ------------------------------------------------------------------

def field_screen(client: t.Any, url: str) -> tuple[str, str]:
    html = client.get(url).get_data(as_text=True)
    revision = re.search(r'name="revision"(?: type="hidden")? value="(\d+)"', html).group(1)
    return html, revision


def test_the_new_field_screen_offers_multichoice_and_adds_one(store_client):
    url = "/admin/dictionary/customer/new/"
    page = store_client.get(url).get_data(as_text=True)
    assert ("multichoice", "multichoice", False) in options(select_of(page, "type"))
    response = submit(store_client, url, {
        "name": "languages", "label": "Languages", "type": "multichoice",
        "choices": "English, French, German", "shown_on": ["Customer"], "searchable": "y"})
    assert response.status_code == 302
    definition = FieldDefinition.objects.get(entity="customer", name="languages")
    assert (definition.type, definition.choices) == ("multichoice",
                                                     ["English", "French", "German"])
    form = store_client.get(NEW).get_data(as_text=True)
    assert is_multiple(select_of(form, "languages"))
    assert [text for _v, text, _s in options(select_of(form, "languages"))] == \
        ["English", "French", "German"]
    assert 'name="languages"' not in store_client.get("/admin/org/new/").get_data(as_text=True)
    assert submit(store_client, NEW, {"name": "Ann Lee", "level": "Customer",
                                      "languages": ["German", "English"], "_ok": "OK"}
                  ).status_code == 302
    assert stored("Ann Lee")["languages"] == ["English", "German"]
    # Without choices the screen refuses, saying why.
    bad = submit(store_client, url, {"name": "sites", "label": "Sites",
                                     "type": "multichoice", "choices": ""})
    assert "A choice list needs at least one choice." in bad.get_data(as_text=True)
    assert FieldDefinition.objects(entity="customer", name="sites").first() is None


def test_the_field_screen_edits_the_choices_of_a_multichoice(store_client, products):
    html, _revision = field_screen(store_client, "/admin/dictionary/customer/products/")
    assert 'name="choices_text"' in html and 'name="update_records"' in html
    text = unescape(re.search(r'<textarea[^>]*name="choices_text"[^>]*>(.*?)</textarea>',
                              html, re.S).group(1))
    assert text.strip().splitlines() == CHOICES


def test_renaming_a_choice_rewrites_the_records_that_hold_it_keeping_their_other_items(
        store_client, products):
    Customer(name="A", level="Customer", products=["Alpha", "Beta"]).save()
    Customer(name="B", level="Customer", products=["Beta", "Gamma"]).save()
    Customer(name="C", level="Customer", products=["Gamma"]).save()
    Customer(name="D", level="Customer").save()
    url = "/admin/dictionary/customer/products/"
    html, revision = field_screen(store_client, url)
    data = {"csrf_token": csrf_token(html), "revision": revision, "label": "Products",
            "choices_text": "Alpha\nBeta => Bravo\nGamma", "update_records": "y"}
    preview = store_client.post(url, data=data).get_data(as_text=True)
    assert "Renaming &#39;Beta&#39; to &#39;Bravo&#39;: 2 records hold &#39;Beta&#39;." \
        in preview
    assert stored("A")["products"] == ["Alpha", "Beta"], "nothing is written before confirming"
    saved = store_client.post(url, data={**data, "confirm": "y"}, follow_redirects=True)
    assert "2 records now hold the renamed choices." in saved.get_data(as_text=True)
    assert FieldDefinition.objects.get(entity="customer", name="products").choices == \
        ["Alpha", "Bravo", "Gamma"]
    assert [stored(n).get("products") for n in "ABCD"] == [
        ["Alpha", "Bravo"], ["Bravo", "Gamma"], ["Gamma"], None]
    # The records' forms show the new choice picked; their History says who changed it.
    edit = store_client.get(f"/admin/customer/edit/?id={stored('B')['_id']}")
    assert chosen(edit.get_data(as_text=True), "products") == ["Bravo", "Gamma"]
    shown = entries(store_client.get(f"/admin/history/customer/{stored('A')['_id']}/")
                    .get_data(as_text=True))
    assert "Products: Alpha, Beta → Alpha, Bravo" in shown[0]["lines"]


def test_a_default_typed_on_the_field_screen_is_picked_on_new_forms_and_kept(
        store_client, products):
    url = "/admin/dictionary/customer/products/"
    html, revision = field_screen(store_client, url)
    assert store_client.post(url, data={
        "csrf_token": csrf_token(html), "revision": revision, "label": "Products",
        "choices_text": "\n".join(CHOICES), "default": "Beta"}).status_code == 302
    assert chosen(store_client.get(NEW).get_data(as_text=True), "products") == ["Beta"]
    # The field screen opened again and saved as it shows keeps the default.
    html, revision = field_screen(store_client, url)
    values = form_values(html, 'name="choices_text"')
    assert values["default"] == "Beta"
    assert store_client.post(url, data={**values, "csrf_token": csrf_token(html)}
                             ).status_code == 302
    assert chosen(store_client.get(NEW).get_data(as_text=True), "products") == ["Beta"]


def test_a_default_of_several_choices_is_typed_with_commas_and_kept(store_client, products):
    url = "/admin/dictionary/customer/products/"
    html, revision = field_screen(store_client, url)
    assert store_client.post(url, data={
        "csrf_token": csrf_token(html), "revision": revision, "label": "Products",
        "choices_text": "\n".join(CHOICES), "default": "Gamma, Alpha"}).status_code == 302
    assert FieldDefinition.objects.get(entity="customer", name="products").default == \
        ["Gamma", "Alpha"]
    assert chosen(store_client.get(NEW).get_data(as_text=True), "products") == \
        ["Alpha", "Gamma"]
    # Shown as typed; saved again as shown, it is the same two choices.
    html, revision = field_screen(store_client, url)
    values = form_values(html, 'name="choices_text"')
    assert values["default"] == "Gamma, Alpha"
    assert store_client.post(url, data={**values, "csrf_token": csrf_token(html)}
                             ).status_code == 302
    assert FieldDefinition.objects.get(entity="customer", name="products").default == \
        ["Gamma", "Alpha"]


@pytest.mark.parametrize(("type_", "typed", "kept"), [
    ("integer", "7", 7), ("decimal", "2.5", 2.5), ("date", "2026-03-01", "2026-03-01"),
    ("boolean", "yes", True), ("text", "Sheffield", "Sheffield"),
])
def test_the_field_screen_shows_other_types_defaults_so_that_saving_keeps_them(
        store_client, type_, typed, kept):
    """The screen shows a stored default as text its type reads back (the change that
    made a multichoice default show as its choice, not as a Python list)."""
    with store_client.application.app_context():
        add_field("customer", "extra", "Extra", type_, sections={"Customer": "Customer"})
    url = "/admin/dictionary/customer/extra/"
    html, revision = field_screen(store_client, url)
    assert store_client.post(url, data={"csrf_token": csrf_token(html), "revision": revision,
                                        "label": "Extra", "default": typed}).status_code == 302
    assert FieldDefinition.objects.get(entity="customer", name="extra").default == kept
    html, _revision = field_screen(store_client, url)
    values = form_values(html, 'name="label"')
    assert store_client.post(url, data={**values, "csrf_token": csrf_token(html)}
                             ).status_code == 302
    assert FieldDefinition.objects.get(entity="customer", name="extra").default == kept


# -- the portal --------------------------------------------------------------------------------

PORTAL_PASSWORD = "plum orchard wheelbarrow 42"


@pytest.fixture
def guest(store_app) -> t.Iterator[t.Any]:
    """Alice, a WebGuest holding Alpha and Beta, signed in on the portal, where Products
    is visible and editable."""
    with store_app.app_context():
        add_products(customer_visible=True, customer_editable=True)
        customer = Customer(level="Customer", name="Alice Carter", email="alice@example.com",
                            products=["Alpha", "Beta"]).save()
        user = User(email="alice@example.com", role="webguest", customer=customer)
        user.set_password(PORTAL_PASSWORD)
        user.save()
    with store_app.test_client() as client:
        assert submit(client, "/portal/", {"email": "alice@example.com",
                                           "password": PORTAL_PASSWORD}).status_code == 302
        yield client


def test_my_details_show_the_picks_and_the_edit_form_saves_a_new_pick(guest):
    details = guest.get("/portal/details/").get_data(as_text=True)
    assert "Products" in re.search(r'id="label-products">(.*?)<', details).group(1)
    assert re.search(r'id="value-products">(.*?)</dd>', details, re.S).group(1) == "Alpha, Beta"
    edit = guest.get("/portal/details/edit").get_data(as_text=True)
    select = select_of(edit, "products")
    assert is_multiple(select)
    assert options(select) == [("Alpha", "Alpha", True), ("Beta", "Beta", True),
                               ("Gamma", "Gamma", False)]
    response = submit(guest, "/portal/details/edit", {"products": ["Gamma", "Beta"]})
    assert response.status_code == 302
    assert stored("Alice Carter")["products"] == ["Beta", "Gamma"]
    details = guest.get("/portal/details/").get_data(as_text=True)
    assert re.search(r'id="value-products">(.*?)</dd>', details, re.S).group(1) == "Beta, Gamma"
    refused = submit(guest, "/portal/details/edit", {"products": ["Beta", "Omega"]})
    assert refused.status_code == 200
    assert "Products must be chosen from: Alpha, Beta, Gamma (Omega is not one of them)." \
        in refused.get_data(as_text=True)
    assert stored("Alice Carter")["products"] == ["Beta", "Gamma"]


# -- tickets -----------------------------------------------------------------------------------

def test_a_brought_forward_multichoice_is_offered_fetched_and_kept_on_the_ticket(
        store_app, store_client):
    with store_app.app_context():
        add_products(brought_forward=True)
    alice = Customer(name="Alice Carter", level="Customer", products=["Alpha", "Gamma"]).save()
    url = f"/admin/ticket/new/?customer={alice.pk}"
    html = store_client.get(url).get_data(as_text=True)
    select = select_of(html, "bf_products")
    assert is_multiple(select)
    assert options(select) == [("Alpha", "Alpha", True), ("Beta", "Beta", False),
                               ("Gamma", "Gamma", True)]
    assert re.search(r'<label for="bf_products"[^>]*>\s*Products', html)
    facts = store_client.get(f"/admin/ticket/customer-facts/?id={alice.pk}").get_json()
    item = next(i for i in facts["brought_forward"] if i["field"] == "bf_products")
    assert (item["label"], item["value"]) == ("Products", ["Alpha", "Gamma"])
    # Logged with the picks changed on the ticket: the ticket keeps them, the customer too.
    response = submit(store_client, url, {
        "customer": str(alice.pk), "summary": "Licence renewal", "status": "open",
        "bf_products": ["Beta", "Alpha"], "_continue_editing": "Save"})
    assert response.status_code == 302, response.get_data(as_text=True)
    ticket = Ticket.objects.get(summary="Licence renewal")
    assert ticket.brought_forward["products"] == ["Alpha", "Beta"]
    assert ticket.brought_forward_labels["products"] == "Products"
    assert stored("Alice Carter")["products"] == ["Alpha", "Gamma"]
    edit = store_client.get(f"/admin/ticket/edit/?id={ticket.pk}").get_data(as_text=True)
    assert chosen(edit, "bf_products") == ["Alpha", "Beta"]
    bad = submit(store_client, url, {"customer": str(alice.pk), "summary": "Bad",
                                     "status": "open", "bf_products": ["Zeta"]})
    assert field_error(bad.get_data(as_text=True),
                       "Products must be chosen from: Alpha, Beta, Gamma "
                       "(Zeta is not one of them).")
    assert Ticket.objects(summary="Bad").count() == 0


# -- the list ----------------------------------------------------------------------------------

def test_the_list_search_finds_a_record_by_a_word_of_a_pick(store_app, store_client):
    with store_app.app_context():
        add_field("customer", "products", "Products", "multichoice",
                  choices=["Alpha Suite", "Beta", "Gamma Cloud"],
                  sections={"Customer": "Customer"}, searchable=True, list_column=5)
    Customer(name="Ann Lee", level="Customer", products=["Alpha Suite", "Beta"]).save()
    assert submit(store_client, NEW, {"name": "Bo Chan", "level": "Customer",
                                      "products": ["Gamma Cloud"], "_ok": "OK"}
                  ).status_code == 302
    Customer(name="Cy Dunn", level="Customer").save()

    def found(term: str) -> set[str]:
        html = store_client.get(f"/admin/customer/?search={term}").get_data(as_text=True)
        return {n for n in ("Ann Lee", "Bo Chan", "Cy Dunn") if n in html}

    assert found("suite") == {"Ann Lee"}
    assert found("beta") == {"Ann Lee"}
    assert found("cloud") == {"Bo Chan"}
    assert found("gam") == {"Bo Chan"}
    assert found("delta") == set()
    listing = store_client.get("/admin/customer/").get_data(as_text=True)
    assert re.search(r'<td class="col-products">\s*Alpha Suite, Beta\s*</td>', listing)
    # A list has no single value to sort by: the column is shown, not offered for sorting.
    header = re.search(r'<th class="column-header col-products">(.*?)</th>', listing, re.S)
    assert header and "Products" in header.group(1) and "<a " not in header.group(1)
    assert 'title="Sort by Department"' in listing


# -- in Chromium ---------------------------------------------------------------------------------

@pytest.fixture
def browser_site(tmp_path) -> t.Iterator[t.Any]:
    from .conftest import make_app
    from .servers import signed_in_browser

    app = make_app(tmp_path, "embedded")
    with app.app_context():
        add_products(brought_forward=True)
        Customer(name="Petra Picks", level="Customer", products=["Beta", "Gamma"]).save()
        Customer(name="Noah None", level="Customer").save()
    with signed_in_browser(tmp_path / "instance") as context:
        yield context
    mongoengine.disconnect()


def test_choosing_the_customer_fills_the_brought_forward_multi_select(browser_site):
    from playwright.sync_api import expect

    from .test_browser_tickets import choose_customer

    problems: list[str] = []
    page = browser_site.new_page()
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error"
            and not m.location.get("url", "").endswith("/favicon.ico") else None)
    page.goto("/admin/ticket/new/")
    picks = page.locator("#bf_products")
    expect(picks).to_have_values([])
    choose_customer(page, "petra", "Petra Picks")
    expect(picks).to_have_values(["Beta", "Gamma"])
    # Another customer holding none clears them.
    choose_customer(page, "noah", "Noah None")
    expect(picks).to_have_values([])
    choose_customer(page, "petra", "Petra Picks")
    expect(picks).to_have_values(["Beta", "Gamma"])
    picks.select_option(["Alpha", "Gamma"])
    page.fill("#summary", "Picked in the browser")
    page.click("input[value=OK]")
    page.wait_for_url("**/admin/ticket/")
    ticket = Ticket.objects.get(summary="Picked in the browser")
    assert ticket.brought_forward["products"] == ["Alpha", "Gamma"]
    assert not problems, problems
    page.close()
