"""Guard rails on dictionary changes: whatever screen or command makes them."""

import pytest

from admin_app.customising.checked import DictionaryError, StaleDefinition
from admin_app.customising.entities import check_relabel_entity, relabel_entity
from admin_app.customising.fields import (
    add_field,
    check_add_field,
    check_update_field,
    update_field,
)
from admin_app.customising.layouts import arrange_layout, check_arrange_layout
from admin_app.dictionary import impact
from admin_app.dictionary.documents import DictionaryVersion, FieldDefinition
from admin_app.dictionary.history import DictionaryChange
from admin_app.models import Customer

from .helpers import field_error, submit


@pytest.mark.parametrize("name, message", [
    ("cost$centre", "cannot be a field name"),
    ("cost.centre", "cannot be a field name"),
    ("Cost Centre", "cannot be a field name"),
    ("data", "is reserved by Dictadmin"),
    ("csrf_token", "is reserved by Dictadmin"),
    ("department", "customer already has a field named 'department'"),
])
def test_bad_field_names_are_refused(app, name, message):
    with app.app_context(), pytest.raises(DictionaryError, match=message):
        add_field("customer", name, "X", "text")


def test_custom_field_appears_on_the_form_mandatory_for_customers_only(client):
    with client.application.app_context():
        add_field("customer", "contract_start", "Contract Start", "date",
                  mandatory=["Customer"], sections={"Customer": "Service"})
    html = client.get("/admin/customer/new/").get_data(as_text=True)
    assert 'id="contract_start"' in html
    assert 'id="contract_start"' not in client.get("/admin/org/new/").get_data(as_text=True)
    response = submit(client, "/admin/customer/new/", {"name": "Ann", "level": "Customer"})
    assert field_error(response.get_data(as_text=True), "Contract Start is mandatory.")
    ok = submit(client, "/admin/customer/new/", {"name": "Ann", "level": "Customer",
                                                 "contract_start": "2026-05-01", "_ok": "OK"})
    assert ok.status_code == 302
    assert Customer.objects.get(name="Ann").contract_start.year == 2026


def test_second_save_from_a_stale_copy_is_refused(app):
    with app.app_context():
        opened = FieldDefinition.objects.get(entity="customer", name="department").revision
        update_field("customer", "department", expected_revision=opened, label="Cost Centre")
        with pytest.raises(StaleDefinition, match="Cost Centre was changed by someone else"):
            update_field("customer", "department", expected_revision=opened, label="Division")
        assert FieldDefinition.objects.get(entity="customer", name="department").label \
            == "Cost Centre"


def test_type_change_that_strands_values_is_refused_with_the_count(app):
    Customer(name="A", level="Customer", location="12").save()
    Customer(name="B", level="Customer", location="Building 7").save()
    Customer(name="C", level="Customer", location="Annex").save()
    with app.app_context():
        with pytest.raises(DictionaryError, match="2 existing records hold a Location that is "
                                                  "not a valid integer"):
            update_field("customer", "location", type="integer")
        assert FieldDefinition.objects.get(entity="customer", name="location").type == "text"
        with pytest.raises(DictionaryError, match="system field: its type cannot change"):
            update_field("customer", "name", type="integer")
        with pytest.raises(DictionaryError, match="system field: it can be relabelled but not"):
            update_field("customer", "archived", retired=True)


def test_making_a_field_mandatory_counts_records_lacking_it(app):
    Customer(name="A", level="Customer", department="IT").save()
    Customer(name="B", level="Customer").save()
    Customer(name="C", level="Org").save()
    with app.app_context():
        assert impact.lacking("customer", "department", ["Customer"]) == 1
        assert impact.lacking("customer", "department", ["Customer", "Org"]) == 2


