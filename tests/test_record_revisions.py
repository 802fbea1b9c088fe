"""Lost-update protection: a save from a form opened before someone else's save (or an
import) keeps their change; where both changed the same field it is refused, says what
changed, and loses nothing that was typed. (The merge itself, and what the page says
of a change it kept: tests/test_form_merge.py.)"""

import json
import re
from html import unescape

import pytest

from admin_app.customising.fields import update_field
from admin_app.models import Contact, Customer

from .helpers import csrf_token, opened_state, submit

STALE = "Someone else saved this record after you opened it"
NOT_SAVED = "Your changes are below and were not saved"


def edit_url(record, view="customer"):
    return f"/admin/{view}/edit/?id={record.pk}"


def open_form(client, record, view="customer"):
    page = client.get(edit_url(record, view))
    assert page.status_code == 200
    return page.get_data(as_text=True)


def save(client, record, page, view="customer", **values):
    """Post the form on `page` back, as a browser does, with `values` typed into it."""
    return client.post(edit_url(record, view), data={
        "csrf_token": csrf_token(page), **opened_state(page), **values,
        "_continue_editing": "Save"})


def shown_value(html, name):
    match = re.search(rf'<input [^>]*id="{name}"[^>]*>', html)
    assert match, f"no {name} input"
    value = re.search(r'value="([^"]*)"', match.group(0))
    return unescape(value.group(1)) if value else ""


def is_ticked(html, name):
    return re.search(rf'<input [^>]*checked[^>]*id="{name}"|<input [^>]*id="{name}"[^>]*checked',
                     html) is not None


def stale_message(html):
    match = re.search(r'id="stale-save">(.*?)<a ', html, re.S)
    return " ".join(unescape(match.group(1)).split()) if match else None


def ann(**values):
    return Customer(name="Ann Lee", level="Customer", department="IT", **values).save()


def test_two_people_changing_different_fields_both_keep_their_change(store_client):
    record = ann()
    first, second = open_form(store_client, record), open_form(store_client, record)
    assert save(store_client, record, first, name="Ann Lee", level="Customer",
                department="Sales").status_code == 302
    assert save(store_client, record, second, name="Ann Lee-Smith", level="Customer",
                department="IT").status_code == 302
    stored = Customer.objects.get(pk=record.pk)
    assert (stored.name, stored.department, stored.revision) == ("Ann Lee-Smith", "Sales", 3)


def test_two_people_saving_one_field_the_second_is_told_and_then_saves_both(store_client):
    record = ann(location="Leeds")
    first, second = open_form(store_client, record), open_form(store_client, record)

    assert save(store_client, record, first, name="Ann Lee", level="Customer",
                department="Sales", location="York").status_code == 302
    refused = save(store_client, record, second, name="Ann Lee-Smith", level="Customer",
                   department="IT", location="Hull")
    html = refused.get_data(as_text=True)

    assert refused.status_code == 200
    assert stale_message(html) == (
        f"{STALE}: they changed Department and Location. The form now shows their "
        f"Department. You changed Location too: the form keeps yours. "
        f"{NOT_SAVED}; check them against the current values and save again.")
    assert shown_value(html, "name") == "Ann Lee-Smith"
    assert shown_value(html, "department") == "Sales"
    assert shown_value(html, "location") == "Hull"
    stored = Customer.objects.get(pk=record.pk)
    assert (stored.name, stored.department, stored.location) == ("Ann Lee", "Sales", "York")

    again = save(store_client, record, html, name=shown_value(html, "name"), level="Customer",
                 department=shown_value(html, "department"),
                 location=shown_value(html, "location"))
    assert again.status_code == 302
    stored = Customer.objects.get(pk=record.pk)
    assert (stored.name, stored.department, stored.location, stored.revision) == (
        "Ann Lee-Smith", "Sales", "Hull", 3)


