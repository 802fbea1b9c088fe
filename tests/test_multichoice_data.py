"""The `multichoice` field type on every way data comes in and goes out: the rulebook,
a seed load and its export, the directory sync (against a real slapd), the dictionary
file, and search keys, on both stores where a store is involved.

A multichoice field holds any number of its choices, stored as a list in the order of
the choices (blank is no value); a file must give a JSON list of strings.
"""

from __future__ import annotations

import json

import mongoengine
import pytest

from admin_app import dictionary
from admin_app.customising.checked import DictionaryError
from admin_app.customising.fields import add_field, change_type, update_field
from admin_app.dictionary import types, values
from admin_app.dictionary.documents import FieldDefinition, LayoutDefinition
from admin_app.dictionary.rules import Invalid, Rule
from admin_app.dictionary.snapshot import Field
from admin_app.directory.connectors import AD_ATTRIBUTE_MAP
from admin_app.directory.sync import run
from admin_app.models import Customer

from .conftest import make_app

CHOICES = ["Email", "Phone", "Live Chat"]
NOT_A_LIST = 'Products Used must be a list of choices, such as ["Email", "Phone"].'


def products_field(**settings) -> Field:
    return Field("customer", "products", "Products Used", "multichoice",
                 choices=tuple(CHOICES), **settings)


def add_products(**attributes) -> FieldDefinition:
    """The field through the checked operation, shown on the Customer form."""
    return add_field("customer", "products", "Products Used", "multichoice",
                     choices=list(CHOICES), sections={"Customer": "Customer"}, **attributes)


def stored(name: str) -> dict | None:
    """A record as the store holds it (not as a model reads it back)."""
    return Customer._get_collection().find_one({"name": name})


def store_of(request) -> str:
    return request.node.callspec.params["store_app"]


# -- 1. the rulebook ---------------------------------------------------------------------------

def test_a_file_must_give_a_list_of_strings():
    rule = Rule(products_field(), "Customer")
    assert rule.accept_json(["Live Chat", "Email"]) == ["Live Chat", "Email"]
    assert rule.accept_json([" Phone "]) == ["Phone"]
    for refused in ("Email", 3, ["Email", 3], {"Email": True}, True):
        with pytest.raises(Invalid) as caught:
            rule.accept_json(refused)
        assert str(caught.value) == NOT_A_LIST, refused


def test_an_unknown_or_repeated_choice_is_refused_naming_the_field_by_its_label():
    rule = Rule(products_field(), "Customer")
    with pytest.raises(Invalid) as unknown:
        rule.accept_json(["Email", "Fax"])
    assert str(unknown.value) == ("Products Used must be chosen from: Email, Phone, Live Chat "
                                  "(Fax is not one of them).")
    with pytest.raises(Invalid) as two_unknown:
        rule.accept_json(["Fax", "Telex"])
    assert str(two_unknown.value) == ("Products Used must be chosen from: Email, Phone, "
                                      "Live Chat (Fax, Telex are not among them).")
    with pytest.raises(Invalid) as repeated:
        rule.accept_json(["Phone", "Email", "Phone"])
    assert str(repeated.value) == "Products Used lists Phone more than once."
    # Choices are matched as given, as a choice field's are.
    with pytest.raises(Invalid, match=r"\(email is not one of them\)"):
        rule.accept_json(["email"])


def test_no_value_is_refused_when_mandatory_and_accepted_otherwise():
    mandatory = Rule(products_field(mandatory=frozenset({"Customer"})), "Customer")
    for blank in (None, [], ["  "]):
        with pytest.raises(Invalid) as caught:
            mandatory.accept_json(blank)
        assert str(caught.value) == "Products Used is mandatory.", blank
    assert mandatory.accept_json(["Email"]) == ["Email"]
    elsewhere = Rule(products_field(mandatory=frozenset({"Customer"})), "Org")
    for blank in (None, []):
        assert elsewhere.accept_json(blank) is None


def test_stored_in_the_order_of_the_choices_and_blank_is_none():
    field = products_field()
    assert values.to_storage(field, ["Live Chat", "Email"]) == ["Email", "Live Chat"]
    assert values.to_storage(field, ["Live Chat", "Phone", "Email"]) == CHOICES
    assert values.to_storage(field, None) is None
    assert values.to_storage(field, []) is None