def test_retired_field_leaves_the_form_and_its_data_comes_back_on_restore(client):
    ann = Customer(name="Ann", level="Customer", location="HQ").save()
    with client.application.app_context():
        update_field("customer", "location", retired=True)
    edit = f"/admin/customer/edit/?id={ann.pk}"
    assert 'id="location"' not in client.get(edit).get_data(as_text=True)
    submit(client, edit, {"name": "Ann", "level": "Customer", "_ok": "OK"})
    assert Customer.objects.get(pk=ann.pk).location == "HQ"
    with client.application.app_context():
        update_field("customer", "location", retired=False)
    assert 'value="HQ"' in client.get(edit).get_data(as_text=True)


def test_add_field_with_a_bad_section_writes_nothing(app):
    with app.app_context(), pytest.raises(DictionaryError, match="has no section 'Nowhere'"):
        add_field("customer", "seats", "Seats", "integer", sections={"Customer": "Nowhere"})
    assert FieldDefinition.objects(name="seats").count() == 0


REFUSED = {
    "bad name": (check_add_field, add_field, ("customer", "bad$name", "Bad", "text"), {},
                 "cannot be a field name"),
    "no entity": (check_add_field, add_field, ("ticket", "summary", "Summary", "text"), {},
                  "There is no entity 'ticket'"),
    "unknown attribute": (check_add_field, add_field, ("customer", "seats", "Seats", "integer"),
                          {"colour": "red"}, "These cannot be set on a new field: colour."),
    "bad value": (check_add_field, add_field, ("customer", "seats", "Seats", "integer"),
                  {"max_length": "long"}, "These settings are not valid: max_length"),
    "system retired": (check_update_field, update_field, ("customer", "archived"),
                       {"retired": True}, "system field: it can be relabelled but not retired"),
    "blank word": (check_relabel_entity, relabel_entity, ("customer", {"Org": ("Org", " ")}),
                   {}, "The Org Level needs a singular and a plural word."),
    "no Level": (check_relabel_entity, relabel_entity, ("customer", {"Team": ("T", "Ts")}), {},
                 "customer has no Level 'Team'"),
    "mandatory dropped": (check_arrange_layout, arrange_layout,
                          ("customer", "Customer", [("Who", ["level"])]), {},
                          "Mandatory fields must stay on the Customer form: Name."),
    "no layout": (check_arrange_layout, arrange_layout, ("contact", "Org", [("O", ["name"])]),
                  {}, "There is no Org layout for contact"),
}


@pytest.mark.parametrize("case", REFUSED.values(), ids=REFUSED.keys())
def test_check_only_counterparts_refuse_what_the_operations_refuse(app, case):
    """A dictionary file is checked whole with these before anything is written."""
    check, operation, args, kwargs, message = case
    with app.app_context():
        version = DictionaryVersion.objects.get(id="dictionary").number
        with pytest.raises(DictionaryError, match=message):
            check(*args, kwargs) if check is check_update_field else check(*args, **kwargs)
        with pytest.raises(DictionaryError, match=message):
            operation(*args, **kwargs)
        assert DictionaryChange.objects.count() == 0
        assert DictionaryVersion.objects.get(id="dictionary").number == version


def test_a_layout_is_checked_against_the_fields_as_they_will_be(app):
    with app.app_context():
        seats = check_add_field("customer", "seats", "Seats", "integer", mandatory=["Org"],
                                placed_by_layouts=True)
        fields = [*FieldDefinition.objects(entity="customer"), seats]
        with pytest.raises(DictionaryError, match="Mandatory fields must stay on the Org form: "
                                                  "Seats."):
            check_arrange_layout("customer", "Org", [("Org", ["name", "level"])], fields=fields)
        arranged = check_arrange_layout("customer", "Org", [(" Org ", ["name", "level", "seats"])],
                                        fields=fields)
        assert [(s.title, s.fields) for s in arranged.sections] == [("Org", ["name", "level",
                                                                            "seats"])]
        assert FieldDefinition.objects(name="seats").count() == 0


def test_mandatory_on_a_level_that_does_not_exist_is_refused(app):
    with pytest.raises(DictionaryError, match="cannot be mandatory on Customr: the Levels of "
                                              "customer are Customer, Org"):
        update_field("customer", "department", mandatory=["Customr"])
    with pytest.raises(DictionaryError, match="cannot be mandatory on Tenant"):
        add_field("customer", "site", "Site", "text", mandatory=["Tenant"])


