"""The seed load writes through the record write path: history of every record it
changes (who, the way in, the batch), only the fields a file gives, and an update
checked on the record as it will be. Both stores."""

from __future__ import annotations

import json

import pytest

from admin_app.customising.fields import update_field
from admin_app.importer.jobs import SeedJob
from admin_app.models import Customer
from admin_app.records import RecordChange

from .test_seed_upload import confirm, upload


def write(tmp_path, data, name="load.json"):
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


@pytest.fixture
def store_runner(store_app):
    return store_app.test_cli_runner()


def load(runner, *args):
    return runner.invoke(args=["seed", "load", *args])


ANN = {"name": "Ann", "email": "ann@example.com", "department": "Finance", "location": "HQ"}


def test_a_load_records_one_created_change_set_per_record_by_the_command_line(store_runner,
                                                                               tmp_path):
    result = load(store_runner, write(tmp_path, {
        "orgs": [{"name": "Acme"}],
        "customers": [{**ANN, "org": "Acme"}, {"name": "Bo", "email": "bo@example.com"}]}))
    assert result.exit_code == 0, result.output
    stored = list(Customer.objects)
    assert len(stored) == 3
    for record in stored:
        changes = list(RecordChange.objects(record=record.pk))
        assert len(changes) == 1, record.name
        change = changes[0]
        assert change.created and change.revision == 1 == record.revision
        assert (change.who["name"], change.way) == ("command line", "import")
    ann = Customer.objects.get(name="Ann")
    assert {f["name"]: f["new"] for f in RecordChange.objects.get(record=ann.pk).fields} == {
        "name": "Ann", "email": "ann@example.com", "department": "Finance", "location": "HQ",
        "org": Customer.objects.get(name="Acme").pk, "level": "Customer", "archived": False}
    assert len({c.batch for c in RecordChange.objects}) == 1, "one load, one batch"
    assert "ann" in ann.search_keys and "financ" in ann.search_keys


def test_an_update_by_file_records_only_the_changed_fields_and_an_unchanged_load_nothing(
        store_runner, tmp_path):
    first = write(tmp_path, {"customers": [ANN]})
    assert load(store_runner, first).exit_code == 0
    ann = Customer.objects.get(name="Ann")
    again = load(store_runner, first)
    assert "0 created, 0 updated, 1 unchanged" in again.output
    assert RecordChange.objects(record=ann.pk).count() == 1
    assert Customer.objects.get(pk=ann.pk).revision == 1
    result = load(store_runner, write(tmp_path, {"customers": [
        {"email": "ann@example.com", "name": "Ann", "department": "Audit",
         "location": "HQ"}]}, "two.json"))
    assert "0 created, 1 updated" in result.output
    update = RecordChange.objects(record=ann.pk, created=False).get()
    assert [(f["name"], f["old"], f["new"], f["label"]) for f in update.fields] == [
        ("department", "Finance", "Audit", "Department")]
    assert (update.revision, update.way, update.who["name"]) == (2, "import", "command line")
    stored = Customer.objects.get(pk=ann.pk)
    assert (stored.department, stored.location, stored.revision) == ("Audit", "HQ", 2)
    assert "audit" in stored.search_keys


def test_an_update_need_not_repeat_mandatory_fields_the_record_already_holds(store_runner,
                                                                             tmp_path):
    """README: an update sets only the fields the file gives. A file naming a customer by
    email with a new Department was refused with "Name: Name is mandatory"."""
    assert load(store_runner, write(tmp_path, {"customers": [ANN]})).exit_code == 0
    result = load(store_runner, "--on-existing", "update", write(tmp_path, {"customers": [
        {"email": "ann@example.com", "department": "Audit"}]}, "two.json"))
    assert result.exit_code == 0, result.output
    assert "0 created, 1 updated, 0 unchanged, 0 failed" in result.output
    ann = Customer.objects.get(email="ann@example.com")
    assert (ann.name, ann.department, ann.location) == ("Ann", "Audit", "HQ")
    # A new record still needs every mandatory field; a blank one is refused either way.
    refused = load(store_runner, write(tmp_path, {"customers": [
        {"email": "new@example.com", "department": "Audit"},
        {"email": "ann@example.com", "name": ""}]}, "three.json"))
    assert refused.exit_code == 1
    assert "three.json customers #1 (new@example.com): Name: Name is mandatory." \
        in refused.output
    assert "three.json customers #2 (ann@example.com): Name: Name is mandatory." \
        in refused.output
    assert Customer.objects.count() == 1
    assert Customer.objects.get(email="ann@example.com").name == "Ann"


