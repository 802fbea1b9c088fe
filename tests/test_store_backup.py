"""`flask store backup FILE` / `flask store restore FILE`: every collection, on both
stores; a restore refuses a store holding data and a file that is not a whole backup;
a backup taken while a real process writes records restores a state that existed."""

from __future__ import annotations

import errno
import json
import re
import subprocess
import sys
import time
import zipfile
from html import unescape
from pathlib import Path

import mongoengine
import pytest

from admin_app import create_app, store
from admin_app.store import digest

from .conftest import app_config, make_app
from .helpers import login
from .races import environment
from .store_flows import filled_app, signs_in_and_opens_records

ROOT = Path(__file__).resolve().parents[1]


# The audit entries a restore or a copy adds to the store it writes (checked apart).
STORE_EVENTS = ("store_restored", "store_copied")


def digests(app) -> dict[str, tuple[int, str]]:
    """Every collection of the app's store: (count, checksum); the audit log without the
    entries of a restore or a copy into that store."""
    with app.app_context():
        db = store.database()
        found = {}
        for name in db.list_collection_names():
            if name == "record_history_intents":
                continue
            d = digest.Digest()
            for document in db[name].find({"event": {"$nin": list(STORE_EVENTS)}}
                                          if name == "audit_log" else {}):
                d.add(document)
            found[name] = (d.count, d.checksum)
        return found


def audit_entries(app, event: str) -> list[dict]:
    """The audit log's entries of one event, as stored."""
    with app.app_context():
        return list(store.database()["audit_log"].find({"event": event}))


def index_names(app) -> dict[str, set[str]]:
    """Each model's collection and its indexes, once every model has been used."""
    from mongoengine.base.common import _document_registry

    with app.app_context():
        found = {}
        for model in _document_registry.values():
            if issubclass(model, mongoengine.Document) and not model._meta.get("abstract"):
                collection = model._get_collection()
                found[collection.name] = set(collection.index_information())
        return found


def run(app, *args, **kwargs):
    return app.test_cli_runner().invoke(args=["store", *args], **kwargs)


@pytest.mark.parametrize("kind", ["embedded", "mongomock"])
def test_a_backup_restores_every_collection_and_the_same_passwords_sign_in(tmp_path, kind):
    source = filled_app(tmp_path / "source", kind)
    indexes = index_names(source)  # every model used once, as a serving app uses them
    before = digests(source)
    backup = tmp_path / "store.zip"
    taken = run(source, "backup", str(backup))
    assert taken.exit_code == 0, taken.output
    assert re.search(r"Backed up \d+ documents in \d+ collections, read at one moment",
                     taken.output)
    with zipfile.ZipFile(backup) as archive:  # what a person finds inside
        manifest = json.loads(archive.read("manifest.json"))
        assert f"{manifest['database']}/users.bson" in archive.namelist()
    assert {c["name"]: (c["documents"], c["checksum"]) for c in manifest["collections"]} == before

    target = create_app(app_config(tmp_path / "target", kind))
    restored = run(target, "restore", str(backup))
    assert restored.exit_code == 0, restored.output
    assert "Restored" in restored.output and "each verified by count and checksum" \
        in restored.output
    assert digests(target) == before
    for name in ("users", "tickets", "mail_outbox", "audit_log", "dictionary_history",
                 "directory_connectors", "directory_runs", "record_history", "seed_jobs"):
        assert before[name][0] > 0, name
    signs_in_and_opens_records(target)
    assert index_names(target) == indexes, "the models make the same indexes"
    mongoengine.disconnect()


def test_a_restore_is_in_the_restored_stores_audit_log_naming_the_file(tmp_path):
    """Written after the restore replaced the audit log: the backup's entries and one
    more, saying which file and when it was taken; the admin sees it on the Audit log."""
    source = filled_app(tmp_path / "source", "embedded")
    backup = tmp_path / "store.zip"
    assert run(source, "backup", str(backup)).exit_code == 0
    with zipfile.ZipFile(backup) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    target = create_app(app_config(tmp_path / "target", "embedded"))
    restored = run(target, "restore", str(backup))
    assert restored.exit_code == 0, restored.output
    [entry] = audit_entries(target, "store_restored")
    assert entry["area"] == "cli" and entry["actor"].endswith("(command line)")
    assert entry["detail"] == (f"from {backup}, taken {manifest['taken_at']} from the "
                               f"{manifest['store']}")
    assert audit_entries(target, "login_created"), "the backup's own entries are kept"
    with target.test_client() as client:
        assert login(client).status_code == 302
        page = unescape(client.get("/admin/audit/?event=store_restored")
                        .get_data(as_text=True))
    assert "Store restored from a backup" in page
    assert f"from {backup}, taken {manifest['taken_at']}" in page
    mongoengine.disconnect()


