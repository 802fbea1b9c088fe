"""`flask dictionary export / import`: the dictionary as a reviewable file.

An import goes through the same checked operations as the screens: the whole file is
checked first (against the dictionary as the file would leave it), a refused file
changes nothing and lists every problem by its place, and a dry run's plan is what the
import then does.
"""

import json

import mongoengine
import pytest

from admin_app.customising import filing
from admin_app.customising.entities import relabel_entity
from admin_app.customising.fields import add_field, update_field
from admin_app.dictionary.documents import (
    DictionaryVersion,
    EntityDefinition,
    FieldDefinition,
    LayoutDefinition,
)
from admin_app.dictionary.history import DictionaryChange
from admin_app.models import Customer

from .conftest import make_app


def dictionary(runner, *args):
    return runner.invoke(args=["dictionary", *args])


def exported(runner, tmp_path, name="exported.json"):
    path = tmp_path / name
    assert dictionary(runner, "export", str(path)).exit_code == 0
    return path.read_text()


def edited(runner, tmp_path, edit):
    """The exported dictionary with `edit` applied to its data, as a file to import."""
    path = tmp_path / "dict.json"
    data = json.loads(exported(runner, tmp_path))
    edit(data)
    path.write_text(json.dumps(data))
    return path


def field(data, entity, name):
    return next(f for f in data["fields"] if (f["entity"], f["name"]) == (entity, name))


def layout(data, entity, level):
    return next(lt for lt in data["layouts"] if (lt["entity"], lt["level"]) == (entity, level))


def version():
    return DictionaryVersion.objects.get(id="dictionary").number


def plan_lines(output):
    return [line.strip() for line in output.splitlines() if line.startswith("  ")]


def assert_refused_and_nothing_changed(runner, tmp_path, path, problems):
    before, history, number = exported(runner, tmp_path, "before.json"), \
        DictionaryChange.objects.count(), version()
    for args in (["--dry-run"], []):
        result = dictionary(runner, "import", *args, str(path))
        assert result.exit_code == 1, result.output
        assert "dict.json was not imported and nothing was changed." in result.output
        assert "Traceback" not in result.output
        listed = plan_lines(result.output)
        for problem in problems:
            assert any(line.startswith(problem) for line in listed), (problem, listed)
        assert len(listed) == len(problems), listed
    assert exported(runner, tmp_path, "after.json") == before
    assert (DictionaryChange.objects.count(), version()) == (history, number)


# -- export and the plain cases ------------------------------------------------------------

def test_export_is_stable_and_round_trips_into_another_store(app, tmp_path):
    runner = app.test_cli_runner()
    with app.app_context():
        add_field("customer", "cost_centre", "Cost Centre", "text", mandatory=["Customer"],
                  sections={"Customer": "Customer"})
        relabel_entity("customer", {"Customer": ("User", "Users")})
        update_field("customer", "phone_2", retired=True)
    first = tmp_path / "first.json"
    text = exported(runner, tmp_path, "first.json")
    data = json.loads(text)
    assert [f["name"] for f in data["fields"] if f["entity"] == "contact"] == \
        sorted(f["name"] for f in data["fields"] if f["entity"] == "contact")

    other = make_app(tmp_path / "other").test_cli_runner()
    result = dictionary(other, "import", str(first))
    assert result.exit_code == 0, result.output
    assert "Applied 6 changes." in result.output
    assert exported(other, tmp_path, "second.json") == text
    assert "nothing to change" in dictionary(other, "import", str(first)).output
    mongoengine.disconnect()


def test_a_store_without_a_dictionary_is_told_to_install_it_first(runner, tmp_path):
    path = tmp_path / "dict.json"
    path.write_text(exported(runner, tmp_path))
    for model in ("dictionary_entities", "dictionary_fields", "dictionary_layouts"):
        Customer._get_db()[model].delete_many({})
    result = dictionary(runner, "import", str(path))
    assert result.exit_code == 1
    assert "The store has no dictionary yet: install it with `flask --app admin_app " \
           "dictionary init`, then import the file." in result.output


