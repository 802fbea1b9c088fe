"""Who is who in a load: records already stored, records met earlier in the same load
(across batches, in dry runs too), and references between them."""

import json

import pytest

from admin_app.models import Contact, Customer

from .test_seed import seed, write


@pytest.fixture
def store_runner(store_app):
    return store_app.test_cli_runner()


def jsonl(tmp_path, records, name="load.jsonl"):
    return write(tmp_path, "\n".join(json.dumps(r) for r in records), name)


def test_records_already_stored_are_matched_by_their_keys(store_runner, tmp_path):
    acme = Customer(name="Acme", level="Org", external_id="A-1").save()
    Customer(name="Ann", level="Customer", email="ann@example.com", location="HQ").save()
    result = seed(store_runner, "load", write(tmp_path, {"customers": [
        {"email": "ANN@Example.com", "name": "Ann", "org": "A-1", "department": "Audit"},
        {"email": "bob@example.com", "name": "Bob", "org": "Acme"}]}))
    assert result.exit_code == 0, result.output
    assert "1 created, 1 updated, 0 unchanged, 0 failed" in result.output
    ann, bob = Customer.objects.get(name="Ann"), Customer.objects.get(name="Bob")
    assert (ann.org, ann.department, ann.location, ann.email) == (
        acme.pk, "Audit", "HQ", "ann@example.com")
    assert bob.org == acme.pk
    assert Customer.objects(level="Customer").count() == 2


def test_a_name_shared_by_two_stored_orgs_is_refused_as_ambiguous(store_runner, tmp_path):
    Customer(name="Twin", level="Org").save()
    Customer(name="Twin", level="Org", external_id="T-2").save()
    result = seed(store_runner, "load", write(tmp_path, {"customers": [
        {"name": "Ann", "org": "Twin"}, {"name": "Bob", "org": "T-2"}]}))
    assert result.exit_code == 1
    assert "customers #1 (Ann): Org: 'Twin' matches more than one Org; use its external_id." \
        in result.output
    assert Customer.objects.get(name="Bob").org == Customer.objects.get(external_id="T-2").pk
    updated = seed(store_runner, "load", write(tmp_path, {"orgs": [{"name": "Twin"}]}, "o.json"))
    assert "orgs #1 (Twin): its name matches more than one existing record; add an " \
           "external_id to say which." in updated.output


@pytest.mark.parametrize("dry_run", [False, True])
def test_duplicates_and_references_are_found_across_batches(store_runner, tmp_path, dry_run):
    """A batch is 1,000 records: the duplicate and the reference sit far from the original."""
    orgs = [{"entity": "orgs", "name": f"Org {i:04d}"} for i in range(1200)]
    orgs[1150]["name"] = "Org 0002"
    customers = [{"entity": "customers", "name": f"C{i}", "email": f"c{i}@example.com",
                  "org": "Org 1199"} for i in range(1100)]
    customers[1050]["email"] = "C3@EXAMPLE.COM"
    contacts = [{"entity": "contacts", "name": "Pat", "customer": "c1099@example.com"},
                {"entity": "contacts", "name": "Pat", "customer": "c1098@example.com"},
                {"entity": "contacts", "name": "Pat", "customer": "c1099@example.com"}]
    path = jsonl(tmp_path, contacts + customers + orgs)
    result = seed(store_runner, "load", *(["--dry-run"] if dry_run else []), path)
    assert result.exit_code == 1
    assert "load.jsonl line 2254 (Org 0002): duplicate of load.jsonl line 1106 (same name) " \
           "in this load." in result.output
    assert "load.jsonl line 1054 (C3@EXAMPLE.COM): duplicate of load.jsonl line 7 (same " \
           "email) in this load." in result.output
    assert "load.jsonl line 3 (Pat): duplicate of load.jsonl line 1 (same customer and name) " \
           "in this load." in result.output
    assert "2300 created, 0 updated, 0 unchanged, 3 failed" in result.output
    if dry_run:
        assert Customer.objects.count() == 0 and Contact.objects.count() == 0
    else:
        last = Customer.objects.get(name="Org 1199")
        assert Customer.objects(level="Customer", org=last.pk).count() == 1099
        assert Contact.objects(name="Pat").count() == 2
        again = seed(store_runner, "load", path)
        assert "0 created, 0 updated, 2300 unchanged, 3 failed" in again.output


def test_a_contact_is_matched_by_its_customer_and_name(store_runner, tmp_path):
    ann = Customer(name="Ann", level="Customer", email="ann@example.com").save()
    bob = Customer(name="Bob", level="Customer", email="bob@example.com").save()
    Contact(name="Pat", customer=ann.pk, job_title="Clerk").save()
    result = seed(store_runner, "load", write(tmp_path, {"contacts": [
        {"name": "Pat", "customer": "ann@example.com", "job_title": "Manager"},
        {"name": "Pat", "customer": "bob@example.com", "job_title": "Driver"}]}))
    assert "1 created, 1 updated" in result.output, result.output
    assert Contact.objects.get(customer=ann.pk).job_title == "Manager"
    assert Contact.objects.get(customer=bob.pk).job_title == "Driver"


def test_a_reference_means_the_record_of_the_same_load_first(store_runner, tmp_path):
    Customer(name="Acme", level="Org", external_id="A-1").save()
    result = seed(store_runner, "load", write(tmp_path, {
        "orgs": [{"name": "Acme", "external_id": "A-2"}],
        "customers": [{"name": "Ann", "org": "Acme"}]}))
    assert result.exit_code == 0, result.output
    assert Customer.objects.get(name="Ann").org == Customer.objects.get(external_id="A-2").pk
    again = seed(store_runner, "load", write(tmp_path, {
        "customers": [{"name": "Bob", "org": "Acme"}]}, "later.json"))
    assert "customers #1 (Bob): Org: 'Acme' matches more than one Org; use its external_id." \
        in again.output