def test_an_update_leaving_a_mandatory_value_missing_is_refused_with_the_forms_message(
        store_app, store_runner, tmp_path):
    assert load(store_runner, write(tmp_path, {"customers": [
        {"name": "Ann", "email": "ann@example.com"}]})).exit_code == 0
    with store_app.app_context():
        update_field("customer", "department", label="Cost Centre", mandatory=["Customer"])
    path = write(tmp_path, {"customers": [{"email": "ann@example.com", "location": "Leeds"}]},
                 "two.json")
    for options in (["--dry-run"], ["--atomic"], []):
        result = load(store_runner, *options, path)
        assert result.exit_code == 1, options
        assert "two.json customers #1 (ann@example.com): Cost Centre: Cost Centre is " \
               "mandatory." in result.output
    assert "location" not in Customer._get_collection().find_one({"email": "ann@example.com"})
    fixed = load(store_runner, write(tmp_path, {"customers": [
        {"email": "ann@example.com", "location": "Leeds", "department": "Ops"}]}, "three.json"))
    assert fixed.exit_code == 0, fixed.output
    assert Customer.objects.get(email="ann@example.com").location == "Leeds"


def test_a_dry_run_of_updates_writes_nothing_and_records_nothing(store_runner, tmp_path):
    assert load(store_runner, write(tmp_path, {"customers": [ANN]})).exit_code == 0
    result = load(store_runner, "--dry-run", write(tmp_path, {"customers": [
        {"email": "ann@example.com", "department": "Audit"},
        {"name": "Bo"}]}, "two.json"))
    assert "1 created, 1 updated" in result.output and "Dry run" in result.output
    assert Customer.objects.count() == 1
    assert Customer.objects.get(name="Ann").department == "Finance"
    assert RecordChange.objects.count() == 1


def test_an_upload_jobs_changes_name_the_job_and_carry_its_id_as_batch(store_client):
    html = upload(store_client, {"orgs": [{"name": "Acme"}],
                                 "customers": [{"name": "Ann", "org": "Acme"}]}
                  ).get_data(as_text=True)
    assert RecordChange.objects.count() == 0, "the check writes nothing"
    response = confirm(store_client, html)
    job_id = response.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
    from .test_seed_upload import finished

    assert "Loaded 2 records" in finished(store_client, response).get_data(as_text=True)
    assert SeedJob.objects.get(pk=job_id).dry_run is False
    changes = list(RecordChange.objects)
    assert len(changes) == 2
    assert {(c.who["name"], c.who["kind"], c.batch, c.way) for c in changes} == {
        (f"import job {job_id}", "import", job_id, "import")}


def test_two_records_of_a_file_naming_one_stored_record_by_different_keys_both_apply(
        store_runner, tmp_path):
    assert load(store_runner, write(tmp_path, {"customers": [ANN]})).exit_code == 0
    result = load(store_runner, write(tmp_path, {"customers": [
        {"email": "ann@example.com", "department": "Audit"},
        {"name": "Ann", "location": "Leeds"}]}, "two.json"))
    assert result.exit_code == 0, result.output
    assert "0 created, 2 updated" in result.output
    ann = Customer.objects.get(email="ann@example.com")
    assert (ann.department, ann.location, ann.revision) == ("Audit", "Leeds", 3)
    assert [sorted(f["name"] for f in c.fields)
            for c in RecordChange.objects(record=ann.pk).order_by("revision")] == [
        ["archived", "department", "email", "level", "location", "name"], ["department"],
        ["location"]]