def test_restore_refuses_a_store_holding_data_unless_told_to_replace_it(tmp_path):
    source = filled_app(tmp_path / "source", "embedded")
    backup = tmp_path / "store.zip"
    assert run(source, "backup", str(backup)).exit_code == 0
    backed_up = digests(source)
    target = make_app(tmp_path / "target", "embedded")  # dictionary and first admin
    held = digests(target)

    refused = run(target, "restore", str(backup))
    assert refused.exit_code == 1
    assert refused.output.strip().startswith("Error: The store already holds data (")
    assert "add --replace" in refused.output
    declined = run(target, "restore", str(backup), "--replace", input="n\n")
    assert declined.exit_code == 1 and "Aborted" in declined.output
    assert digests(target) == held, "nothing was written"

    replaced = run(target, "restore", str(backup), "--replace", "--yes")
    assert replaced.exit_code == 0, replaced.output
    assert digests(target) == backed_up
    signs_in_and_opens_records(target)
    mongoengine.disconnect()


def _deep_manifest(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("manifest.json", "[" * 100_000 + "]" * 100_000)


def _cut_short(path: Path, whole: Path) -> None:
    data = whole.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _one_document_changed(path: Path, whole: Path) -> None:
    with zipfile.ZipFile(whole) as source, zipfile.ZipFile(path, "w") as archive:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "dictadmin/users.bson":
                data = data.replace(b"agent.backup", b"agent.BACKUP")
            archive.writestr(item, data)


@pytest.mark.parametrize("file, says", [
    ("text", "is not a Dictadmin backup, or it was cut short"),
    ("cut short", "is not a Dictadmin backup, or it was cut short"),
    ("deep", "its manifest is nested too deeply to read"),
    ("changed", "is damaged: the documents of users differ from those backed up"),
    ("missing", "There is no file"),
])
def test_a_file_that_is_not_a_whole_backup_is_one_sentence_and_the_store_is_untouched(
        tmp_path, file, says):
    source = filled_app(tmp_path / "source", "embedded")
    whole = tmp_path / "store.zip"
    assert run(source, "backup", str(whole)).exit_code == 0
    bad = tmp_path / "bad.zip"
    if file == "text":
        bad.write_text("customers,email\nAda,ada@example.com\n")
    elif file == "cut short":
        _cut_short(bad, whole)
    elif file == "deep":
        _deep_manifest(bad)
    elif file == "changed":
        _one_document_changed(bad, whole)
    target = create_app(app_config(tmp_path / "target", "embedded"))
    refused = run(target, "restore", str(bad))
    assert refused.exit_code == 2, refused.output
    said = refused.output.splitlines()
    assert said[-1].startswith("Error: ") and says in said[-1], refused.output
    assert len([line for line in said if "Error" in line]) == 1, refused.output
    assert "Traceback" not in refused.output
    assert digests(target) == {}, "the store is untouched"
    mongoengine.disconnect()


def test_a_full_disk_while_writing_the_backup_is_a_sentence_and_leaves_no_file(
        tmp_path, monkeypatch):
    source = filled_app(tmp_path / "source", "embedded")
    written = []

    def full(self, data):
        written.append(len(data))
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(zipfile._ZipWriteFile, "write", full)
    backup = tmp_path / "store.zip"
    result = run(source, "backup", str(backup))
    assert written, "the backup was written"
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == (
        f"Error: The disk holding {backup} is full: the backup was not written; free some "
        f"space and run it again.")
    assert list(tmp_path.glob("store.zip*")) == []
    assert run(source, "backup", str(tmp_path / "store.zip")).exit_code == 1  # still full
    monkeypatch.undo()
    again = run(source, "backup", str(backup))
    assert again.exit_code == 0 and backup.exists()
    existing = run(source, "backup", str(backup))
    assert existing.exit_code == 1 and "already exists; give a new file name" in existing.output
    mongoengine.disconnect()


# -- a backup while a real process writes records -------------------------------------------

WRITER = """
import os, random, sys
from admin_app import create_app, records
from admin_app.records.trace import COMMAND_LINE, FORM, Trace

instance, stop = sys.argv[1:3]
app = create_app()
trace = Trace(COMMAND_LINE, FORM)
made, n = [], 0
with app.app_context():
    while not os.path.exists(stop):
        n += 1
        token = f"w{n}"
        if len(made) < 5 or n % 3 == 0:
            made.append(records.create("customer", {
                "name": f"Writer {n}", "email": f"writer{n}@example.com",
                "department": token, "location": token}, trace).record["_id"])
        else:
            records.update("customer", random.choice(made),
                           {"department": token, "location": token}, trace)
        if n == 20:
            print("writing", flush=True)
print(n, flush=True)
"""


def writer_records_are_whole(app) -> int:
    """Each writer record's two fields come from one write, and its history is exactly
    the revisions 1..its revision, the newest holding its values; the number of them."""
    from admin_app.models import Customer
    from admin_app.records import RecordChange

    with app.app_context():
        records = list(Customer._get_collection().find({"name": {"$regex": "^Writer "}}))
        ids = {r["_id"] for r in records}
        history: dict = {}
        for change in RecordChange._get_collection().find({}):
            history.setdefault(change["record"], []).append(change)
        for record in records:
            assert record["department"] == record["location"], record
            changes = sorted(history.get(record["_id"], []), key=lambda c: c["revision"])
            assert [c["revision"] for c in changes] == list(range(1, record["revision"] + 1))
            newest = {line["name"]: line["new"] for line in changes[-1]["fields"]}
            assert newest["department"] == record["department"]
        orphans = [c for c in RecordChange._get_collection().find({}) if c["record"] not in ids
                   and c.get("created") and c["fields"]
                   and str(c["fields"][0].get("new", "")).startswith("Writer ")]
        assert orphans == [], "history of a record the backup does not hold"
        return len(records)


def test_a_backup_taken_during_a_stream_of_writes_restores_a_state_that_existed(tmp_path):
    app = make_app(tmp_path / "source", "embedded")
    stop = tmp_path / "stop"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, app.instance_path, str(stop)],
                              cwd=ROOT, env=environment(app.instance_path), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        assert writer.stdout.readline().strip() == "writing"
        backups, waits = [], []
        for number in range(3):
            path = tmp_path / f"during-{number}.zip"
            taken = run(app, "backup", str(path))
            assert taken.exit_code == 0, taken.output
            waits.append(float(re.search(r"writers waited (\d+) ms", taken.output).group(1)))
            backups.append(path)
            time.sleep(0.3)
    finally:
        stop.touch()
        out, _ = writer.communicate(timeout=60)
    assert writer.returncode == 0, out
    assert max(waits) < 1000, waits
    final = writer_records_are_whole(app)  # (the app's store is the one connected until
    counts = []                            # another app is made)
    for number, path in enumerate(backups):
        target = create_app(app_config(tmp_path / f"restored-{number}", "embedded"))
        restored = run(target, "restore", str(path))
        assert restored.exit_code == 0, restored.output
        assert "Record history: " in restored.output
        counts.append(writer_records_are_whole(target))
    assert counts == sorted(counts) and counts[0] < counts[-1], "written while backed up"
    assert counts[-1] < final, "the writer went on after"
    print(f"writers waited {waits} ms; writer records per backup {counts}")
    mongoengine.disconnect()


