"""Bad input and faults: a full disk, a file nested too deeply, a writer killed mid-batch.

The full disk is SQLite's own: `PRAGMA max_page_count` on the connection the app writes a
collection's file through makes a write that needs more pages fail with SQLITE_FULL
("database or disk is full"), exactly as a full disk does. The killed writer is a real
process (`tests/fault_writer.py`) killed with SIGKILL while it writes.
"""

from __future__ import annotations

import errno
import io
import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import mongoengine
import pytest

from admin_app import records, store
from admin_app.importer import jobs
from admin_app.models import Customer
from admin_app.records import history
from admin_app.records.trace import COMMAND_LINE, IMPORT, Trace

from .conftest import make_app
from .fault_writer import SIZE, UPDATED, values
from .helpers import csrf_token, login
from .test_seed_upload import confirm, finished

ROOT = Path(__file__).resolve().parents[1]
UNLIMITED = 4294967294  # SQLite's largest max_page_count: space freed
AGAIN = ("free some space and load the same file again to complete it: the records already "
         "loaded are found by their natural keys, not loaded twice")
DISK_FULL_PAGE = ("The server&#39;s disk is full, so this could not be completed: ask your "
                  "admin to free some space, then try again.")


@pytest.fixture
def embedded(tmp_path):
    app = make_app(tmp_path, "embedded")
    yield app
    mongoengine.disconnect()


def connection(name):
    """The SQLite connection the app writes collection `name` through."""
    collection = store.database()[name]
    collection.find_one()  # opens the file
    return collection._store._connection


def limit(name, pages_more):
    """Let the collection's file grow by `pages_more` pages, then it is full."""
    file = connection(name)
    pages = file.execute("PRAGMA page_count").fetchone()[0]
    file.execute(f"PRAGMA max_page_count = {pages + pages_more}")


def pages(name):
    return connection(name).execute("PRAGMA page_count").fetchone()[0]


def customers_file(path, count, prefix="c"):
    data = {"orgs": [{"name": "Acme"}],
            "customers": [{"name": f"Customer {i}", "email": f"{prefix}{i}@example.com",
                           "org": "Acme", "department": f"Dept {i % 7}"}
                          for i in range(count)]}
    path.write_text(json.dumps(data), encoding="utf-8")
    return data


def records_of(data):
    """The file's records as stored now, by name (orgs) or email (customers)."""
    stored = {}
    for doc in Customer._get_collection().find({}):
        stored[doc.get("email") or doc.get("name")] = doc
    wanted = {"Acme": {"name": "Acme", "level": "Org"}}
    wanted.update({c["email"]: {**c, "level": "Customer"} for c in data["customers"]})
    return {key: stored[key] for key in wanted if key in stored}, wanted


def assert_whole(present, wanted):
    """Every record of the file in the store holds all its values, at its first revision."""
    acme = present["Acme"]["_id"]
    for key, doc in present.items():
        want = {k: (acme if k == "org" else v) for k, v in wanted[key].items()}
        assert {k: doc.get(k) for k in want} == want, key
        assert doc["revision"] == 1 and doc["search_keys"] and doc["archived"] is False


def assert_one_create_each():
    """Each customer has exactly one "created" change set, and no change set is of a
    record that is not there."""
    ids = Customer._get_collection().distinct("_id")
    created = [c["record"] for c in history.collection().find({"created": True})]
    assert sorted(created) == sorted(ids)
    assert set(history.collection().distinct("record")) <= set(ids)


# -- a full disk ------------------------------------------------------------------------