def test_dry_run_prints_the_plan_with_its_effect_and_changes_nothing(app, runner, tmp_path):
    Customer(name="No dept", level="Customer").save()
    Customer(name="Has dept", level="Customer", department="IT").save()

    def cost_centre(data):
        field(data, "customer", "department").update(label="Cost Centre",
                                                     mandatory=["Customer"])

    path = edited(runner, tmp_path, cost_centre)
    result = dictionary(runner, "import", "--dry-run", str(path))
    assert result.exit_code == 0
    assert "change field customer.department: label 'Department' → 'Cost Centre'" in result.output
    assert "mandatory [] → ['Customer'] (1 existing records lack a value)" in result.output
    assert "Dry run: 2 changes planned; nothing was changed." in result.output
    assert FieldDefinition.objects.get(entity="customer", name="department").label == "Department"

    applied = dictionary(runner, "import", str(path))
    assert "Applied 2 changes." in applied.output
    assert FieldDefinition.objects.get(entity="customer", name="department").label == "Cost Centre"
    again = dictionary(runner, "import", str(path))
    assert "already matches the file; nothing to change" in again.output


def test_a_field_missing_from_the_file_is_retired_not_deleted(runner, tmp_path):
    Customer(name="Ann", level="Customer", phone_2="0123").save()

    def drop_phone_2(data):
        data["fields"] = [f for f in data["fields"] if f["name"] != "phone_2"]

    result = dictionary(runner, "import", str(edited(runner, tmp_path, drop_phone_2)))
    assert "retire field customer.phone_2 (not in the file; 1 records keep their values)" \
        in result.output
    assert FieldDefinition.objects.get(entity="customer", name="phone_2").retired is True
    assert Customer.objects.get(name="Ann").phone_2 == "0123"


