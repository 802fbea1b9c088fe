"""Retention (`HISTORY_DAYS`, `flask history prune`) and `flask history repair`."""

from __future__ import annotations

from datetime import timedelta

from admin_app import records
from admin_app.models.kept import now
from admin_app.records import history
from admin_app.records.trace import COMMAND_LINE, FORM, Trace

BY_FORM = Trace(COMMAND_LINE, FORM)


def _age(app, record_id, days):
    with app.app_context():
        history.collection().update_many({"record": record_id},
                                         {"$set": {"at": now() - timedelta(days=days)}})


def test_prune_deletes_only_change_sets_older_than_history_days(app_with):
    app = app_with(HISTORY_DAYS=30)
    with app.app_context():
        old = records.create("customer", {"name": "Old"}, BY_FORM).record["_id"]
        new = records.create("customer", {"name": "New"}, BY_FORM).record["_id"]
    _age(app, old, 31)
    _age(app, new, 29)
    result = app.test_cli_runner().invoke(args=["history", "prune"])
    assert result.exit_code == 0, result.output
    assert "Deleted 1 change set made before" in result.output
    with app.app_context():
        assert records.RecordChange.objects(record=old).count() == 0
        assert records.RecordChange.objects(record=new).count() == 1
        assert records.MODELS["customer"].objects(pk=old).count() == 1  # the record stays


def test_without_history_days_nothing_is_pruned_and_it_says_so(app):
    with app.app_context():
        oid = records.create("customer", {"name": "Kept"}, BY_FORM).record["_id"]
    _age(app, oid, 4000)
    result = app.test_cli_runner().invoke(args=["history", "prune"])
    assert result.exit_code == 0
    assert "history is kept forever; nothing was deleted" in result.output
    assert app.test_cli_runner().invoke(args=["history", "prune", "--days", "10"]
                                        ).output.startswith("Deleted 1 change set")


def test_repair_logs_a_change_set_a_stopped_batch_left_in_its_records(store_app, monkeypatch):
    with store_app.app_context():
        monkeypatch.setattr(history, "log", lambda entries: None)  # stopped before logging
        monkeypatch.setattr(history, "done", lambda intent: None)
        outcome = records.batch.write("customer", [{"name": "A"}, {"name": "B"}], [],
                                      Trace(COMMAND_LINE, "import", batch="b1"))
        monkeypatch.undo()
        assert records.RecordChange.objects(batch="b1").count() == 0
    result = store_app.test_cli_runner().invoke(args=["history", "repair"])
    assert result.exit_code == 0
    assert "2 change sets were missing and now logged" in result.output
    with store_app.app_context():
        logged = records.RecordChange.objects(batch="b1")
        assert sorted(c.record for c in logged) == sorted(outcome.created)
        assert all(c.created and {f["name"] for f in c.fields} >= {"name"} for c in logged)
    again = store_app.test_cli_runner().invoke(args=["history", "repair", "--everything"])
    assert "0 change sets were missing" in again.output
