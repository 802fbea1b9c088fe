"""`flask seed load` / `seed export`: validated by the live dictionary, nothing lost."""

import json
from pathlib import Path

import pytest

from admin_app.customising.fields import update_field
from admin_app.dictionary.documents import FieldDefinition, LayoutDefinition, bump_version
from admin_app.models import Contact, Customer

ROOT = Path(__file__).resolve().parents[1]
DEMO = str(ROOT / "seed" / "demo.json")


def write(tmp_path, data, name="load.json"):
    path = tmp_path / name
    if isinstance(data, (bytes, str)):
        path.write_bytes(data if isinstance(data, bytes) else data.encode())
    else:
        path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def seed(runner, *args):
    return runner.invoke(args=["seed", *args])


@pytest.fixture
def store_runner(store_app):
    return store_app.test_cli_runner()


def test_demo_loads_and_loading_again_reports_all_unchanged(store_runner):
    first = seed(store_runner, "load", DEMO)
    assert first.exit_code == 0, first.output
    assert "17 created, 0 updated, 0 unchanged, 0 failed" in first.output
    assert "records/s" in first.output
    assert Customer.objects(level="Customer").count() == 7
    again = seed(store_runner, "load", DEMO)
    assert again.exit_code == 0
    assert "0 created, 0 updated, 17 unchanged, 0 failed" in again.output
    assert "Nothing changed: every record was already loaded." in again.output
    assert Customer.objects.count() == 10


def fifty_customers_three_bad():
    customers = [{"name": f"Customer {i:02d}", "email": f"c{i:02d}@example.com",
                  "org": "Acme"} for i in range(50)]
    customers[4]["email"] = "not-an-email"
    customers[19]["name"] = ""
    customers[33]["expiry_date"] = "31/12/2026"
    return {"orgs": [{"name": "Acme"}], "customers": customers}


def test_bad_records_are_reported_and_the_rest_load(runner, tmp_path):
    result = seed(runner, "load", write(tmp_path, fifty_customers_three_bad()))
    assert result.exit_code == 1
    assert Customer.objects(level="Customer").count() == 47
    assert "load.json customers #5 (not-an-email): Email: Email must be an email address." \
        in result.output
    assert "load.json customers #20 (c19@example.com): Name: Name is mandatory." in result.output
    assert ("load.json customers #34 (c33@example.com): Expiry Date: Expiry Date must be a date "
            "written YYYY-MM-DD.") in result.output
    assert "48 created, 0 updated, 0 unchanged, 3 failed" in result.output


def test_atomic_load_writes_nothing_when_a_record_fails(runner, tmp_path):
    result = seed(runner, "load", "--atomic", write(tmp_path, fifty_customers_three_bad()))
    assert result.exit_code == 1
    assert "3 failed, so with --atomic nothing was written" in result.output
    assert Customer.objects.count() == 0


def test_dry_run_writes_nothing(runner, tmp_path):
    result = seed(runner, "load", "--dry-run", DEMO)
    assert result.exit_code == 0
    assert "Dry run: nothing was written." in result.output
    assert "17 created" in result.output
    assert Customer.objects.count() == 0 and Contact.objects.count() == 0


def test_mandatory_flag_and_label_from_the_dictionary_apply_to_the_next_load(app, runner,
                                                                             tmp_path):
    with app.app_context():
        update_field("customer", "department", label="Cost Centre", mandatory=["Customer"])
    result = seed(runner, "load", write(tmp_path, {"customers": [{"name": "Ann"}],
                                                   "orgs": [{"name": "Org without dept"}]}))
    assert "customers #1 (Ann): Cost Centre: Cost Centre is mandatory." in result.output
    assert Customer.objects(level="Org").count() == 1, "mandatory for Customer only"
    assert Customer.objects(level="Customer").count() == 0


def test_orgs_load_before_customers_whatever_the_order(runner, tmp_path):
    lines = "\n".join(json.dumps(r) for r in [
        {"entity": "contacts", "name": "Pat", "customer": "ann@example.com"},
        {"entity": "customers", "name": "Ann", "email": "ann@example.com", "org": "Acme"},
        {"entity": "orgs", "name": "Acme"},
    ])
    result = seed(runner, "load", write(tmp_path, lines, "mixed.jsonl"))
    assert result.exit_code == 0, result.output
    acme = Customer.objects.get(name="Acme")
    ann = Customer.objects.get(name="Ann")
    assert ann.org == acme.pk and Contact.objects.get(name="Pat").customer == ann.pk