def test_no_field_can_be_changed_to_multichoice(app):
    assert "multichoice" in types.FIELD_TYPES
    assert "multichoice" not in types.CONVERTIBLE
    Customer(name="Ann", level="Customer", location="Leeds").save()
    refusal = ("Fields can be converted to text, longtext, integer, decimal, date, boolean, "
               "email, phone, url, not 'multichoice'.")
    with pytest.raises(DictionaryError) as by_update:
        update_field("customer", "location", type="multichoice", choices=list(CHOICES))
    assert str(by_update.value) == refusal
    with pytest.raises(DictionaryError) as by_change:
        change_type("customer", "location", "multichoice", keep_unconverted=True)
    assert str(by_change.value) == refusal
    assert FieldDefinition.objects.get(entity="customer", name="location").type == "text"
    assert stored("Ann")["location"] == "Leeds"


def test_a_multichoice_field_needs_choices(app):
    with pytest.raises(DictionaryError, match="A choice list needs at least one choice."):
        add_field("customer", "products", "Products Used", "multichoice")
    assert FieldDefinition.objects(entity="customer", name="products").first() is None


# -- 2. seed load and export -------------------------------------------------------------------

def seed(runner, *args):
    return runner.invoke(args=["seed", *args])


def write(tmp_path, data, name="load.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def test_a_load_stores_lists_in_choice_order_and_reports_each_bad_record(store_app, tmp_path):
    with store_app.app_context():
        add_products(mandatory=["Customer"])
    runner = store_app.test_cli_runner()
    result = seed(runner, "load", write(tmp_path, {
        "orgs": [{"name": "Acme"}],  # mandatory for a Customer only
        "customers": [
            {"name": "Ann", "products": ["Live Chat", "Email"]},
            {"name": "Bo", "products": "Email"},
            {"name": "Cy", "products": ["Email", "Fax"]},
            {"name": "Di", "products": ["Phone", "Phone"]},
            {"name": "Ed", "products": []},
            {"name": "Flo"},
            {"name": "Gus", "products": None},
            {"name": "Hal", "products": ["Phone"]},
            {"name": "Ivy", "products": ["Email", 3]},
        ]}))
    assert result.exit_code == 1, result.output
    for line in (
            f"load.json customers #2 (Bo): Products Used: {NOT_A_LIST}",
            "load.json customers #3 (Cy): Products Used: Products Used must be chosen from: "
            "Email, Phone, Live Chat (Fax is not one of them).",
            "load.json customers #4 (Di): Products Used: Products Used lists Phone more "
            "than once.",
            "load.json customers #5 (Ed): Products Used: Products Used is mandatory.",
            "load.json customers #6 (Flo): Products Used: Products Used is mandatory.",
            "load.json customers #7 (Gus): Products Used: Products Used is mandatory.",
            f"load.json customers #9 (Ivy): Products Used: {NOT_A_LIST}"):
        assert line in result.output, (line, result.output)
    assert "3 created, 0 updated, 0 unchanged, 7 failed" in result.output
    with store_app.app_context():
        assert sorted(d["name"] for d in Customer._get_collection().find()) == \
            ["Acme", "Ann", "Hal"]
        assert stored("Ann")["products"] == ["Email", "Live Chat"]
        assert stored("Hal")["products"] == ["Phone"]
        assert "products" not in stored("Acme")


def test_the_same_choices_in_another_order_are_no_change_and_a_new_set_updates(
        store_app, tmp_path):
    with store_app.app_context():
        add_products()
    runner = store_app.test_cli_runner()
    first = seed(runner, "load", write(tmp_path, {"customers": [
        {"name": "Ann", "email": "ann@example.com", "products": ["Live Chat", "Email"]}]}))
    assert first.exit_code == 0, first.output
    again = seed(runner, "load", write(tmp_path, {"customers": [
        {"name": "Ann", "email": "ann@example.com", "products": ["Email", "Live Chat"]}]},
        "again.json"))
    assert "0 created, 0 updated, 1 unchanged, 0 failed" in again.output, again.output
    changed = seed(runner, "load", write(tmp_path, {"customers": [
        {"name": "Ann", "email": "ann@example.com", "products": ["Phone", "Email"]}]},
        "changed.json"))
    assert "0 created, 1 updated, 0 unchanged, 0 failed" in changed.output, changed.output
    with store_app.app_context():
        assert stored("Ann")["products"] == ["Email", "Phone"]


def test_export_writes_the_list_and_export_load_export_is_identical(store_app, tmp_path):
    with store_app.app_context():
        add_products()
    runner = store_app.test_cli_runner()
    loaded = seed(runner, "load", write(tmp_path, {"customers": [
        {"name": "Ann", "email": "ann@example.com", "products": ["Live Chat", "Phone"]},
        {"name": "Bo", "email": "bo@example.com", "products": ["Email"]},
        {"name": "Cy", "email": "cy@example.com"}]}))
    assert loaded.exit_code == 0, loaded.output
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    assert seed(runner, "export", str(first)).exit_code == 0
    exported = {c["name"]: c for c in json.loads(first.read_text())["customers"]}
    assert exported["Ann"]["products"] == ["Phone", "Live Chat"]
    assert exported["Bo"]["products"] == ["Email"]
    assert "products" not in exported["Cy"]
    with store_app.app_context():
        before = {d["name"]: d.get("products") for d in Customer._get_collection().find()}
        Customer.objects.delete()
        assert Customer.objects.count() == 0
    reloaded = seed(runner, "load", str(first))
    assert reloaded.exit_code == 0, reloaded.output
    with store_app.app_context():
        assert {d["name"]: d.get("products") for d in Customer._get_collection().find()} == \
            before
    assert seed(runner, "export", str(second)).exit_code == 0
    assert second.read_text() == first.read_text()


def test_jsonl_export_writes_the_list_on_one_line(store_app, tmp_path):
    with store_app.app_context():
        add_products()
    runner = store_app.test_cli_runner()
    assert seed(runner, "load", write(tmp_path, {"customers": [
        {"name": "Ann", "products": ["Live Chat", "Email"]}]})).exit_code == 0
    out = tmp_path / "customers.jsonl"
    assert seed(runner, "export", str(out), "--entity", "customers").exit_code == 0
    assert [json.loads(line) for line in out.read_text().splitlines()] == \
        [{"entity": "customers", "name": "Ann", "products": ["Email", "Live Chat"]}]


# -- 3. the directory sync, against a real slapd ---------------------------------------------

@pytest.fixture
def store_directory(store_app, tmp_path):
    """A real slapd of the test's own, beside an app on either store."""
    from .servers import slapd_server

    with slapd_server(tmp_path / "slapd") as directory:
        yield directory


def synced(connector_name: str = "ad") -> dict[str, dict]:
    return {d["directory"]["key"]: d for d in Customer._get_collection().find(
        {"directory.connector": connector_name})}


def test_a_multi_valued_attribute_fills_a_multichoice_field_and_a_bad_value_skips_the_entry(
        store_app, store_directory):
    directory = store_directory
    good, bad, without, same, twin = directory.add_users(5)
    directory.modify(good.dn, description=["Live Chat", "Email"])
    # The plan reads each set of texts once: the twin's record gets an equal list of its own.
    directory.modify(twin.dn, description=["Live Chat", "Email"])
    directory.modify(bad.dn, description=["Email", "Fax"])
    directory.modify(same.dn, description=["Email", "Live Chat"])
    with store_app.app_context():
        add_products()
    with store_app.app_context():  # a new dictionary snapshot
        connector = directory.connector(
            attribute_map={**AD_ATTRIBUTE_MAP, "description": "products"})
        result = run(connector)
        assert result.status == "complete", result.reason
        assert (result.counts["created"], result.counts["skipped"]) == (4, 1), result.counts
        message = ("description: Products Used must be chosen from: Email, Phone, Live Chat "
                   "(Fax is not one of them).")
        assert result.errors == [f"{bad.dn}: {message}"], result.errors
        skipped = next(a for a in result.actions if a["key"] == bad.key)
        assert skipped["kind"] == "skip" and skipped["messages"] == [message]
        records = synced()
        assert bad.key not in records
        assert Customer.objects(email=bad.mail).count() == 0
        assert records[good.key]["products"] == ["Email", "Live Chat"]
        assert records[same.key]["products"] == ["Email", "Live Chat"]
        assert records[twin.key]["products"] == ["Email", "Live Chat"]
        assert "products" not in records[without.key]

        again = run(connector)  # the stored lists equal what the directory holds
        assert again.status == "complete", again.reason
        assert (again.counts["unchanged"], again.counts["skipped"]) == (4, 1), again.counts

        directory.modify(good.dn, description=["Phone"])
        directory.modify(bad.dn, description=["Phone", "Email"])
        fixed = run(connector)
        assert fixed.status == "complete", fixed.reason
        assert (fixed.counts["updated"], fixed.counts["created"]) == (1, 1), fixed.counts
        records = synced()
        assert records[good.key]["products"] == ["Phone"]
        assert records[bad.key]["products"] == ["Email", "Phone"]
        assert records[same.key]["products"] == ["Email", "Live Chat"]
        assert records[twin.key]["products"] == ["Email", "Live Chat"]


# -- 4. the dictionary file --------------------------------------------------------------------

def test_the_dictionary_file_carries_a_multichoice_field_into_a_fresh_store(
        request, store_app, tmp_path):
    with store_app.app_context():
        add_products(mandatory=["Customer"], searchable=True,
                     help_text="What the customer uses.")
    path = tmp_path / "dictionary.json"
    exported = store_app.test_cli_runner().invoke(args=["dictionary", "export", str(path)])
    assert exported.exit_code == 0, exported.output
    text = path.read_text(encoding="utf-8")
    filed = next(f for f in json.loads(text)["fields"]
                 if (f["entity"], f["name"]) == ("customer", "products"))
    assert (filed["type"], filed["choices"], filed["mandatory"], filed["searchable"]) == \
        ("multichoice", CHOICES, ["Customer"], True)

    other = make_app(tmp_path / "other", store_of(request))
    try:
        runner = other.test_cli_runner()
        imported = runner.invoke(args=["dictionary", "import", str(path)])
        assert imported.exit_code == 0, imported.output
        assert "add field customer.products" in imported.output
        with other.app_context():
            field = dictionary.current().field("customer", "products")
            assert (field.type, field.label, field.choices, field.mandatory,
                    field.searchable) == ("multichoice", "Products Used", tuple(CHOICES),
                                          frozenset({"Customer"}), True)
            assert "products" in LayoutDefinition.objects.get(
                entity="customer", level="Customer").sections[0].fields
        again = tmp_path / "again.json"
        assert runner.invoke(args=["dictionary", "export", str(again)]).exit_code == 0
        assert again.read_text(encoding="utf-8") == text
        # The recreated field takes values: a load into the fresh store keeps the list.
        records = tmp_path / "records.json"
        records.write_text(json.dumps({"customers": [
            {"name": "Ann", "products": ["Live Chat", "Email"]}, {"name": "Bo"}]}))
        loaded = runner.invoke(args=["seed", "load", str(records)])
        assert "customers #2 (Bo): Products Used: Products Used is mandatory." in loaded.output
        with other.app_context():
            assert [(d["name"], d["products"]) for d in Customer._get_collection().find()] == \
                [("Ann", ["Email", "Live Chat"])]
    finally:
        mongoengine.disconnect()


# -- 5. search keys ----------------------------------------------------------------------------

def listed(client, typed: str) -> str:
    return client.get("/admin/customer/", query_string={"search": typed}).get_data(
        as_text=True)


def test_the_items_of_a_searchable_multichoice_field_are_search_keys(store_client, tmp_path):
    app = store_client.application
    with app.app_context():
        add_products(searchable=True)
    runner = app.test_cli_runner()
    assert seed(runner, "load", write(tmp_path, {"customers": [
        {"name": "Ann Lee", "products": ["Live Chat", "Email"]},
        {"name": "Bo Chan", "products": ["Phone"]}]})).exit_code == 0
    with app.app_context():
        keys = stored("Ann Lee")["search_keys"]
        assert {"email", "live", "chat", "ch"} <= set(keys)
        assert "phone" not in keys
        assert "phone" in stored("Bo Chan")["search_keys"]
    found = listed(store_client, "chat")
    assert "Ann Lee" in found and "Bo Chan" not in found
    found = listed(store_client, "live cha")
    assert "Ann Lee" in found and "Bo Chan" not in found
    found = listed(store_client, "phone")
    assert "Bo Chan" in found and "Ann Lee" not in found
    assert "Ann Lee" not in listed(store_client, "fax")


def test_a_multichoice_field_made_searchable_later_is_searched_and_unmade_is_not(
        store_client, tmp_path):
    app = store_client.application
    with app.app_context():
        add_products()
    runner = app.test_cli_runner()
    assert seed(runner, "load", write(tmp_path, {"customers": [
        {"name": "Ann Lee", "products": ["Live Chat"]},
        {"name": "Bo Chan", "products": ["Email"]}]})).exit_code == 0
    assert "Ann Lee" not in listed(store_client, "chat")
    with app.app_context():
        update_field("customer", "products", searchable=True)
    found = listed(store_client, "chat")
    assert "Ann Lee" in found and "Bo Chan" not in found
    with app.app_context():
        update_field("customer", "products", searchable=False)
    assert "Ann Lee" not in listed(store_client, "chat")
    assert "Ann Lee" in listed(store_client, "ann")
