"""Reverting a change, or one field of it, from the History tab: a confirmation page, then
one more write through the record write path, recorded as a change set (way: revert).
Refused with a sentence, nothing written, when the field changed since or a rule now
forbids the old value."""

from __future__ import annotations

import re
from html import unescape

import pytest

from admin_app import records
from admin_app.customising.fields import update_field
from admin_app.models import Customer
from admin_app.records import revert, trace
from admin_app.records.history import RecordChange

from .helpers import ADMIN_EMAIL, csrf_token, submit

BY_FORM = trace.Trace(trace.COMMAND_LINE, trace.FORM)


def revert_url(change: dict, field: str | None = None) -> str:
    url = f"/admin/history/revert/{change['_id']}/"
    return f"{url}?field={field}" if field else url


def changes_of(oid) -> list[RecordChange]:
    return list(RecordChange.objects(record=oid).order_by("-revision"))


def refusal(html: str) -> str | None:
    found = re.search(r'id="revert-refused">(.*?)</div>', html, re.S)
    return unescape(found.group(1)).strip() if found else None


def make(values: dict) -> tuple:
    written = records.create("customer", {"name": "Ada", **values}, BY_FORM)
    return written.record["_id"]


def field_id(name: str) -> str:
    from admin_app import dictionary

    return dictionary.latest().field("customer", name).id


def test_reverting_a_field_puts_it_back_as_a_new_revert_change_set(store_app, store_client):
    with store_app.app_context():
        oid = make({"department": "Finance", "location": "Leeds"})
        change = records.update("customer", oid, {"department": "Sales", "location": "York"},
                                BY_FORM).change
        department = field_id("department")
    page = store_client.get(revert_url(change, department)).get_data(as_text=True)
    assert refusal(page) is None and 'id="confirm-revert"' in page
    assert re.search(r"<td>Department</td>\s*<td class=\"revert-now\">Sales</td>\s*"
                     r"<td class=\"revert-old\">Finance</td>", page)
    with store_app.app_context():
        assert Customer.objects.get(pk=oid).department == "Sales"  # a GET changes nothing

    response = submit(store_client, revert_url(change, department), {})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/admin/history/customer/{oid}/"
    shown = store_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Reverted: Department is &#39;Finance&#39; again." in shown
    with store_app.app_context():
        stored = Customer.objects.get(pk=oid)
        assert (stored.department, stored.location) == ("Finance", "York")
        newest = changes_of(oid)[0]
        assert newest.way == "revert" and newest.who["name"] == ADMIN_EMAIL
        assert [(f["name"], f["old"], f["new"]) for f in newest.fields] == [
            ("department", "Sales", "Finance")]
        assert newest.request  # the request it was made in


def test_reverting_a_whole_change_set_of_two_fields(store_app, store_client):
    with store_app.app_context():
        oid = make({"department": "Finance"})
        change = records.update("customer", oid, {"department": "Sales", "location": "York"},
                                BY_FORM).change
    assert submit(store_client, revert_url(change), {}).status_code == 302
    with store_app.app_context():
        stored = Customer._get_collection().find_one({"_id": oid})
        assert stored["department"] == "Finance" and "location" not in stored
        newest = changes_of(oid)[0]
        assert newest.way == "revert"
        assert sorted((f["name"], f["old"], f.get("new")) for f in newest.fields) == [
            ("department", "Sales", "Finance"), ("location", "York", None)]
        assert len(changes_of(oid)) == 3


def test_a_field_changed_since_is_not_reverted(store_app, store_client):
    with store_app.app_context():
        oid = make({"department": "Finance"})
        change = records.update("customer", oid, {"department": "Sales"}, BY_FORM).change
        records.update("customer", oid, {"department": "HR"}, BY_FORM)
    sentence = ("Department has changed since this change (it is now 'HR'); "
                "nothing was reverted.")
    page = store_client.get(revert_url(change)).get_data(as_text=True)
    assert refusal(page) == sentence and 'id="confirm-revert"' not in page
    # Posted anyway (a page opened before the later change): refused, nothing written.
    response = store_client.post(revert_url(change), data={"csrf_token": csrf_token(page)})
    assert response.status_code == 200 and refusal(response.get_data(as_text=True)) == sentence
    with store_app.app_context():
        assert Customer.objects.get(pk=oid).department == "HR"
        assert len(changes_of(oid)) == 3


def test_a_rule_the_old_value_breaks_now_refuses_the_revert_naming_it(store_app,
                                                                      store_client):
    with store_app.app_context():
        oid = make({})
        change = records.update("customer", oid, {"department": "Sales"}, BY_FORM).change
        update_field("customer", "department", mandatory=["Customer"])
    page = store_client.get(revert_url(change)).get_data(as_text=True)
    sentence = "Department cannot go back to '': Department is mandatory. Nothing was reverted."
    assert refusal(page) == sentence and 'id="confirm-revert"' not in page
    response = store_client.post(revert_url(change), data={"csrf_token": csrf_token(page)})
    assert refusal(response.get_data(as_text=True)) == sentence
    with store_app.app_context():
        assert Customer.objects.get(pk=oid).department == "Sales"
        assert len(changes_of(oid)) == 2


