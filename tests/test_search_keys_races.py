"""Records saved while a search-key job rewrites their keys end with the keys of their
last values under the new dictionary (issue 20): real processes on the embedded store,
people saving records in a loop while the admin makes a field searchable."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC

import mongoengine

from admin_app import dictionary, records
from admin_app.customising.search_key_jobs import SearchKeyJob
from admin_app.models import Customer
from admin_app.records import search_keys

from .conftest import make_app
from .helpers import login
from .races import environment
from .test_search_keys_upkeep import job_page, make_searchable

RECORDS = 2000
TRACE = records.Trace(records.trace.COMMAND_LINE, records.trace.IMPORT)

# One person saving Location on records at random, each save a request of its own (so
# it takes the dictionary as it is then), until told to stop; it prints when it saved
# and the last value it saved on each record.
SAVER = """
import json, random, sys, time
from pathlib import Path
from admin_app import create_app, records
from admin_app.models import Customer

stop, number = Path(sys.argv[1]), sys.argv[2]
app = create_app()
trace = records.Trace(records.trace.COMMAND_LINE, records.trace.FORM)
with app.app_context():
    ids = [doc["_id"] for doc in Customer._get_collection().find({}, {"_id": 1})]
print("ready", flush=True)
saves, last, n = [], {}, 0
while not stop.exists():
    record, value = random.choice(ids), f"Desk{number}x{n} Annexe"
    with app.test_request_context():
        records.update("customer", record, {"location": value}, trace)
    saves.append(time.time())
    last[str(record)] = value
    n += 1
print(json.dumps({"saves": saves, "last": last}))
"""


def test_records_saved_while_the_job_runs_keep_the_keys_of_their_last_values(tmp_path):
    app = make_app(tmp_path, "embedded")
    stop = tmp_path / "stop"
    savers: list[subprocess.Popen] = []
    try:
        with app.app_context():
            records.batch.write("customer", [
                {"name": f"Customer {n:04d}", "level": "Customer", "location": f"Site{n}"}
                for n in range(RECORDS)], [], TRACE)
        env = environment(app.instance_path)
        savers = [subprocess.Popen([sys.executable, "-c", SAVER, str(stop), str(number)],
                                   env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True) for number in range(2)]
        for saver in savers:
            assert saver.stdout.readline().strip() == "ready", saver.communicate()
        with app.test_client() as client:
            assert login(client).status_code == 302
            assert make_searchable(client).status_code == 302
            with app.app_context():
                job = SearchKeyJob.objects.get()
            html = job_page(client, job, timeout=240)
            stop.touch()
            outputs = [saver.communicate(timeout=120) for saver in savers]
            assert [saver.returncode for saver in savers] == [0, 0], \
                [err[-3000:] for _out, err in outputs]
            said = [json.loads(out) for out, _err in outputs]
            with app.app_context():
                job.reload()
                fields = list(search_keys.searched_fields("customer", dictionary.latest()))
                assert "location" in fields
                stale = [doc["name"] for doc in Customer._get_collection().find({})
                         if doc["search_keys"] != search_keys.keys_for("customer", doc, fields)]
                last = {oid: value for one in said for oid, value in one["last"].items()}
                names = {str(doc["_id"]): (doc["name"], doc["location"])
                         for doc in Customer._get_collection().find({})}
            # Every record's keys are those of its values as they ended.
            assert stale == []
            assert "Search is up to date:" in html
            began = job.created_at.replace(tzinfo=UTC).timestamp()
            ended = job.finished_at.replace(tzinfo=UTC).timestamp()
            during = sum(began <= moment <= ended for one in said for moment in one["saves"])
            assert during > 20, f"only {during} saves while the job ran"
            # Search by the new field finds what was saved (a few of the last saves).
            shown = [(names[oid][0], value) for oid, value in sorted(last.items())
                     if names[oid][1] == value][:5]  # (not where the other saved it last)
            assert shown
            for name, value in shown:
                word = value.split()[0].lower()
                found = client.get(f"/admin/customer/?search={word}").get_data(as_text=True)
                assert name in found, (word, name)
    finally:
        stop.touch()
        for saver in savers:
            if saver.poll() is None:
                saver.kill()
        mongoengine.disconnect()