def test_whether_a_field_is_a_system_field_cannot_change(app):
    with pytest.raises(DictionaryError, match="comes with Dictadmin"):
        update_field("customer", "name", system=False)
    assert FieldDefinition.objects.get(entity="customer", name="name").system is True


def test_a_field_cannot_be_made_mandatory_on_a_form_that_does_not_show_it(app):
    """No record of that Level could be saved from the screens; the file import, which
    arranges layouts in the same go, is judged by its layouts as they will be instead."""
    with pytest.raises(DictionaryError, match="Department is not on the Org form of customer"):
        update_field("customer", "department", mandatory=["Org"])
    with pytest.raises(DictionaryError, match="Site is not on the Org form"):
        add_field("customer", "site", "Site", "text", mandatory=["Customer", "Org"],
                  sections={"Customer": "Customer"})
    add_field("customer", "site", "Site", "text", mandatory=["Customer"],
              sections={"Customer": "Customer"})
    assert FieldDefinition.objects.get(entity="customer", name="site").mandatory == ["Customer"]


# -- choice renames write through the record write path ----------------------------------------

def tiers(**values):
    """A `tier` choice field (Gold, Silver, Bronze) and one customer per name holding
    `values[name]` (None: no tier)."""
    add_field("customer", "tier", "Tier", "choice", choices=["Gold", "Silver", "Bronze"],
              sections={"Customer": "Customer"})
    for name, tier in values.items():
        Customer(name=name, level="Customer", **({"tier": tier} if tier else {})).save()


def stored(name):
    return Customer._get_collection().find_one({"name": name})


def test_a_choice_rename_records_one_change_set_per_record_that_held_the_old_choice(
        store_app):
    from admin_app.customising.fields import rename_choice_values
    from admin_app.records import RecordChange

    from . import record_writers

    with store_app.app_context():
        tiers(Ann="Gold", Bob="Gold", Cat="Silver", Dan=None)
        untouched = {n: stored(n)["revision"] for n in ("Cat", "Dan")}
        update_field("customer", "tier", choices=["Platinum", "Silver", "Bronze"])
        saved = DictionaryChange.objects(name="tier").order_by("-at").first()
        definition = FieldDefinition.objects.get(entity="customer", name="tier")
        with record_writers.watching() as writers:
            assert rename_choice_values(definition, {"Gold": "Platinum"}) == 2
    assert {module for module, _method, _collection in writers} == {"admin_app.records.batch"}
    assert (stored("Ann")["tier"], stored("Bob")["tier"]) == ("Platinum", "Platinum")
    assert {n: stored(n)["revision"] for n in ("Cat", "Dan")} == untouched
    changes = list(RecordChange._get_collection().find({}))
    assert sorted(c["record"] for c in changes) == sorted(
        stored(n)["_id"] for n in ("Ann", "Bob"))
    for change in changes:
        assert (change["way"], change["batch"]) == ("dictionary", str(saved.pk))
        assert change["who"]["name"] == "command line"
        assert change["fields"] == [{"id": str(definition.pk), "name": "tier", "label": "Tier",
                                     "old": "Gold", "new": "Platinum"}]


def test_choices_renamed_into_each_other_are_swapped(store_app):
    from admin_app.customising.fields import rename_choice_values

    with store_app.app_context():
        tiers(Ann="Gold", Bob="Silver")
        definition = FieldDefinition.objects.get(entity="customer", name="tier")
        assert rename_choice_values(definition, {"Gold": "Silver", "Silver": "Gold"}) == 2
    assert (stored("Ann")["tier"], stored("Bob")["tier"]) == ("Silver", "Gold")