def test_a_records_creation_cannot_be_reverted(store_app, store_client):
    with store_app.app_context():
        oid = make({"department": "Finance"})
        created = changes_of(oid)[0]
    url = f"/admin/history/revert/{created.pk}/"
    page = store_client.get(url).get_data(as_text=True)
    assert refusal(page) == ("This change created the record: it cannot be reverted. "
                             "Archive the record instead.")
    assert 'id="confirm-revert"' not in page
    history = store_client.get(f"/admin/history/customer/{oid}/").get_data(as_text=True)
    assert url not in history  # no Revert button on a creation
    with store_app.app_context():
        assert Customer.objects.get(pk=oid).archived is False


def test_a_revert_needs_the_pages_token(client, app):
    with app.app_context():
        oid = make({"department": "Finance"})
        change = records.update("customer", oid, {"department": "Sales"}, BY_FORM).change
    assert client.post(revert_url(change), data={}).status_code == 400
    with app.app_context():
        assert Customer.objects.get(pk=oid).department == "Sales"


def test_an_agent_may_revert(app, agent_client):
    with app.app_context():
        oid = make({"department": "Finance"})
        change = records.update("customer", oid, {"department": "Sales"}, BY_FORM).change
    assert submit(agent_client, revert_url(change), {}).status_code == 302
    with app.app_context():
        assert Customer.objects.get(pk=oid).department == "Finance"
        assert changes_of(oid)[0].who["name"] == "agent@example.com"


def test_a_change_made_between_the_check_and_the_write_is_not_overwritten(app, monkeypatch):
    """The revert writes with `seen` = what the change wrote: a change that lands after its
    check is an overlap, refused with the same sentence."""
    with app.app_context():
        oid = make({"department": "Finance"})
        change = RecordChange.objects.get(
            pk=records.update("customer", oid, {"department": "Sales"}, BY_FORM).change["_id"])
        real_refusal = revert.Reverting.refusal

        def someone_saves_meanwhile(self):
            found = real_refusal(self)
            records.update("customer", oid, {"department": "HR"}, BY_FORM)
            return found

        monkeypatch.setattr(revert.Reverting, "refusal", someone_saves_meanwhile)
        with pytest.raises(revert.NotReverted) as refused:
            revert.revert(change, None, trace.Trace(trace.COMMAND_LINE, trace.REVERT))
        assert str(refused.value) == ("Department has changed since this change (it is now "
                                      "'HR'); nothing was reverted.")
        assert Customer.objects.get(pk=oid).department == "HR"


def test_a_reference_is_named_in_the_sentences(store_app, store_client):
    with store_app.app_context():
        acme = records.create("customer", {"name": "Acme", "level": "Org"}, BY_FORM).record
        globex = records.create("customer", {"name": "Globex", "level": "Org"}, BY_FORM).record
        oid = make({"org": acme["_id"]})
        change = records.update("customer", oid, {"org": globex["_id"]}, BY_FORM).change
        records.update("customer", oid, {"org": None}, BY_FORM)
    page = store_client.get(revert_url(change)).get_data(as_text=True)
    assert refusal(page) == ("Org has changed since this change (it is now empty); "
                             "nothing was reverted.")
    with store_app.app_context():
        records.update("customer", oid, {"org": globex["_id"]}, BY_FORM)
    page = store_client.get(revert_url(change)).get_data(as_text=True)
    assert re.search(r'class="revert-now">Globex</td>\s*<td class="revert-old">Acme</td>', page)
    submit(store_client, revert_url(change), {})
    with store_app.app_context():
        assert Customer._get_collection().find_one({"_id": oid})["org"] == acme["_id"]


def test_values_a_dictionary_change_rewrote_are_reverted_in_the_dictionary_not_here(
        app, client):
    with app.app_context():
        oid = make({"department": "Finance"})
        change = records.update("customer", oid, {"department": "FINANCE"},
                                trace.Trace(trace.COMMAND_LINE, trace.DICTIONARY)).change
    history = client.get(f"/admin/history/customer/{oid}/").get_data(as_text=True)
    assert revert_url(change) not in history
    page = client.get(revert_url(change)).get_data(as_text=True)
    assert refusal(page) == ("This change was made by a dictionary change (a type change or a "
                             "choice rename): revert that in the dictionary's history instead.")


def test_a_change_set_whose_fields_both_changed_since_names_both(app, client):
    with app.app_context():
        oid = make({"department": "Finance", "location": "Leeds"})
        change = records.update("customer", oid, {"department": "Sales", "location": "York"},
                                BY_FORM).change
        records.update("customer", oid, {"department": "HR", "location": None}, BY_FORM)
    page = client.get(revert_url(change)).get_data(as_text=True)
    assert refusal(page) == ("Department (now 'HR') and Location (now empty) have changed "
                             "since this change; nothing was reverted.")


def test_a_revert_is_in_the_audit_log_linked_to_the_changes_it_made(store_app, store_client):
    with store_app.app_context():
        oid = make({"department": "Finance"})
        change = records.update("customer", oid, {"department": "Sales"}, BY_FORM).change
    page = store_client.get(revert_url(change)).get_data(as_text=True)
    done = store_client.post(revert_url(change), data={"csrf_token": csrf_token(page)})
    assert done.status_code == 302
    log = store_client.get("/admin/audit/?event=record_reverted").get_data(as_text=True)
    assert "Record change reverted" in log and "Ada" in log
    link = re.search(r'class="audit-changes" href="([^"]+)"', log).group(1)
    made = store_client.get(unescape(link)).get_data(as_text=True)
    assert "Changes made by the audited action" in made
    with store_app.app_context():
        reverted = changes_of(oid)[0]
        assert reverted.way == "revert"
    assert "Finance" in made and "Sales" in made  # the revert: Sales back to Finance