@pytest.mark.parametrize("content, message", [
    ('{"orgs": []}', "bad.json must be an object with the keys entities, fields, layouts."),
    ('{"fields": [', "bad.json is not valid JSON: Expecting value at line 1, column 13."),
    ('{"fields": {"a": 1}}', "In bad.json, fields must be a list of objects."),
])
def test_a_file_that_is_not_a_dictionary_is_refused(runner, tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    result = dictionary(runner, "import", str(path))
    assert result.exit_code == 2
    assert message in result.output


def test_file_import_is_recorded_in_the_history(runner, tmp_path):
    path = edited(runner, tmp_path,
                  lambda data: field(data, "customer", "location").update(label="Site"))
    dictionary(runner, "import", str(path))
    change = DictionaryChange.objects.get(name="location")
    assert change.summary == "file import: label: 'Location' → 'Site'"
    assert change.actor == "command line"


def test_file_import_gets_the_screens_guard_rails(runner, tmp_path):
    Customer(name="Ann", level="Customer", location="12").save()
    path = tmp_path / "dict.json"
    data = json.loads(exported(runner, tmp_path))
    fields = {(f["entity"], f["name"]): f for f in data["fields"]}
    fields[("customer", "location")]["type"] = "integer"
    fields[("customer", "phone_1")]["label"] = "Mobile"
    fields[("customer", "email")]["pattern"] = "([A"
    path.write_text(json.dumps(data))
    email = next(i for i, f in enumerate(data["fields"]) if f["name"] == "email"
                 and f["entity"] == "customer")
    assert_refused_and_nothing_changed(runner, tmp_path, path, [
        f"fields[{email}] (customer.email): The pattern"])

    del fields[("customer", "email")]["pattern"]
    path.write_text(json.dumps(data))
    assert dictionary(runner, "import", str(path)).exit_code == 0
    assert Customer.objects.get(name="Ann").location == 12, "values are converted with the type"
    assert "nothing to change" in dictionary(runner, "import", str(path)).output


def test_a_type_change_that_would_strand_values_refuses_the_file(runner, tmp_path):
    Customer(name="Ann", level="Customer", location="Annex").save()
    path = edited(runner, tmp_path,
                  lambda data: field(data, "customer", "location").update(type="integer"))
    location = next(i for i, f in enumerate(json.loads(path.read_text())["fields"])
                    if f["name"] == "location")
    assert_refused_and_nothing_changed(runner, tmp_path, path, [
        f"fields[{location}] (customer.location): "])
    assert Customer.objects.get(name="Ann").location == "Annex"


# -- what the file import used to let through ----------------------------------------------

def test_new_fields_with_bad_names_no_entity_or_a_broken_pattern_are_refused(runner, tmp_path):
    new = [{"entity": "customer", "name": "bad$name", "label": "Bad", "type": "text"},
           {"entity": "customer", "name": "validate", "label": "Validate", "type": "text"},
           {"entity": "ticket", "name": "summary", "label": "Summary", "type": "text"},
           {"entity": "customer", "name": "code", "label": "Code", "type": "text",
            "pattern": "([A"}]
    first = len(json.loads(exported(runner, tmp_path))["fields"])

    def add(data):
        data["fields"] += new
        field(data, "customer", "location")["label"] = "Site"  # fine, but not applied alone

    path = edited(runner, tmp_path, add)
    assert_refused_and_nothing_changed(runner, tmp_path, path, [
        f"fields[{first}] (customer.bad$name): 'bad$name' cannot be a field name: use 1 to 40 "
        f"lower-case letters",
        f"fields[{first + 1}] (customer.validate): 'validate' is reserved by Dictadmin; "
        f"choose another name.",
        f"fields[{first + 2}] (ticket.summary): There is no entity 'ticket'.",
        f"fields[{first + 3}] (customer.code): The pattern"])


def test_an_entity_the_dictionary_lacks_is_refused(runner, tmp_path):
    def ticket(data):
        data["entities"].append({"name": "ticket", "singular": "Ticket", "plural": "Tickets",
                                 "levels": [{"name": "Ticket", "singular": "Ticket",
                                             "plural": "Tickets"}]})
        data["layouts"].append({"entity": "ticket", "level": "Ticket",
                                "sections": [{"title": "Ticket", "fields": ["name"]}]})

    path = edited(runner, tmp_path, ticket)
    result = dictionary(runner, "import", str(path))
    assert "there is no entity 'ticket'" in result.output.lower()
    assert_refused_and_nothing_changed(runner, tmp_path, path, [
        "entities[2] (ticket): There is no entity 'ticket': a dictionary file can change the "
        "words of the existing entities (contact, customer) but cannot add one.",
        "layouts[3] (ticket.Ticket): There is no Ticket layout for ticket"])


def test_a_layout_that_drops_a_mandatory_field_is_refused(runner, tmp_path):
    def drop_name(data):
        layout(data, "customer", "Customer")["sections"][0]["fields"].remove("name")
        field(data, "customer", "location")["label"] = "Site"

    path = edited(runner, tmp_path, drop_name)
    assert_refused_and_nothing_changed(runner, tmp_path, path, [
        "layouts[1] (customer.Customer): Mandatory fields must stay on the Customer form: "
        "Name."])


def test_a_field_made_mandatory_that_the_files_layout_omits_is_refused(runner, tmp_path):
    def mandatory_on_orgs(data):
        field(data, "customer", "phone_2")["mandatory"] = ["Org"]

    path = edited(runner, tmp_path, mandatory_on_orgs)
    assert_refused_and_nothing_changed(runner, tmp_path, path, [
        "layouts[2] (customer.Org): Mandatory fields must stay on the Org form: Phone 2."])

    def and_placed(data):
        mandatory_on_orgs(data)
        layout(data, "customer", "Org")["sections"][1]["fields"].append("phone_2")

    result = dictionary(runner, "import", str(edited(runner, tmp_path, and_placed)))
    assert result.exit_code == 0, result.output
    assert "phone_2" in LayoutDefinition.objects.get(entity="customer",
                                                     level="Org").sections[1].fields


def test_a_mandatory_field_taken_off_a_layout_and_made_optional_in_one_file(runner, tmp_path):
    """Judged against the dictionary as the file leaves it: fields are written first."""
    update_field("customer", "department", mandatory=["Customer"])

    def optional_and_off(data):
        field(data, "customer", "department")["mandatory"] = []
        layout(data, "customer", "Customer")["sections"][0]["fields"].remove("department")

    result = dictionary(runner, "import", str(edited(runner, tmp_path, optional_and_off)))
    assert result.exit_code == 0, result.output
    assert "department" not in LayoutDefinition.objects.get(
        entity="customer", level="Customer").sections[0].fields


def test_a_field_added_and_placed_in_a_layout_by_the_same_file_is_imported(runner, tmp_path):
    def seats(data):
        data["fields"].append({"entity": "customer", "name": "seats", "label": "Seats",
                               "type": "integer", "mandatory": ["Customer"], "minimum": 1})
        layout(data, "customer", "Customer")["sections"][2]["fields"].append("seats")

    result = dictionary(runner, "import", str(edited(runner, tmp_path, seats)))
    assert result.exit_code == 0, result.output
    assert "add field customer.seats" in result.output
    assert "Applied 2 changes." in result.output
    added = FieldDefinition.objects.get(entity="customer", name="seats")
    assert (added.label, added.mandatory, added.minimum, added.system) == \
        ("Seats", ["Customer"], 1, False)
    assert "seats" in LayoutDefinition.objects.get(entity="customer",
                                                   level="Customer").sections[2].fields
    assert [c.summary.split(":")[0] for c in DictionaryChange.objects.order_by("at")] == \
        ["file import", "file import"]


def test_every_problem_in_a_file_is_listed_with_its_place(runner, tmp_path):
    def many(data):
        data["entities"][1]["levels"][1]["plural"] = " "
        data["entities"][0]["levels"].append({"name": "Team", "singular": "Team",
                                              "plural": "Teams"})
        field(data, "customer", "archived")["retired"] = True
        field(data, "customer", "department")["colour"] = "red"
        field(data, "customer", "location")["type"] = "spreadsheet"
        data["fields"].append({"entity": "customer", "name": "Bad Name", "label": "X",
                               "type": "text"})
        data["fields"].append({"entity": "customer", "name": "seats", "label": "Seats",
                               "type": "integer", "system": True})
        data["fields"].append({"entity": "customer", "name": "news", "label": "Again",
                               "type": "text"})
        layout(data, "customer", "Customer")["sections"][1]["fields"].append("fax")
        layout(data, "customer", "Org")["sections"][0]["fields"].remove("level")
        layout(data, "contact", "Contact")["sections"][0]["title"] = ""

    data = json.loads(exported(runner, tmp_path))
    n = len(data["fields"])
    index = {(f["entity"], f["name"]): i for i, f in enumerate(data["fields"])}
    path = edited(runner, tmp_path, many)
    news = index[("customer", "news")]
    assert_refused_and_nothing_changed(runner, tmp_path, path, [
        "entities[0] (contact): The Levels of contact are Contact, in that order: a file can "
        "change their words but cannot add, remove or reorder them.",
        "entities[1] (customer): The Org Level needs a singular and a plural word.",
        f"fields[{index[('customer', 'archived')]}] (customer.archived): Archive is a system "
        f"field: it can be relabelled but not retired.",
        f"fields[{index[('customer', 'department')]}] (customer.department): These cannot be "
        f"set on a field: colour.",
        f"fields[{index[('customer', 'location')]}] (customer.location): These settings are "
        f"not valid: type: Value must be one of",
        f"fields[{n}] (customer.Bad Name): 'Bad Name' cannot be a field name",
        f"fields[{n + 1}] (customer.seats): Only the fields Dictadmin ships are system fields",
        f"fields[{n + 2}] (customer.news): The file defines field customer.news twice (also "
        f"fields[{news}] (customer.news)); keep one.",
        "layouts[0] (contact.Contact): Every section needs a title.",
        "layouts[1] (customer.Customer): Section 'Contact details' names fields that do not "
        "exist: fax.",
        "layouts[2] (customer.Org): The Level field must stay on the form: it switches the "
        "layout.",
    ])


# -- a plan that says it applies, applies ------------------------------------------------

def new_field(data):
    data["fields"].append({"entity": "contact", "name": "badge", "label": "Badge",
                           "type": "text", "max_length": 12})


def changed_field(data):
    field(data, "customer", "news").update(label="Notice", help_text="Shown when logging")


def layout_title(data):
    layout(data, "customer", "Customer")["sections"][1]["title"] = "How to reach them"


def level_words(data):
    entity = next(e for e in data["entities"] if e["name"] == "customer")
    entity["levels"][0].update(singular="Tenant", plural="Tenants")
    entity["levels"][1].update(singular="Landlord", plural="Landlords")
    entity.update(singular="Tenant", plural="Tenants")


def retired_field(data):
    data["fields"] = [f for f in data["fields"] if (f["entity"], f["name"]) != ("contact",
                                                                               "job_title")]


def stored_badge():
    badge = FieldDefinition.objects(entity="contact", name="badge").first()
    return badge is not None and badge.max_length == 12


def stored_notice():
    news = FieldDefinition.objects.get(entity="customer", name="news")
    return (news.label, news.help_text) == ("Notice", "Shown when logging")


def stored_title():
    sections = LayoutDefinition.objects.get(entity="customer", level="Customer").sections
    return sections[1].title == "How to reach them" and sections[1].fields[0] == "phone_1"


def stored_words():
    customer = EntityDefinition.objects.get(name="customer")
    return [(lv.singular, lv.plural) for lv in customer.levels] == \
        [("Tenant", "Tenants"), ("Landlord", "Landlords")] and customer.plural == "Tenants"


def stored_retired():
    return FieldDefinition.objects.get(entity="contact", name="job_title").retired


@pytest.mark.parametrize("edit, stored", [
    (new_field, stored_badge),
    (changed_field, stored_notice),
    (layout_title, stored_title),
    (level_words, stored_words),
    (retired_field, stored_retired),
], ids=["new field", "changed field", "layout title", "Level words", "retired field"])
def test_the_dry_run_plan_is_what_the_import_then_does(runner, tmp_path, edit, stored):
    path = edited(runner, tmp_path, edit)
    number = version()
    dry = dictionary(runner, "import", "--dry-run", str(path))
    assert dry.exit_code == 0, dry.output
    assert not stored() and version() == number, "a dry run changes nothing"
    planned = plan_lines(dry.output)
    assert planned

    real = dictionary(runner, "import", str(path))
    assert real.exit_code == 0 and real.exception is None, real.output
    assert plan_lines(real.output) == planned
    assert f"Applied {len(planned)} changes." in real.output
    assert stored()
    assert version() > number
    recorded = DictionaryChange.objects.order_by("at")
    assert recorded.count() == 1 and recorded[0].summary.startswith("file import: ")
    assert filing.plan(path).empty, "the dictionary now matches the file"


def test_level_words_by_file_reach_the_menu(client, tmp_path):
    runner = client.application.test_cli_runner()
    path = edited(runner, tmp_path, level_words)
    assert "Dry run: " in dictionary(runner, "import", "--dry-run", str(path)).output
    assert dictionary(runner, "import", str(path)).exit_code == 0
    html = client.get("/admin/").get_data(as_text=True)
    assert "Tenants" in html and "Landlords" in html


def test_a_write_that_fails_half_way_says_what_was_applied(runner, tmp_path, monkeypatch):
    def failing(*args, **kwargs):
        raise RuntimeError("the store went away")

    def both(data):
        field(data, "customer", "location")["label"] = "Site"
        layout_title(data)

    path = edited(runner, tmp_path, both)
    location = next(i for i, f in enumerate(json.loads(path.read_text())["fields"])
                    if f["name"] == "location")
    monkeypatch.setattr(filing, "arrange_layout", failing)
    result = dictionary(runner, "import", str(path))
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert (f"The import stopped at layouts[1] (customer.Customer): RuntimeError: the store "
            f"went away. Applied before it (each is in the History): fields[{location}] "
            f"(customer.location). Not applied: layouts[1] (customer.Customer). Export the "
            f"dictionary to see where it stands, then import the file again.") \
        in " ".join(result.output.split())
    assert FieldDefinition.objects.get(entity="customer", name="location").label == "Site"


def test_a_definition_saved_by_someone_else_after_the_plan_is_not_overwritten(runner, tmp_path):
    path = edited(runner, tmp_path,
                  lambda data: field(data, "customer", "location").update(label="Site"))
    planned = filing.plan(path)
    update_field("customer", "location", label="Building")
    with pytest.raises(filing.PartlyApplied, match="Building was changed by someone else"):
        filing.execute(planned)
    assert FieldDefinition.objects.get(entity="customer", name="location").label == "Building"


def test_a_type_change_while_another_was_interrupted_refuses_the_file_before_any_write(
        runner, tmp_path):
    """The file's check of a type change is the type change's own: an interrupted change
    of the same field refuses the whole file, where it used to be found only when its step
    ran, after the steps before it had been written."""
    from datetime import datetime, timedelta

    from bson import ObjectId

    from admin_app.customising import retype

    retype.TypeChange(entity="customer", name="location", label="Location", old_type="text",
                      new_type="decimal", state="swapping", revision=1, history=ObjectId(),
                      owner="elsewhere:1", heartbeat=datetime(2020, 1, 1),
                      started_at=datetime(2020, 1, 1) - timedelta(minutes=1)).save()

    def both(data):
        field(data, "customer", "department")["label"] = "Team"
        field(data, "customer", "location")["type"] = "integer"

    path = edited(runner, tmp_path, both)
    location = next(i for i, f in enumerate(json.loads(path.read_text())["fields"])
                    if f["name"] == "location")
    assert_refused_and_nothing_changed(runner, tmp_path, path, [
        f"fields[{location}] (customer.location): A change of the type of Location (text → "
        f"decimal) was interrupted; run `flask --app admin_app dictionary recover`"])
    assert FieldDefinition.objects.get(entity="customer", name="department").label \
        == "Department"