def test_a_backup_between_a_record_and_its_history_is_completed_by_the_restore(tmp_path):
    """A batch writer stopped after writing its records and before logging their
    history: the backup holds the records without their change sets, and the restore's
    history repair logs them from what the records carry."""
    app = make_app(tmp_path / "source", "embedded")
    writer = subprocess.Popen(
        [sys.executable, "-m", "tests.fault_writer", app.instance_path, "held", "create",
         "300", "1"], cwd=ROOT, env=environment(app.instance_path), stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "ready"
        writer.stdin.write("go\n")
        writer.stdin.flush()
        assert writer.stdout.readline().strip() == "batch 1 started"
        assert writer.stdout.readline().strip() == "holding"
        path = tmp_path / "held.zip"
        assert run(app, "backup", str(path)).exit_code == 0
    finally:
        writer.kill()
        writer.communicate()
    with zipfile.ZipFile(path) as archive:
        listed = {c["name"]: c["documents"]
                  for c in json.loads(archive.read("manifest.json"))["collections"]}
    assert listed["customers"] == 300 and listed.get("record_history", 0) == 0, listed
    target = create_app(app_config(tmp_path / "restored", "embedded"))
    restored = run(target, "restore", str(path))
    assert restored.exit_code == 0, restored.output
    assert "Record history: 300 change sets a writer had not yet logged when the backup " \
           "was read were logged." in restored.output
    from admin_app.models import Customer
    from admin_app.records import RecordChange

    with target.app_context():
        held = Customer.objects(name__startswith="held customer ")
        assert held.count() == 300
        assert RecordChange.objects.count() == 300
        for record in held:
            changes = RecordChange.objects(record=record.pk)
            assert [c.revision for c in changes] == [1] and changes[0].created
            assert {f["name"]: f["new"] for f in changes[0].fields}["department"] \
                == "held department"
    mongoengine.disconnect()
