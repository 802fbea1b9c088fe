"""Search keys follow the dictionary: a change that moves a field's words in or out of
them rewrites every record's keys as a job with a page and a progress bar (issue 20),
safely beside records being saved; rewriting them records nothing in history."""

from __future__ import annotations

import contextlib
import re
import threading
import time

import mongoengine
from flask import g

from admin_app import dictionary, records, store
from admin_app.customising import search_key_jobs
from admin_app.customising.fields import update_field
from admin_app.customising.search_key_jobs import SearchKeyJob
from admin_app.dictionary.documents import FieldDefinition, bump_version
from admin_app.models import Customer
from admin_app.records import RecordChange, rekeying, search_keys, upkeep

from . import record_writers
from .conftest import make_app
from .helpers import csrf_token, form_values, login

TRACE = records.Trace(records.trace.COMMAND_LINE, records.trace.IMPORT)
FORM = records.Trace(records.trace.COMMAND_LINE, records.trace.FORM)
LOCATION = "/admin/dictionary/customer/location/"


def stored(name):
    return Customer._get_collection().find_one({"name": name})


def keyed_by(fields):
    """Each customer's stored keys, and the keys its stored values give under `fields`."""
    return [(doc["name"], doc.get("search_keys"), search_keys.keys_for("customer", doc, fields))
            for doc in Customer._get_collection().find({})]


def searched():
    """The fields the dictionary now searches (name first)."""
    return list(search_keys.searched_fields("customer", dictionary.latest()))


def add(name, location):
    return records.create("customer", {"name": name, "level": "Customer",
                                       "location": location}, TRACE).record["_id"]


# -- outside a request: the job runs before the call returns ------------------------------

def test_making_a_field_searchable_and_unsearchable_rewrites_keys_and_records_no_history(
        store_app):
    with store_app.app_context():
        add("Ann Lee", "Sheffield")
        add("Bo Chan", "Leeds")
        logged, revision = RecordChange.objects.count(), stored("Ann Lee")["revision"]
        assert logged == 2 and "sheffield" not in stored("Ann Lee")["search_keys"]
        with record_writers.watching() as writers:
            update_field("customer", "location", searchable=True)
        assert "sheffield" in stored("Ann Lee")["search_keys"]
        assert "leeds" in stored("Bo Chan")["search_keys"]
        job = SearchKeyJob.objects.order_by("-created_at").first()
        assert (job.status, job.rewritten, job.total, job.label) == ("done", 2, 2, "Location")
        assert job.passes == 1  # nobody saved while it ran: no pass checking saves
        assert upkeep.keyed_fields("customer") == searched()
        with record_writers.watching() as more:
            update_field("customer", "location", searchable=False)
        assert "sheffield" not in stored("Ann Lee")["search_keys"]
        assert "ann" in stored("Ann Lee")["search_keys"]
        assert upkeep.keyed_fields("customer") == searched()
    assert {module for module, _method, _collection in writers + more} == \
        {"admin_app.records.rekeying"}
    assert RecordChange.objects.count() == logged, "keys are not history"
    assert stored("Ann Lee")["revision"] == revision, "nor a new revision"


def test_a_change_to_a_field_never_keyed_starts_no_job(store_app):
    with store_app.app_context():
        add("Ann Lee", "Sheffield")
        upkeep.bring_up_to_date()  # the marker says which fields are keyed
        update_field("customer", "location", label="Site")
        update_field("customer", "location", help_text="Where they sit")
        assert SearchKeyJob.objects.count() == 0


def test_an_older_store_gets_flags_and_keys_once_and_no_history(store_app):
    Customer._get_collection().insert_many([  # as a version before both wrote them
        {"name": "Ann Lee", "level": "Customer", "department": "Finance", "revision": 3},
        {"name": "Bo Chan", "level": "Customer", "archived": True, "revision": 1}])
    with store_app.app_context():
        assert upkeep.bring_up_to_date() == {"archive flags": 1, "search keys": 2,
                                             "ticket search keys": 0}
        assert upkeep.bring_up_to_date() == {"archive flags": 0, "search keys": 0,
                                             "ticket search keys": 0}
        assert store.database()[upkeep.MARKER].count_documents({}) == 3  # and tickets'
    ann, bo = stored("Ann Lee"), stored("Bo Chan")
    assert (ann["archived"], bo["archived"]) == (False, True)
    assert {"ann", "lee", "finance"} <= set(ann["search_keys"])
    assert (ann["revision"], bo["revision"]) == (3, 1)
    assert RecordChange.objects.count() == 0


# -- the rewrite beside saves ---------------------------------------------------------------

