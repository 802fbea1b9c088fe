"""`flask store copy --to TARGET`: every collection, embedded → embedded folder, embedded
→ mongomock and mongomock → embedded, each verified; the same passwords sign in on the
target; a non-empty target is refused; an interrupted copy resumes."""

from __future__ import annotations

import errno
import re
import signal
import subprocess
from pathlib import Path

import mongoengine
import mongomock
import pytest

from admin_app import create_app, store
from admin_app.store import copy as store_copy

from .conftest import app_config, make_app
from .races import environment, flask
from .store_flows import filled_app, signs_in_and_opens_records
from .test_store_backup import audit_entries, digests, index_names, run

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def one_mongomock_server(monkeypatch):
    """Every mongomock client of the test on one in-memory server, as every client of a
    MongoDB server sees the same data (the copy's client and the app's)."""
    server = mongomock.store.ServerStore()

    class Shared(mongomock.MongoClient):
        def __init__(self, *args, **kwargs):
            kwargs.setdefault("_store", server)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(mongomock, "MongoClient", Shared)


def copied_line(output: str) -> str:
    return next(line for line in output.splitlines() if line.startswith("Copied "))


@pytest.mark.parametrize("source_kind, target_kind", [
    ("embedded", "embedded"), ("embedded", "mongomock"), ("mongomock", "embedded")])
def test_a_copy_moves_every_collection_verified_and_the_same_passwords_sign_in(
        tmp_path, one_mongomock_server, source_kind, target_kind):
    source = filled_app(tmp_path / "source", source_kind)
    indexes = index_names(source)
    before = digests(source)
    config = app_config(tmp_path / "target", target_kind)
    to = config["MONGODB_URI"] or str(Path(config["INSTANCE_PATH"]) / "store")
    result = run(source, "copy", "--to", to)
    assert result.exit_code == 0, result.output
    for name, (count, _checksum) in before.items():
        assert f"  {name}: {count:,} document" in result.output, name
    assert re.match(rf"Copied [\d,]+ documents in {len(before)} collections to the .*, each "
                    rf"verified by count and checksum", copied_line(result.output))
    target = create_app(config)
    assert digests(target) == before, "every collection, every document"
    signs_in_and_opens_records(target)
    assert index_names(target) == indexes, "the models make the same indexes there"
    mongoengine.disconnect()


def test_a_copy_is_in_the_targets_audit_log_naming_the_store_it_came_from(tmp_path):
    source = filled_app(tmp_path / "source", "embedded")
    config = app_config(tmp_path / "target", "embedded")
    result = run(source, "copy", "--to", str(Path(config["INSTANCE_PATH"]) / "store"))
    assert result.exit_code == 0, result.output
    moment = re.search(r"; read (at one moment [^;]*?)(;|\.$)", copied_line(result.output))
    target = create_app(config)
    [entry] = audit_entries(target, "store_copied")
    assert entry["area"] == "cli" and entry["actor"].endswith("(command line)")
    source_store = re.search(r"^Copying the (.*) to the ", result.output, re.M).group(1)
    assert entry["detail"].startswith(f"from the {source_store}, read ")
    assert moment and moment.group(1) in entry["detail"], (entry["detail"], result.output)
    assert audit_entries(target, "login_created"), "the source's own entries are copied"
    source = create_app(app_config(tmp_path / "source", "embedded"))
    assert not audit_entries(source, "store_copied"), "nothing is added to the source"
    mongoengine.disconnect()


def test_a_copy_refuses_a_target_holding_data_unless_told_to_replace_it(tmp_path):
    source = filled_app(tmp_path / "source", "embedded")
    before = digests(source)
    target = make_app(tmp_path / "target", "embedded")
    held = digests(target)
    to = str(Path(target.instance_path) / "store")
    app = create_app(app_config(tmp_path / "source", "embedded"))  # the source again
    refused = run(app, "copy", "--to", to)
    assert refused.exit_code == 1
    assert refused.output.splitlines()[-1].startswith(
        "Error: The target already holds data (")
    assert "add --replace to empty it first" in refused.output
    itself = run(app, "copy", "--to", str(Path(app.instance_path) / "store"))
    assert itself.output.splitlines()[-1] == "Error: The target is this store itself; give " \
                                             "another."
    declined = run(app, "copy", "--to", to, "--replace", input="n\n")
    assert declined.exit_code == 1 and "Aborted" in declined.output
    assert digests(create_app(app_config(tmp_path / "target", "embedded"))) == held

    app = create_app(app_config(tmp_path / "source", "embedded"))
    replaced = run(app, "copy", "--to", to, "--replace", "--yes")
    assert replaced.exit_code == 0, replaced.output
    assert digests(create_app(app_config(tmp_path / "target", "embedded"))) == before
    mongoengine.disconnect()


