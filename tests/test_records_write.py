"""The record write path (admin_app/records): checks, compare-and-set, merges, history."""

from __future__ import annotations

import pytest

from admin_app import records
from admin_app.models import Customer
from admin_app.records import batch, history
from admin_app.records.trace import COMMAND_LINE, FORM, IMPORT, Trace

BY_FORM = Trace(COMMAND_LINE, FORM)


def _changes(record_id):
    return list(records.RecordChange.objects(record=record_id).order_by("-revision"))


def test_a_create_records_its_values_once_and_an_update_only_what_changed(store_app):
    with store_app.app_context():
        made = records.create("customer", {"name": "Ada", "department": "Finance",
                                           "email": "ada@example.com"}, BY_FORM)
        oid = made.record["_id"]
        records.update("customer", oid, {"department": "Finance", "location": "Leeds"},
                       BY_FORM)
        records.update("customer", oid, {"location": "Leeds"}, BY_FORM)  # nothing changes
        created, updated = reversed(_changes(oid))
        assert created.created and created.revision == 1
        assert {f["name"]: f["new"] for f in created.fields} == {
            "name": "Ada", "department": "Finance", "email": "ada@example.com",
            "level": "Customer", "archived": False}
        assert [(f["name"], f.get("old"), f["new"], f["label"]) for f in updated.fields] == [
            ("location", None, "Leeds", "Location")]
        assert updated.revision == 2 and updated.way == "form"
        stored = Customer.objects.get(pk=oid)
        assert stored.revision == 2 and "financ" in stored.search_keys


def test_an_update_is_checked_against_the_record_as_it_will_be(store_app):
    with store_app.app_context():
        oid = records.create("customer", {"name": "Ada"}, BY_FORM).record["_id"]
        # Name is not given and is mandatory: the stored one counts.
        records.update("customer", oid, {"department": "Sales"}, BY_FORM)
        with pytest.raises(records.Refused) as refused:
            records.update("customer", oid, {"name": None, "email": "not an address"}, BY_FORM)
        assert {(p.field, p.message) for p in refused.value.problems} == {
            ("name", "Name is mandatory."), ("email", "Email must be an email address.")}
        assert Customer.objects.get(pk=oid).name == "Ada"
        assert len(_changes(oid)) == 2


def test_a_write_over_an_unseen_change_keeps_it_and_an_overlap_is_refused(store_app):
    with store_app.app_context():
        oid = records.create("customer", {"name": "Ada", "department": "Finance",
                                           "location": "Leeds"}, BY_FORM).record["_id"]
        seen = {"department": "Finance", "location": "Leeds"}
        records.update("customer", oid, {"department": "Sales"}, BY_FORM)  # someone else
        written = records.update("customer", oid, {"location": "York"}, BY_FORM, seen=seen,
                                 revision=1)
        assert written.others == ["department"]
        stored = Customer.objects.get(pk=oid)
        assert (stored.department, stored.location) == ("Sales", "York")
        with pytest.raises(records.Overlap) as overlap:
            records.update("customer", oid, {"department": "HR"}, BY_FORM, seen=seen,
                           revision=1)
        assert overlap.value.fields == ["department"]


def test_a_batch_writes_its_history_in_one_insert_and_reports_refusals(store_app):
    with store_app.app_context():
        trace = Trace(records.trace.import_job("job1"), IMPORT, batch="job1")
        existing = records.create("customer", {"name": "Ada"}, BY_FORM).record["_id"]
        outcome = batch.write("customer", [{"name": "Bo"}, {"email": "x@example.com"}],
                              [(existing, {"department": "Ops"})], trace)
        assert len(outcome.created) == 1 and outcome.updated == [existing]
        assert [p.message for p in outcome.refused_creates[1]] == ["Name is mandatory."]
        logged = records.RecordChange.objects(batch="job1")
        assert sorted(c.way for c in logged) == ["import", "import"]
        assert {c.who["name"] for c in logged} == {"import job job1"}


def test_a_change_set_left_in_the_record_is_logged_once_by_the_next_write(store_app,
                                                                          monkeypatch):
    with store_app.app_context():
        oid = records.create("customer", {"name": "Ada"}, BY_FORM).record["_id"]
        monkeypatch.setattr(history, "log", lambda entries: None)  # killed before logging
        records.update("customer", oid, {"department": "Ops"}, BY_FORM)
        monkeypatch.undo()
        assert len(_changes(oid)) == 1
        records.update("customer", oid, {"department": "HR"}, BY_FORM)
        assert [c.revision for c in _changes(oid)] == [3, 2, 1]
        assert history.repair(records.MODELS, everything=True) == 0
