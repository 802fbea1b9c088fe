"""`flask dictionary export / import`: the dictionary as a reviewable file."""

import json

import mongoengine

from admin_app.dictionary.documents import FieldDefinition
from admin_app.models import Customer

from .conftest import make_app


def dictionary(runner, *args):
    return runner.invoke(args=["dictionary", *args])


def test_export_is_stable_and_round_trips_into_an_empty_store(app, tmp_path):
    runner = app.test_cli_runner()
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    assert dictionary(runner, "export", str(first)).exit_code == 0
    data = json.loads(first.read_text())
    assert [f["name"] for f in data["fields"] if f["entity"] == "contact"] == \
        sorted(f["name"] for f in data["fields"] if f["entity"] == "contact")

    empty = make_app(tmp_path / "other")
    with empty.app_context():
        for model in ("dictionary_entities", "dictionary_fields", "dictionary_layouts"):
            Customer._get_db()[model].delete_many({})
    other = empty.test_cli_runner()
    result = dictionary(other, "import", str(first))
    assert result.exit_code == 0, result.output
    assert "Applied 26 changes." in result.output
    assert dictionary(other, "export", str(second)).exit_code == 0
    assert first.read_text() == second.read_text()
    mongoengine.disconnect()


def test_dry_run_prints_the_plan_with_its_effect_and_changes_nothing(app, runner, tmp_path):
    Customer(name="No dept", level="Customer").save()
    Customer(name="Has dept", level="Customer", department="IT").save()
    path = tmp_path / "dict.json"
    dictionary(runner, "export", str(path))
    data = json.loads(path.read_text())
    dept = next(f for f in data["fields"] if f["name"] == "department")
    dept.update(label="Cost Centre", mandatory=["Customer"])
    path.write_text(json.dumps(data))
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
    path = tmp_path / "dict.json"
    dictionary(runner, "export", str(path))
    data = json.loads(path.read_text())
    data["fields"] = [f for f in data["fields"] if f["name"] != "phone_2"]
    path.write_text(json.dumps(data))
    result = dictionary(runner, "import", str(path))
    assert "retire field customer.phone_2 (not in the file; 1 records keep their values)" \
        in result.output
    assert FieldDefinition.objects.get(entity="customer", name="phone_2").retired is True
    assert Customer.objects.get(name="Ann").phone_2 == "0123"


def test_a_file_that_is_not_a_dictionary_is_refused(runner, tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"orgs": []}')
    result = dictionary(runner, "import", str(path))
    assert result.exit_code == 1
    assert "bad.json must be an object with the keys entities, fields, layouts." in result.output


def test_file_import_is_recorded_in_the_history(runner, tmp_path):
    from admin_app.dictionary.history import DictionaryChange

    path = tmp_path / "dict.json"
    dictionary(runner, "export", str(path))
    data = json.loads(path.read_text())
    next(f for f in data["fields"] if f["name"] == "location")["label"] = "Site"
    path.write_text(json.dumps(data))
    dictionary(runner, "import", str(path))
    change = DictionaryChange.objects.get(name="location")
    assert change.summary == "file import: label: 'Location' → 'Site'"
    assert change.actor == "command line"


def test_file_import_gets_the_screens_guard_rails(runner, tmp_path):
    Customer(name="Ann", level="Customer", location="12").save()
    path = tmp_path / "dict.json"
    dictionary(runner, "export", str(path))
    data = json.loads(path.read_text())
    fields = {(f["entity"], f["name"]): f for f in data["fields"]}
    fields[("customer", "location")]["type"] = "integer"
    fields[("customer", "phone_1")]["label"] = "Mobile"
    fields[("customer", "email")]["pattern"] = "([A"
    path.write_text(json.dumps(data))
    refused = dictionary(runner, "import", str(path))
    assert refused.exit_code == 1
    assert "The pattern is not a valid regular expression" in refused.output
    assert FieldDefinition.objects.get(entity="customer", name="phone_1").label == "Phone 1"

    del fields[("customer", "email")]["pattern"]
    path.write_text(json.dumps(data))
    assert dictionary(runner, "import", str(path)).exit_code == 0
    assert Customer.objects.get(name="Ann").location == 12, "values are converted with the type"
    assert "nothing to change" in dictionary(runner, "import", str(path)).output