def test_update_sets_only_the_given_fields(runner, tmp_path):
    seed(runner, "load", write(tmp_path, {"customers": [
        {"name": "Ann", "email": "ann@example.com", "department": "Finance", "location": "HQ"}]}))
    result = seed(runner, "load", write(tmp_path, {"customers": [
        {"email": "ANN@example.com", "name": "Ann", "department": "Audit"}]}, "two.json"))
    assert "0 created, 1 updated" in result.output
    ann = Customer.objects.get(name="Ann")
    assert (ann.department, ann.location) == ("Audit", "HQ")
    skipped = seed(runner, "load", "--on-existing", "skip", write(tmp_path, {"customers": [
        {"email": "ann@example.com", "name": "Ann", "department": "Legal"}]}, "three.json"))
    assert "1 skipped" in skipped.output
    assert Customer.objects.get(name="Ann").department == "Audit"


def test_export_load_export_round_trip_is_identical_with_custom_fields(app, tmp_path):
    with app.app_context():
        FieldDefinition(entity="customer", name="contract_start", label="Contract Start",
                        type="date").save()
        FieldDefinition(entity="customer", name="seats", label="Seats", type="integer").save()
        layout = LayoutDefinition.objects.get(entity="customer", level="Customer")
        layout.sections[0].fields += ["contract_start", "seats"]
        layout.save()
        bump_version()
    runner = app.test_cli_runner()
    data = json.loads(Path(DEMO).read_text(encoding="utf-8"))
    data["customers"][0].update(contract_start="2026-02-01", seats=12)
    data["customers"].append({"name": "Gone", "email": "gone@example.com", "archived": True})
    assert seed(runner, "load", write(tmp_path, data)).exit_code == 0
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    assert seed(runner, "export", str(first), "--include-archived").exit_code == 0
    exported = json.loads(first.read_text())
    alice = next(c for c in exported["customers"] if c["name"] == "Alice Carter")
    assert (alice["contract_start"], alice["seats"], alice["org"]) == \
        ("2026-02-01", 12, "Acme Manufacturing")
    Customer.objects.delete(), Contact.objects.delete()
    for model in ("contracts", "slas"):
        Customer._get_db()[model].delete_many({})
    assert seed(runner, "load", str(first)).exit_code == 0
    assert seed(runner, "export", str(second), "--include-archived").exit_code == 0
    assert first.read_text() == second.read_text()


def test_export_leaves_out_archived_unless_asked_and_filters_entity(runner, tmp_path):
    seed(runner, "load", write(tmp_path, {"orgs": [{"name": "Live"},
                                                   {"name": "Old", "archived": True}],
                                          "customers": [{"name": "Ann"}]}))
    out = tmp_path / "orgs.jsonl"
    result = seed(runner, "export", str(out), "--entity", "orgs")
    assert "Exported 1 records" in result.output
    assert [json.loads(line) for line in out.read_text().splitlines()] == \
        [{"entity": "orgs", "name": "Live"}]


# -- bad input: a clear message and nothing lost ------------------------------------------

def test_malformed_json_names_line_and_column(runner, tmp_path):
    result = seed(runner, "load", write(tmp_path, '{"orgs": [\n  {"name": "A"},\n  {"name" "B"}]}'))
    assert result.exit_code == 2
    assert "Nothing was loaded: load.json is not valid JSON: Expecting ':' delimiter at line 3, " \
           "column 11." in result.output
    assert Customer.objects.count() == 0


def test_top_level_must_be_an_object(runner, tmp_path):
    result = seed(runner, "load", write(tmp_path, [{"name": "A"}]))
    assert result.exit_code == 2
    assert "The top level of load.json must be an object keyed by entity (contracts, slas, " \
           "orgs, customers, contacts), not a list." in result.output


def test_unknown_entity_is_refused_before_anything_loads(runner, tmp_path):
    result = seed(runner, "load", write(tmp_path, {"orgs": [{"name": "A"}], "widgets": []}))
    assert result.exit_code == 2
    assert "load.json has unknown entity 'widgets'; expected contracts" in result.output
    assert Customer.objects.count() == 0


def test_unknown_fields_are_named_unless_ignored(runner, tmp_path):
    path = write(tmp_path, {"customers": [{"name": "Ann", "shoe_size": 9, "$where": "1"}]})
    result = seed(runner, "load", path)
    assert "customers #1 (Ann): unknown fields $where, shoe_size; check the names" \
        in result.output
    assert Customer.objects.count() == 0
    ignored = seed(runner, "load", "--ignore-unknown", path)
    assert ignored.exit_code == 0
    ann = Customer.objects.get(name="Ann")
    assert not hasattr(ann, "shoe_size") or ann.shoe_size is None