def test_a_save_between_the_read_and_the_write_of_keys_keeps_keys_of_its_values(
        app, monkeypatch):
    """The rewrite reads Ann at Sheffield; before it writes her keys a save moves her to
    Bristol: the compare-and-set on the revision misses, and she is keyed from Bristol,
    in that same call (not left to a later pass)."""
    with app.app_context():
        ann = add("Ann Lee", "Sheffield")
        fields = [*searched(), "location"]
        keys_for = search_keys.keys_for
        saved = []

        def save_first(entity, document, fields=None):
            if document.get("_id") == ann and not saved:
                saved.append("Bristol")  # (the save asks for keys too)
                records.update("customer", ann, {"location": "Bristol"}, FORM)
            return keys_for(entity, document, fields)

        monkeypatch.setattr(rekeying.search_keys, "keys_for", save_first)
        done = rekeying.rekey("customer", [ann], fields)
        monkeypatch.undo()
        doc = stored("Ann Lee")
        assert (doc["location"], doc["revision"]) == ("Bristol", 2)
        assert doc["search_keys"] == keys_for("customer", doc, fields)
        assert "bristol" in doc["search_keys"] and "sheffield" not in doc["search_keys"]
        assert (done.read, done.rewritten, done.again) == (1, 1, 1)


def test_a_chunk_of_keys_on_the_embedded_store_is_written_whole_or_not_at_all(tmp_path):
    """The keys of a chunk go in one transaction on the embedded store: a write failing
    part way (a full disk) leaves every record of the chunk with the keys it had."""
    app = make_app(tmp_path, "embedded")
    try:
        with app.app_context():
            add("Ann Lee", "Sheffield")
            add("Bo Chan", "Leeds")
            collection = Customer._get_collection()
            with contextlib.suppress(OSError), store.together(collection):
                for name in ("Ann Lee", "Bo Chan"):
                    collection.update_one({"name": name}, {"$set": {"search_keys": ["x"]}})
                raise OSError(28, "No space left on device")
            assert [stored(name)["search_keys"][-1] for name in ("Ann Lee", "Bo Chan")] \
                == ["lee", "chan"]
            fields = [*searched(), "location"]
            done = rekeying.rekey("customer", [doc["_id"] for doc in collection.find()], fields)
            assert (done.read, done.rewritten, done.again) == (2, 2, 0)
            assert "leeds" in stored("Bo Chan")["search_keys"]
    finally:
        mongoengine.disconnect()


def test_a_save_made_with_the_dictionary_before_the_change_is_keyed_again(app, monkeypatch):
    """A request that took its dictionary before the change saves after the first pass
    passed its record: the next pass, over the records saved meanwhile (her alone),
    keys it again from its values; nobody saved during that one, so the job ends."""
    with app.app_context():
        ann = add("Ann Lee", "Sheffield")
        add("Bo Chan", "Leeds")
        before = dictionary.latest()
        rekey = rekeying.rekey
        calls = []

        def then_a_late_save(entity, chunk, fields):
            done = rekey(entity, chunk, fields)
            calls.append(list(chunk))
            if len(calls) == 1:
                with app.app_context():
                    g.dictionary_snapshot = before  # as a request begun before the change
                    records.update("customer", ann, {"location": "Truro"}, FORM)
                assert "truro" not in stored("Ann Lee")["search_keys"]
            return done

        monkeypatch.setattr(rekeying, "rekey", then_a_late_save)
        update_field("customer", "location", searchable=True)
        doc = stored("Ann Lee")
        assert "truro" in doc["search_keys"]
        assert len(calls) == 2 and len(calls[0]) == 2 and calls[1] == [ann]
        job = SearchKeyJob.objects.get()
        assert (job.status, job.rewritten, job.again, job.passes) == ("done", 2, 1, 2)


def test_a_second_change_while_the_job_runs_is_followed_by_the_same_job(app, monkeypatch):
    with app.app_context():
        add("Ann Lee", "Sheffield")
        Customer._get_collection().update_many({}, {"$set": {"department": "Finance"}})
        upkeep.bring_up_to_date()
        rekey = rekeying.rekey
        calls = []

        def then_another_change(entity, chunk, fields):
            calls.append(list(fields))
            if len(calls) == 1:
                update_field("customer", "department", searchable=False)  # joins the job
            return rekey(entity, chunk, fields)

        monkeypatch.setattr(rekeying, "rekey", then_another_change)
        update_field("customer", "location", searchable=True)
        assert SearchKeyJob.objects.count() == 1
        job = SearchKeyJob.objects.get()
        assert (job.status, job.changes, job.fields) == ("done", 1, searched())
        assert "department" not in searched() and calls[-1] == searched()
        keys = stored("Ann Lee")["search_keys"]
        assert "sheffield" in keys and "finance" not in keys