def test_a_field_both_people_changed_keeps_what_you_typed(store_client):
    record = ann()
    first, second = open_form(store_client, record), open_form(store_client, record)
    save(store_client, record, first, name="Ann Lee", level="Customer", department="Sales")
    html = save(store_client, record, second, name="Ann Lee", level="Customer",
                department="Legal").get_data(as_text=True)
    assert stale_message(html) == (
        f"{STALE}: they changed Department. You changed Department too: the form keeps "
        f"yours. {NOT_SAVED}; check them against the current values and save again.")
    assert shown_value(html, "department") == "Legal"
    assert Customer.objects.get(pk=record.pk).department == "Sales"


def test_the_re_shown_form_is_refused_again_if_someone_saved_yet_again(client):
    record = ann()
    first, second = open_form(client, record), open_form(client, record)
    save(client, record, first, name="Ann Lee", level="Customer", department="Sales")
    shown = save(client, record, second, name="Ann B", level="Customer",
                 department="Legal").get_data(as_text=True)
    assert stale_message(shown).startswith(f"{STALE}: they changed Department.")
    save(client, record, open_form(client, record), name="Ann Lee", level="Customer",
         department="Ops")
    html = save(client, record, shown, name="Ann B", level="Customer",
                department="Legal").get_data(as_text=True)
    assert stale_message(html).startswith(f"{STALE}: they changed Department.")
    stored = Customer.objects.get(pk=record.pk)
    assert (stored.name, stored.department) == ("Ann Lee", "Ops")


def test_a_record_archived_meanwhile_keeps_a_change_to_another_field_and_stays_archived(
        store_client):
    record = ann()
    first, second = open_form(store_client, record), open_form(store_client, record)
    save(store_client, record, first, name="Ann Lee", level="Customer", department="IT",
         archived="y")
    saved = save(store_client, record, second, name="Ann Lee", level="Customer",
                 department="Finance")  # Archive as shown: unticked
    assert saved.status_code == 302
    page = store_client.get(saved.headers["Location"]).get_data(as_text=True)
    assert ("Saved. admin@example.com changed Archive since you opened this record; their "
            "change is kept.") in " ".join(unescape(page).split())
    stored = Customer.objects.get(pk=record.pk)
    assert (stored.archived, stored.department) == (True, "Finance")


def test_a_record_archived_meanwhile_says_so_and_keeps_what_was_typed(store_client):
    record = ann()
    first, second = open_form(store_client, record), open_form(store_client, record)
    save(store_client, record, first, name="Ann Lee", level="Customer", department="Sales",
         archived="y")
    html = save(store_client, record, second, name="Ann Lee", level="Customer",
                department="Finance").get_data(as_text=True)

    assert stale_message(html) == (
        "This record was archived by someone else while you edited it; they also changed "
        "Department. You changed Department too: the form keeps yours. "
        f"{NOT_SAVED}; save to keep the record archived with them, or untick Archive to "
        "restore it.")
    assert shown_value(html, "department") == "Finance"
    assert is_ticked(html, "archived")
    stored = Customer.objects.get(pk=record.pk)
    assert (stored.archived, stored.department) == (True, "Sales")

    restored = save(store_client, record, html, name="Ann Lee", level="Customer",
                    department="Finance")  # Archive unticked
    assert restored.status_code == 302
    stored = Customer.objects.get(pk=record.pk)
    assert (stored.archived, stored.department) == (False, "Finance")