def test_wrong_types_are_reported_with_labels(runner, tmp_path):
    result = seed(runner, "load", write(tmp_path, {"customers": [
        {"name": 42, "department": ["a"], "archived": "yes"}]}))
    for line in ("Name: Name must be text, not a number, list or object.",
                 "Department: Department must be text, not a number, list or object.",
                 "Archive: Archive must be true or false."):
        assert line in result.output
    assert Customer.objects.count() == 0


def test_duplicate_natural_key_in_one_file(runner, tmp_path):
    result = seed(runner, "load", write(tmp_path, {"orgs": [{"name": "Acme"}, {"name": "Acme"}]}))
    assert "orgs #2 (Acme): duplicate of load.json orgs #1 (same name) in this load." \
        in result.output
    assert Customer.objects(name="Acme").count() == 1


def test_reference_to_a_missing_org(runner, tmp_path):
    path = write(tmp_path, {"customers": [{"name": "Ann", "org": "Nowhere Ltd"}]})
    result = seed(runner, "load", path)
    assert "customers #1 (Ann): Org: 'Nowhere Ltd' does not match any Org; load it first or " \
           "use --create-missing-orgs." in result.output
    assert Customer.objects.count() == 0
    created = seed(runner, "load", "--create-missing-orgs", path)
    assert created.exit_code == 0, created.output
    assert Customer.objects.get(name="Ann").org == Customer.objects.get(name="Nowhere Ltd").pk


def test_operator_values_are_rejected_never_queried(runner, tmp_path):
    Customer(name="Existing", level="Org").save()
    result = seed(runner, "load", write(tmp_path, {
        "orgs": [{"name": {"$gt": ""}}],
        "customers": [{"name": "Ann", "org": {"$gt": ""}}]}))
    assert "orgs #1: Name: Name must be text, not a number, list or object." in result.output
    assert "customers #1 (Ann): Org: Org must be text, not a number, list or object." \
        in result.output
    assert Customer.objects.count() == 1


def test_file_that_is_not_utf8(runner, tmp_path):
    result = seed(runner, "load", write(tmp_path, '{"orgs": [{"name": "Caf\xe9"}]}'
                                        .encode("latin-1")))
    assert result.exit_code == 2
    assert "load.json is not UTF-8 text (byte 0xe9 at offset 23); save it as UTF-8" \
        in result.output


def test_bad_json_lines_are_reported_and_the_good_lines_load(runner, tmp_path):
    lines = b'{"entity": "orgs", "name": "Acme"}\n{oops\n\xff\xfe\n[1]\n' \
            b'{"entity": "planets", "name": "Mars"}\n{"entity": "orgs", "name": "Globex"}\n'
    result = seed(runner, "load", write(tmp_path, lines, "orgs.jsonl"))
    assert result.exit_code == 1
    for line in ("orgs.jsonl line 2: not valid JSON: Expecting property name enclosed in "
                 "double quotes at column 2.",
                 "orgs.jsonl line 3: not UTF-8 text (invalid start byte at byte 0).",
                 "orgs.jsonl line 4: must be a JSON object, not a list.",
                 "orgs.jsonl line 5: has unknown entity 'planets'; expected contracts"):
        assert line in result.output
    assert sorted(c.name for c in Customer.objects) == ["Acme", "Globex"]


def test_missing_file(runner, tmp_path):
    result = seed(runner, "load", str(tmp_path / "nope.json"))
    assert result.exit_code == 2
    assert "nope.json does not exist or is not a file." in result.output


@pytest.mark.parametrize("profile", ["itsm", "csm", "cafm"])
def test_each_solution_profile_demo_file_loads_cleanly(runner, profile):
    path = ROOT / "seed" / "profiles" / f"demo-{profile}.json"
    result = seed(runner, "load", "--atomic", str(path))
    assert result.exit_code == 0, result.output
    assert "0 failed" in result.output and Customer.objects.count() > 0


def test_every_kind_the_importer_writes_reads_back_through_its_model(store_runner, tmp_path):
    """The importer stamps archived and updated_at on every kind; Contracts and SLAs once
    lacked updated_at, and every page showing one answered 500 after `make run`."""
    from admin_app.importer.kinds import KINDS

    path = write(tmp_path, {
        "contracts": [{"name": "Gold"}], "slas": [{"name": "Premium", "response_hours": 1}],
        "orgs": [{"name": "Acme", "contract": "Gold", "sla": "Premium"}],
        "customers": [{"name": "Ann", "email": "ann@acme.example", "org": "Acme"}],
        "contacts": [{"name": "Priya", "customer": "Acme"}]})
    assert seed(store_runner, "load", path).exit_code == 0
    for kind in KINDS:
        written = kind.model.objects(**({"level": kind.level} if kind.level else {})).first()
        assert written is not None, kind.name
        assert written.archived is False and written.updated_at is not None, kind.name