def test_a_copy_stopped_by_a_full_disk_half_way_says_so_and_resumes(tmp_path, monkeypatch):
    """The target's disk fills during the third batch of `customers`: one sentence; run
    again, the collections finished before are kept (still the same on both sides) and
    the rest, the half-copied one included, are copied whole."""
    source = filled_app(tmp_path / "source", "embedded")
    before = digests(source)
    monkeypatch.setattr(store_copy, "BATCH", 4)
    monkeypatch.setattr(store_copy, "PROGRESS_EVERY", 4)
    config = app_config(tmp_path / "target", "embedded")
    to = str(Path(config["INSTANCE_PATH"]) / "store")
    batches = []
    import litemongo._vendor.mongomock.collection as lite_collection

    lite_insert_many = lite_collection.Collection.insert_many

    def lite_filling(self, documents, *args, **kwargs):
        if self.name == "customers":
            batches.append(len(documents))
            if len(batches) == 3:
                raise OSError(errno.ENOSPC, "No space left on device")
        return lite_insert_many(self, documents, *args, **kwargs)

    monkeypatch.setattr(lite_collection.Collection, "insert_many", lite_filling)
    stopped = run(source, "copy", "--to", to)
    assert stopped.exit_code == 1
    assert "  customers: 8 documents copied…" in stopped.output
    assert stopped.output.splitlines()[-1] == (
        f"Error: The disk holding the embedded store in {to} is full: the copy stopped; "
        f"free some space and run the same command again to resume.")
    monkeypatch.undo()

    resumed = run(source, "copy", "--to", to)
    assert resumed.exit_code == 0, resumed.output
    assert "  contacts: 3 documents, copied before, verified" in resumed.output
    assert "  customers: 10 documents, verified" in resumed.output
    kept = resumed.output.count("copied before, verified")
    assert kept == len([n for n in before if n < "customers"]), resumed.output
    assert f"Resumed: {kept} collections were kept from the interrupted run, " \
           f"{len(before) - kept} copied now." in resumed.output
    target = create_app(config)
    assert digests(target) == before
    with target.app_context():
        assert "store_copy_progress" not in store.database().list_collection_names()
    signs_in_and_opens_records(target)
    mongoengine.disconnect()


def test_a_copy_killed_mid_way_resumes_when_run_again(tmp_path):
    """A real `flask store copy` process killed (SIGKILL) half-way through a collection
    of 30,000 documents; the same command run again keeps what was finished and copies
    the rest, that collection whole, and verifies every collection."""
    source = filled_app(tmp_path / "source", "embedded")
    with source.app_context():
        store.database()["bulk"].insert_many([{"n": n} for n in range(30_000)])
    before = digests(source)
    to = str(tmp_path / "target" / "instance" / "store")
    command = flask("store", "copy", "--to", to)
    copying = subprocess.Popen(command, cwd=ROOT, env=environment(source.instance_path),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen = []
    try:
        for line in copying.stdout:
            seen.append(line)
            if line.strip() == "bulk: 10,000 documents copied…":
                copying.send_signal(signal.SIGKILL)
                break
    finally:
        copying.kill()
        copying.wait()
        copying.stdout.close()
    assert copying.returncode == -signal.SIGKILL, seen
    again = subprocess.run(command, cwd=ROOT, env=environment(source.instance_path),
                           capture_output=True, text=True, timeout=300, check=False)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "  audit_log: 3 documents, copied before, verified" in again.stdout
    assert "  bulk: 30,000 documents, verified" in again.stdout
    assert "Resumed: 1 collections were kept from the interrupted run" in again.stdout
    total = sum(count for count, _checksum in before.values())
    assert copied_line(again.stdout).startswith(f"Copied {total:,} documents")
    assert digests(create_app(app_config(tmp_path / "target", "embedded"))) == before
    mongoengine.disconnect()