# -- the dictionary screen and the job's page -------------------------------------------------

@contextlib.contextmanager
def writes_by_thread():
    """The threads that wrote the customers collection while inside."""
    import mongomock
    from litemongo._vendor import mongomock as vendored

    seen: list[int] = []
    originals = []

    def watched(method):
        def write(self, *args, **kwargs):
            if self.name == "customers":
                seen.append(threading.get_ident())
            return method(self, *args, **kwargs)
        return write

    for module in (mongomock, vendored):
        owner = module.collection.Collection
        for name in ("update_one", "update_many", "bulk_write", "replace_one"):
            originals.append((owner, name, owner.__dict__[name]))
            setattr(owner, name, watched(owner.__dict__[name]))
    try:
        yield seen
    finally:
        for owner, name, method in reversed(originals):
            setattr(owner, name, method)


def make_searchable(client, url=LOCATION, searchable=True):
    html = client.get(url).get_data(as_text=True)
    values = form_values(html, 'name="revision"')
    values.pop("searchable", None)
    if searchable:
        values["searchable"] = "y"
    values["csrf_token"] = csrf_token(html)
    return client.post(url, data=values)


def job_page(client, job, timeout=60):
    """The job's page once its progress bar has given way to the outcome."""
    deadline = time.monotonic() + timeout
    while True:
        page = client.get(f"/admin/dictionary/search-keys/{job.pk}/")
        assert page.status_code == 200
        html = " ".join(page.get_data(as_text=True).split())
        if 'id="rekey-progress"' not in html:
            return html
        assert time.monotonic() < deadline, "the job did not finish"
        time.sleep(0.1)


def test_the_change_is_saved_at_once_and_its_job_rewrites_the_keys(store_client, store_app):
    for n in range(30):
        add(f"Customer {n:02d}", f"Site{n:02d} Sheffield")
    with writes_by_thread() as writers:
        saved = make_searchable(store_client)
    assert saved.status_code == 302
    assert threading.get_ident() not in writers, "the request rewrote keys itself"
    assert dictionary.latest().field("customer", "location").searchable is True
    job = SearchKeyJob.objects.get()
    index = " ".join(store_client.get("/admin/dictionary/").get_data(as_text=True).split())
    assert "Search is being brought up to date for Customers: its progress is under " \
           "Search keys on the Dictionary page." in index
    assert f'href="/admin/dictionary/search-keys/{job.pk}/"' in index
    assert "Customers, after the change to Location" in index
    html = job_page(store_client, job)
    assert "Search is up to date: 30 of 30 records were rewritten (the others' keys " \
           "were already right)." in html
    assert all(have == want for _name, have, want in keyed_by(searched()))
    found = store_client.get("/admin/customer/?search=site07").get_data(as_text=True)
    assert "Customer 07" in found and "Customer 08" not in found
    index = store_client.get("/admin/dictionary/").get_data(as_text=True)
    assert "up to date (30 records rewritten)" in " ".join(index.split())


def test_a_running_job_shows_its_progress_and_what_search_answers_meanwhile(client):
    import os
    import socket

    job = SearchKeyJob(entity="customer", field="location", label="Location",
                       status="running", host=socket.gethostname(), pid=os.getpid(),
                       done=4000, total=20000, fields=["location", "name"]).save()
    html = " ".join(client.get(f"/admin/dictionary/search-keys/{job.pk}/")
                    .get_data(as_text=True).split())
    assert 'Rewriting the search keys: <span id="rekey-done">4000</span> of ' \
           '<span id="rekey-total">20000</span> records… You can leave this page' in html
    assert re.search(r'<progress id="rekey-progress" class="w-100" max="20000" value="4000"',
                     html)
    assert "a record not yet rewritten is found as before the change (not yet by a field " \
           "made searchable, still by one made unsearchable)" in html
    progress = client.get(f"/admin/dictionary/search-keys/{job.pk}/progress").get_json()
    assert progress == {"status": "running", "done": 4000, "total": 20000}
    job.update(set__passes=1, set__done=10)
    html = " ".join(client.get(f"/admin/dictionary/search-keys/{job.pk}/")
                    .get_data(as_text=True).split())
    assert 'Checking the records saved meanwhile: <span id="rekey-done">10</span>' in html