def test_an_import_between_opening_and_saving_is_kept_unless_you_changed_that_field(
        store_client, tmp_path):
    record = ann()
    page = open_form(store_client, record)
    path = tmp_path / "update.json"
    path.write_text(json.dumps({"customers": [
        {"name": "Ann Lee", "department": "Imported"}]}))
    result = store_client.application.test_cli_runner().invoke(
        args=["seed", "load", str(path)])
    assert result.exit_code == 0, result.output

    html = save(store_client, record, page, name="Ann Lee", level="Customer",
                department="Audit", location="HQ").get_data(as_text=True)
    assert stale_message(html).startswith(f"{STALE}: they changed Department.")
    assert shown_value(html, "location") == "HQ"
    stored = Customer.objects.get(pk=record.pk)
    assert stored.department == "Imported" and getattr(stored, "location", None) is None

    saved = save(store_client, record, page, name="Ann Lee", level="Customer",
                 department="IT", location="HQ")
    assert saved.status_code == 302
    shown = " ".join(unescape(store_client.get(saved.headers["Location"])
                              .get_data(as_text=True)).split())
    assert "changed Department since you opened this record; their change is kept." in shown
    stored = Customer.objects.get(pk=record.pk)
    assert (stored.department, stored.location) == ("Imported", "HQ")


def test_revision_moves_with_each_save_and_each_import_that_changes_something(
        store_client, tmp_path):
    created = submit(store_client, "/admin/customer/new/",
                     {"name": "Bo Chan", "level": "Customer", "email": "bo@example.com",
                      "_ok": "OK"})
    assert created.status_code == 302
    bo = Customer.objects.get(name="Bo Chan")
    assert bo.revision == 1
    for revision, department in ((2, "IT"), (3, "Ops")):
        save(store_client, bo, open_form(store_client, bo), name="Bo Chan", level="Customer",
             email="bo@example.com", department=department)
        assert Customer.objects.get(pk=bo.pk).revision == revision

    path = tmp_path / "load.json"
    path.write_text(json.dumps({"customers": [
        {"name": "Bo Chan", "email": "bo@example.com", "department": "Imported"},
        {"name": "Cy Dee", "email": "cy@example.com"}]}))
    runner = store_client.application.test_cli_runner()
    assert runner.invoke(args=["seed", "load", str(path)]).exit_code == 0
    assert Customer.objects.get(pk=bo.pk).revision == 4
    assert Customer.objects.get(name="Cy Dee").revision == 1
    again = runner.invoke(args=["seed", "load", str(path)])
    assert "0 updated, 2 unchanged" in again.output
    assert Customer.objects.get(pk=bo.pk).revision == 4

    exported = tmp_path / "out.json"
    assert runner.invoke(args=["seed", "export", str(exported)]).exit_code == 0
    assert "revision" not in exported.read_text()


def test_a_record_stored_before_revisions_counts_as_revision_0(store_client):
    oid = Customer._get_collection().insert_one(
        {"name": "Old Timer", "level": "Customer", "department": "IT"}).inserted_id
    old = Customer.objects.get(pk=oid)
    first, second = open_form(store_client, old), open_form(store_client, old)
    assert opened_state(first)["_revision"] == "0"

    assert save(store_client, old, first, name="Old Timer", level="Customer",
                department="Sales").status_code == 302
    assert Customer.objects.get(pk=oid).revision == 1
    html = save(store_client, old, second, name="Old Timer Jr", level="Customer",
                department="Ops").get_data(as_text=True)
    assert stale_message(html).startswith(f"{STALE}: they changed Department.")
    stored = Customer.objects.get(pk=oid)
    assert (stored.name, stored.department) == ("Old Timer", "Sales")


def test_a_level_switch_saves_nothing_and_keeps_the_revision_it_was_opened_at(client):
    record = ann()
    page = open_form(client, record)
    save(client, record, open_form(client, record), name="Ann Lee", level="Customer",
         department="Sales")
    switched = client.post(edit_url(record), data={
        "csrf_token": csrf_token(page), **opened_state(page), "_level_switch": "1",
        "level": "Org", "name": "Ann Lee"}).get_data(as_text=True)
    assert opened_state(switched) == opened_state(page)
    assert Customer.objects.get(pk=record.pk).revision == 2

    # The Org form does not show Department: the change made meanwhile is kept.
    assert save(client, record, switched, name="Ann Lee", level="Org",
                address="1 Main St").status_code == 302
    stored = Customer.objects.get(pk=record.pk)
    assert (stored.level, stored.address, stored.department) == ("Org", "1 Main St", "Sales")