def test_a_record_whose_choice_was_changed_meanwhile_keeps_it(store_app, monkeypatch):
    from admin_app import records
    from admin_app.customising.fields import rename_choice_values

    write = records.batch.write

    def an_agent_gives_bob_silver_first(*args, **kwargs):
        Customer._get_collection().update_one({"name": "Bob"}, {"$set": {"tier": "Silver"}})
        return write(*args, **kwargs)

    monkeypatch.setattr(records.batch, "write", an_agent_gives_bob_silver_first)
    with store_app.app_context():
        tiers(Ann="Gold", Bob="Gold")
        definition = FieldDefinition.objects.get(entity="customer", name="tier")
        assert rename_choice_values(definition, {"Gold": "Platinum"}) == 1
    assert (stored("Ann")["tier"], stored("Bob")["tier"]) == ("Platinum", "Silver")


# -- one check, one order: a field change is refused with one sentence, wherever it is made ----

ONE_SENTENCE = {
    # Before: the check said the settings were not valid, the save that contacts are not
    # shown in the portal.
    "invalid value and a portal flag": (
        "contact", "email", {"customer_visible": True, "max_length": "long"},
        "These settings are not valid: max_length: long could not be converted to int."),
    # Before: the check said the form does not show it, the save that the pattern is bad.
    "unplaced and a bad pattern": (
        "customer", "department", {"mandatory": ["Org"], "pattern": "("},
        "Department is not on the Org form of customer"),
    # Before: the check said the settings were not valid, the save failed with a TypeError.
    "a pattern that is not text": (
        "customer", "email", {"pattern": 5},
        "These settings are not valid: pattern: StringField only accepts string values."),
    # Before: the check said the settings were not valid, the save that it is a system field.
    "a system field's type and an invalid value": (
        "customer", "name", {"type": "date", "max_length": "x"},
        "Name is a system field: its type cannot change."),
}


@pytest.mark.parametrize("case", ONE_SENTENCE.values(), ids=ONE_SENTENCE.keys())
def test_a_field_change_is_refused_with_one_sentence_by_its_check_and_by_its_save(store_app,
                                                                                 case):
    entity, name, changes, sentence = case
    with store_app.app_context():
        before = FieldDefinition.objects.get(entity=entity, name=name).to_mongo().to_dict()
        version = DictionaryVersion.objects.get(id="dictionary").number
        said = []
        for attempt in (lambda: check_update_field(entity, name, dict(changes)),
                        lambda: update_field(entity, name, **changes)):
            with pytest.raises(DictionaryError) as refused:
                attempt()
            said.append(str(refused.value))
        assert said[0] == said[1] and said[0].startswith(sentence), said
        assert FieldDefinition.objects.get(entity=entity, name=name).to_mongo().to_dict() \
            == before
        assert DictionaryChange.objects.count() == 0
        assert DictionaryVersion.objects.get(id="dictionary").number == version


def test_the_field_screen_refuses_with_the_sentence_the_save_gives(client):
    """The screen's confirmation is counted only for a change the save would accept; a
    refused one gets the same first problem as `update_field` and the dictionary file."""
    url = "/admin/dictionary/customer/department/"
    revision = FieldDefinition.objects.get(entity="customer", name="department").revision
    response = submit(client, url, {"label": "Department", "mandatory": ["Org"],
                                    "pattern": "(", "revision": str(revision)})
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Department is not on the Org form of customer, so it cannot be mandatory there" \
        in html
    assert "pattern is not a valid regular expression" not in html
    assert FieldDefinition.objects.get(entity="customer", name="department").mandatory == []


def test_a_fields_revision_and_id_cannot_be_set_by_a_change(app):
    """The revision is what tells a stale copy: a change that set it would let the next
    stale save through."""
    from admin_app.customising.fields import update_field
    from admin_app.dictionary.documents import FieldDefinition

    with app.app_context():
        stored = FieldDefinition.objects.get(entity="customer", name="department")
        for attribute, value in (("revision", 7), ("id", stored.id)):
            with pytest.raises(DictionaryError) as refused:
                update_field("customer", "department", **{attribute: value})
            assert str(refused.value) == f"These cannot be changed on a field: {attribute}."
        assert FieldDefinition.objects.get(entity="customer",
                                           name="department").revision == stored.revision