@pytest.mark.parametrize("full", ["customers", "record_history"])
def test_a_full_disk_stops_the_load_in_a_sentence_and_loading_again_completes_it(
        embedded, tmp_path, full):
    """The disk fills while the records are written, or while their history is: the load
    says so and how many of the file's records are in; each record is whole (and, once
    `flask history repair` has run, has its history); loading the same file again
    completes it."""
    runner = embedded.test_cli_runner()
    with embedded.app_context():
        probe = tmp_path / "probe.json"
        customers_file(probe, SIZE, prefix="probe")
        before = pages(full)
        assert runner.invoke(args=["seed", "load", str(probe)]).exit_code == 0
        per_batch = pages(full) - before
        limit(full, per_batch * 3 // 2)  # room for a batch and a half
        path = tmp_path / "load.json"
        data = customers_file(path, 3 * SIZE)

        stopped = runner.invoke(args=["seed", "load", str(path)])
        present, wanted = records_of(data)
        customers = len(present) - 1  # and Acme
        assert customers % SIZE == 0 and 0 < customers < 3 * SIZE  # whole batches, not all
        assert stopped.exit_code == 1
        assert stopped.stdout == ""
        assert stopped.stderr == (f"The load stopped: the disk is full ({len(present):,} of "
                                  f"the 3,001 records in load.json had been loaded); "
                                  f"{AGAIN}.\n")
        assert_whole(present, wanted)

        connection(full).execute(f"PRAGMA max_page_count = {UNLIMITED}")  # space freed
        records.history.repair(records.MODELS)  # `flask history repair`
        assert_one_create_each()
        again = runner.invoke(args=["seed", "load", str(path)])
        assert again.exit_code == 0, again.output
        assert (f"{3001 - len(present)} created, 0 updated, {len(present)} unchanged, "
                f"0 failed.") in again.stdout
        present, wanted = records_of(data)
        assert len(present) == len(wanted) == 3001
        assert Customer.objects(level="Customer").count() == 4 * SIZE  # none twice
        assert_whole(present, wanted)
        assert_one_create_each()


def test_a_full_disk_fails_the_upload_job_and_its_page_says_what_was_written(
        embedded, tmp_path, monkeypatch):
    # The job runs where the limit is: in this process (the page starts a process).
    monkeypatch.setattr(jobs, "_in_process", lambda job: jobs.run(str(job.pk)))
    data = customers_file(tmp_path / "load.json", 3 * SIZE)
    with embedded.test_client() as client:
        assert login(client).status_code == 302
        page = client.get("/admin/seed/")
        checked = client.post("/admin/seed/", content_type="multipart/form-data", data={
            "csrf_token": csrf_token(page.get_data(as_text=True)), "on_existing": "update",
            "file": (io.BytesIO(json.dumps(data).encode()), "load.json")})
        html = finished(client, checked).get_data(as_text=True)
        assert "Dry run: nothing was written." in html
        with embedded.app_context():
            limit("customers", 2)
        done = " ".join(finished(client, confirm(client, html)).get_data(as_text=True).split())
        with embedded.app_context():
            present, _wanted = records_of(data)
            assert jobs.SeedJob.objects(options__dry_run=False).get().status == "failed"
    assert (f"The load stopped: the disk is full ({len(present):,} of the 3,001 records in "
            f"load.json had been loaded); {AGAIN}. Records written before it stopped stay; "
            f"nothing was deleted.") in done


def fill(name):
    """Fill the collection's file to its last page, as a full disk leaves it."""
    collection = store.database()[name]
    limit(name, 0)
    size = 4096
    while size:
        try:
            collection.insert_one({"padding": "x" * size})
        except sqlite3.OperationalError as error:
            assert "database or disk is full" in str(error)
            size //= 2


def test_signing_in_on_a_full_disk_answers_507_in_a_sentence(embedded):
    with embedded.app_context():
        fill("signin_failures")
        fill("audit_log")
    with embedded.test_client() as client:
        assert client.get("/login").status_code == 200  # reading needs no room
        answer = login(client)
    assert answer.status_code == 507
    html = answer.get_data(as_text=True)
    assert "<h1 class=\"h4\">Disk full</h1>" in html and DISK_FULL_PAGE in html
    assert "Traceback" not in html


def test_only_a_full_disk_answers_507_any_other_os_error_stays_a_500(app_with):
    app = app_with(TESTING=False)

    def no_space():
        raise OSError(errno.ENOSPC, "No space left on device")

    def missing():
        raise FileNotFoundError(errno.ENOENT, "No such file")

    app.add_url_rule("/no-space", "no_space", no_space)
    app.add_url_rule("/missing", "missing", missing)
    with app.test_client() as client:
        full, other = client.get("/no-space"), client.get("/missing")
    assert full.status_code == 507 and DISK_FULL_PAGE in full.get_data(as_text=True)
    assert other.status_code == 500
    assert "Something went wrong" in other.get_data(as_text=True)


# -- a file nested too deeply -------------------------------------------------------------

DEEP = "[" * 10_000 + "]" * 10_000
VALUES = "a record's values are text, numbers, true/false or lists of them"


def test_a_json_file_nested_10000_deep_is_a_file_that_cannot_be_read(runner, tmp_path):
    path = tmp_path / "deep.json"
    path.write_text('{"orgs": [{"name": "Acme"}],\n "customers": [{"name": "Ann"}, '
                    f'{{"name": "Bo", "department": {DEEP}}}]}}')
    result = runner.invoke(args=["seed", "load", str(path)])
    assert result.exit_code == 2
    # Said at the 100th level: the value's 97th bracket (its first is at column 62).
    assert result.output == (
        "Nothing was loaded: deep.json cannot be read: its lists or objects nest too deeply "
        f"(customers #2, at line 2, column 158); {VALUES}.\n")
    assert Customer.objects.count() == 0


def test_a_json_lines_line_nested_10000_deep_is_reported_and_the_others_load(runner,
                                                                             tmp_path):
    """One line of a JSON Lines file is one record: like a line that is not JSON, it fails
    on its own (exit 1) and the other lines load."""
    path = tmp_path / "deep.jsonl"
    path.write_text('{"entity": "orgs", "name": "Acme"}\n'
                    f'{{"entity": "customers", "name": "Bo", "department": {DEEP}}}\n'
                    '{"entity": "customers", "name": "Ann", "org": "Acme"}\n')
    result = runner.invoke(args=["seed", "load", str(path)])
    assert result.exit_code == 1
    assert f"deep.jsonl line 2: its lists or objects nest too deeply to be read; {VALUES}." \
        in result.output
    assert "2 created, 0 updated, 0 unchanged, 1 failed" in result.output
    assert sorted(c.name for c in Customer.objects) == ["Acme", "Ann"]


@pytest.mark.parametrize("name, says", [
    ("deep.json", "Nothing was loaded: deep.json cannot be read: its lists or objects nest "
                  f"too deeply (customers #1, at line 1, column 141); {VALUES}."),
    ("deep.jsonl", "deep.jsonl line 1: its lists or objects nest too deeply to be read; "
                   f"{VALUES}."),
])
def test_the_upload_page_says_a_file_nests_too_deeply(client, name, says):
    record = f'"name": "Bo", "department": {DEEP}'
    text = f'{{"entity": "customers", {record}}}\n' if name.endswith(".jsonl") \
        else f'{{"customers": [{{{record}}}]}}'
    page = client.get("/admin/seed/")
    response = client.post("/admin/seed/", content_type="multipart/form-data", data={
        "csrf_token": csrf_token(page.get_data(as_text=True)), "on_existing": "update",
        "file": (io.BytesIO(text.encode()), name)})
    html = finished(client, response).get_data(as_text=True).replace("&#39;", "'")
    assert says in html
    assert Customer.objects.count() == 0


# -- a writer killed mid-batch ------------------------------------------------------------

COUNT = 3 * SIZE
# When each writer is killed: that far into its second batch (its first batch took as
# long), or "history": its second batch's records written, their history not yet logged.
MOMENTS = (0.1, 0.35, 0.6, 0.85, "history")


def writers(instance, mode):
    """Start a writer per moment, kill it then (SIGKILL) and yield its batch name and the
    moment. The next writer starts (importing takes a while) as soon as the last is
    killed, while the caller checks what the last left."""
    def start(number):
        hold = ["2"] if MOMENTS[number] == "history" else []
        return subprocess.Popen(
            [sys.executable, "-m", "tests.fault_writer", str(instance), f"{mode}-{number}",
             mode, str(COUNT), *hold], cwd=ROOT, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True)

    running = [start(0)]
    try:
        for number, moment in enumerate(MOMENTS):
            process = running[0]
            assert process.stdout.readline() == "ready\n"
            process.stdin.write("go\n")
            process.stdin.flush()
            assert process.stdout.readline() == "batch 1 started\n"
            first = time.monotonic()
            assert process.stdout.readline() == "batch 2 started\n"
            if moment == "history":
                assert process.stdout.readline() == "holding\n"
            else:
                time.sleep(moment * (time.monotonic() - first))
            process.send_signal(signal.SIGKILL)
            assert process.wait() == -signal.SIGKILL  # reaped: no longer running
            process.communicate()
            running.remove(process)
            if number + 1 < len(MOMENTS):
                running.append(start(number + 1))
            yield f"{mode}-{number}", moment
    finally:
        for process in running:  # a test that failed leaves no writer behind
            process.kill()
            process.communicate()


def test_a_create_batch_killed_half_way_leaves_whole_records_with_their_history(embedded):
    collection = Customer._get_collection()
    made_before = 0
    with embedded.app_context():
        for name, moment in writers(Path(embedded.instance_path), "create"):
            wanted = {v["email"]: v for v in (values(name, i) for i in range(COUNT))}
            made = list(collection.find({"email": {"$in": list(wanted)}}))
            # Whole batches (one transaction each), some but not all of them, and nothing
            # else (a record without its email).
            assert len(made) % SIZE == 0 and 0 < len(made) < COUNT, (name, len(made))
            assert collection.count_documents({}) == made_before + len(made)
            made_before += len(made)
            for doc in made:
                want = wanted[doc["email"]]
                assert {k: doc.get(k) for k in want} == want
                assert doc["revision"] == 1 and doc["search_keys"] and doc["level"] == "Customer"
            logged = records.history.repair(records.MODELS)
            if moment == "history":  # the second batch's records carried their history
                assert (len(made), logged) == (2 * SIZE, SIZE)
            changes = list(history.collection().find({"batch": name}))
            assert sorted(c["record"] for c in changes) == sorted(d["_id"] for d in made)
            assert all(c["created"] for c in changes)
        assert_one_create_each()
        assert store.database()[history.INTENTS].count_documents({}) == 0


def test_an_update_batch_killed_half_way_leaves_each_record_old_or_new_with_its_history(
        embedded):
    collection = Customer._get_collection()
    with embedded.app_context():
        trace = Trace(COMMAND_LINE, IMPORT, batch="setup")
        for start in range(0, COUNT, SIZE):
            records.batch.write("customer", [
                {"name": f"Customer {i}", "department": "Old", "location": UPDATED}
                for i in range(start, start + SIZE)], [], trace)
        before = {d["_id"]: d for d in collection.find({"location": UPDATED})}
        for name, moment in writers(Path(embedded.instance_path), "update"):
            # The next writer has started but waits: what this one left is its start.
            logged = records.history.repair(records.MODELS)
            after = {d["_id"]: d for d in collection.find({"location": UPDATED})}
            changed = {oid for oid, doc in after.items() if doc != before[oid]}
            assert 0 < len(changed) < COUNT, (name, len(changed))
            if moment == "history":
                assert (len(changed), logged) == (2 * SIZE, SIZE)
            for oid in changed:  # the new Department, one revision on
                assert {k: after[oid][k] for k in ("department", "revision")} == {
                    "department": name, "revision": before[oid]["revision"] + 1}
            changes = list(history.collection().find({"batch": name}))
            assert sorted(c["record"] for c in changes) == sorted(changed)
            for change in changes:
                old = before[change["record"]]
                assert change["revision"] == old["revision"] + 1 and not change["created"]
                assert [(f["name"], f["old"], f["new"]) for f in change["fields"]] == [
                    ("department", old["department"], name)]
            before = after
        assert_one_create_each()
        assert store.database()[history.INTENTS].count_documents({}) == 0


def test_a_full_disk_stops_a_directory_sync_run_in_a_sentence(embedded):
    from admin_app.directory.connectors import Connector
    from admin_app.directory.reader import Entry, Extract
    from admin_app.directory.runs import SyncRun
    from admin_app.directory.sync import run

    people = [Entry(f"guid-{n}", f"cn=p{n},ou=people,dc=example,dc=com",
                    {"displayName": [f"Person {n}"], "mail": [f"p{n}@example.com"],
                     "department": ["Sales"]}, False) for n in range(300)]
    with embedded.app_context():
        directory = Connector(name="ad", servers=["ldap://127.0.0.1:1"], bind_user="cn=sync",
                              password="secret", base_dns=["ou=people,dc=example,dc=com"]).save()
        limit("customers", 2)
        done = run(directory, read=lambda _c: Extract(people, True, None, 1), force=True)
        stored = SyncRun.objects.get(pk=done.pk)
        written = Customer.objects.count()
    assert written < len(people)
    assert (done.status, stored.status) == ("failed", "failed")
    assert stored.reason == (
        "The disk is full, so the run stopped part-way: the records it had written stay; "
        "free some space and run it again, which writes only what still differs from the "
        "directory.")