def test_the_message_names_fields_by_their_current_labels(client):
    record = ann()
    first, second = open_form(client, record), open_form(client, record)
    save(client, record, first, name="Ann Lee", level="Customer", department="Sales",
         email="ann.lee@example.com")
    with client.application.app_context():
        update_field("customer", "department", label="Cost Centre")
    html = save(client, record, second, name="Ann", level="Customer").get_data(as_text=True)
    assert stale_message(html).startswith(f"{STALE}: they changed Cost Centre and Email.")


def test_contacts_are_protected_too(client):
    org = Customer(name="Initech", level="Org").save()
    contact = Contact(name="Peter Gibbons", customer=org.pk, job_title="Engineer").save()
    first, second = open_form(client, contact, "contact"), open_form(client, contact, "contact")
    assert save(client, contact, first, "contact", name="Peter Gibbons", customer=str(org.pk),
                job_title="Manager").status_code == 302
    html = save(client, contact, second, "contact", name="Pete Gibbons", customer=str(org.pk),
                job_title="Director").get_data(as_text=True)
    assert stale_message(html).startswith(f"{STALE}: they changed Job Title.")
    stored = Contact.objects.get(pk=contact.pk)
    assert (stored.name, stored.job_title) == ("Peter Gibbons", "Manager")


@pytest.mark.parametrize("revision", [None, "", "abc", "1.5", "-1", "9" * 40])
def test_a_hand_made_save_without_a_readable_revision_gets_400(client, revision):
    record = ann()
    page = open_form(client, record)
    data = {"csrf_token": csrf_token(page), "name": "Mallory", "level": "Customer"}
    if revision is not None:
        data["_revision"] = revision
    response = client.post(edit_url(record), data=data)
    assert response.status_code == 400
    assert "reload the page and make the change again" in response.get_data(as_text=True)
    assert Customer.objects.get(pk=record.pk).name == "Ann Lee"


@pytest.mark.parametrize("opened", ["not json", "[1, 2]", "[" * 100_000,
                                    '{"name": "Mallory", "__class__": 1, "save": 2}'])
def test_forged_opened_values_name_fields_at_most_and_are_never_written(client, opened):
    record = ann()
    page = open_form(client, record)
    stale = client.post(edit_url(record), data={
        "csrf_token": csrf_token(page), "_revision": "7", "_opened": opened,
        "name": "Ann Lee", "level": "Customer"})
    assert stale.status_code == 200
    assert STALE in stale_message(stale.get_data(as_text=True))
    assert Customer.objects.get(pk=record.pk).name == "Ann Lee"

    fine = client.post(edit_url(record), data={
        "csrf_token": csrf_token(page), "_revision": "1", "_opened": opened,
        "name": "Ann Lee", "level": "Customer", "department": "Ops"})
    assert fine.status_code == 302
    stored = Customer.objects.get(pk=record.pk)
    assert (stored.name, stored.department, stored.revision) == ("Ann Lee", "Ops", 2)


def test_a_save_that_changed_nothing_this_form_shows_does_not_block_the_next(store_client):
    """Someone pressed Save without a change, or changed a field this form does not show:
    nothing they did can be undone by this save, so it goes through."""
    record = ann()
    first, second = open_form(store_client, record), open_form(store_client, record)
    assert save(store_client, record, first, name="Ann Lee", level="Customer",
                department="IT").status_code == 302
    Customer.objects(pk=record.pk).update_one(set__news_on_closure_hidden="theirs",
                                              inc__revision=1)
    response = save(store_client, record, second, name="Ann B", level="Customer",
                    department="IT")
    assert response.status_code == 302
    stored = Customer.objects.get(pk=record.pk)
    assert (stored.name, stored.department, stored.news_on_closure_hidden) == \
        ("Ann B", "IT", "theirs")