def test_the_job_page_is_for_admins(agent_client):
    job = SearchKeyJob(entity="customer", field="location", status="done").save()
    assert agent_client.get(f"/admin/dictionary/search-keys/{job.pk}/").status_code == 403
    assert agent_client.get(f"/admin/dictionary/search-keys/{job.pk}/progress") \
        .status_code == 403
    assert agent_client.get("/admin/dictionary/").status_code == 403
    assert agent_client.post(f"/admin/dictionary/search-keys/{job.pk}/again/") \
        .status_code == 403
    assert SearchKeyJob.objects.get(pk=job.pk).status == "done"


def test_an_unknown_job_is_not_found(client):
    assert client.get("/admin/dictionary/search-keys/0123456789abcdef01234567/") \
        .status_code == 404
    assert client.get("/admin/dictionary/search-keys/../../x/").status_code == 404


def test_a_job_whose_process_died_says_so_and_runs_again_with_its_token(client):
    import subprocess
    import sys

    add("Ann Lee", "Sheffield")
    update_field("customer", "location", searchable=True)
    Customer._get_collection().update_many({}, {"$set": {"search_keys": ["ann"]}})
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    import socket

    job = SearchKeyJob(entity="customer", field="location", label="Location",
                       status="running", host=socket.gethostname(), pid=int(gone.stdout),
                       done=0, total=1).save()
    html = client.get(f"/admin/dictionary/search-keys/{job.pk}/").get_data(as_text=True)
    assert "Bringing search up to date stopped: the process rewriting the search keys " \
           "ended unexpectedly." in " ".join(html.split())
    refused = client.post(f"/admin/dictionary/search-keys/{job.pk}/again/")
    assert refused.status_code == 400
    assert SearchKeyJob.objects.get(pk=job.pk).status == "failed"
    again = client.post(f"/admin/dictionary/search-keys/{job.pk}/again/",
                        data={"csrf_token": csrf_token(html)})
    assert again.status_code == 302
    assert "Search is up to date: 1 of 1 records were rewritten" in job_page(client, job)
    assert "sheffield" in stored("Ann Lee")["search_keys"]


# -- a full disk --------------------------------------------------------------------------------

def test_a_full_disk_stops_the_job_in_a_sentence_and_running_it_again_finishes(
        tmp_path, capsys, monkeypatch):
    import mongoengine

    from .conftest import make_app
    from .test_faults import UNLIMITED, connection, limit

    app = make_app(tmp_path, "embedded")
    try:
        with app.app_context():
            batch = [{"name": f"Customer {n:03d}", "level": "Customer",
                      "location": f"Building{n} Riverside Campus Northern Quarter Floor{n}"}
                     for n in range(600)]
            records.batch.write("customer", batch, [], TRACE)
            # The job runs where the limit is: in this process.
            job = SearchKeyJob(entity="customer", field="location", label="Location").save()
            # The change saved, as the screen saves it before its job starts.
            FieldDefinition.objects(entity="customer", name="location").update_one(
                set__searchable=True)
            bump_version()
            rekey = rekeying.rekey

            def then_the_disk_fills(entity, chunk, fields):
                done = rekey(entity, chunk, fields)
                limit("customers", 2)  # after the first chunk, room for a few records
                return done

            monkeypatch.setattr(rekeying, "rekey", then_the_disk_fills)
            search_key_jobs.run(str(job.pk))
            monkeypatch.undo()
            job.reload()
            assert job.status == "failed"
            assert job.done == rekeying.CHUNK
            said = (f"the disk is full ({job.done:,} of 600 records done); free some space "
                    f"and run it again: it carries on after the records done")
            assert job.error == said
            assert capsys.readouterr().err == f"Bringing search up to date stopped: {said}.\n"
            done_before = job.done
            connection("customers").execute(f"PRAGMA max_page_count = {UNLIMITED}")
        with app.test_client() as client:
            assert login(client).status_code == 302
            html = client.get(f"/admin/dictionary/search-keys/{job.pk}/").get_data(as_text=True)
            assert f"Bringing search up to date stopped: {said}. The records done keep their " \
                   f"new keys" in " ".join(html.split())
            again = client.post(f"/admin/dictionary/search-keys/{job.pk}/again/",
                                data={"csrf_token": csrf_token(html)})
            assert again.status_code == 302
            html = job_page(client, job)
        with app.app_context():
            assert all(have == want for _n, have, want in keyed_by(searched()))
            resumed = SearchKeyJob.objects.get(pk=job.pk)
        # Those of the chunk the disk stopped were rewritten then, found right now.
        assert done_before <= resumed.rewritten <= 600
        assert f"Search is up to date: {resumed.rewritten} of 600 records were rewritten" \
            in html
    finally:
        mongoengine.disconnect()
