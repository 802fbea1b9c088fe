"""The upload page: dry-run report first, then the confirmed load; admins only.

Each step runs as a job: in a process of its own on the embedded store, in a thread on
mongomock (which lives in one process); `store_client` tests run both ways.
"""

import io
import json
import os
import re
import socket
import subprocess
import sys
import time

import mongoengine
import pytest

from admin_app import background
from admin_app.importer.jobs import SeedJob
from admin_app.models import Customer

from .conftest import make_app
from .helpers import csrf_token, login

FILE = {"orgs": [{"name": "Acme"}],
        "customers": [{"name": "Ann", "org": "Acme"}, {"name": "Bo", "email": "bad"}]}


def upload(client, data, filename="load.json", **options):
    page = client.get("/admin/seed/")
    assert page.status_code == 200
    payload = {"csrf_token": csrf_token(page.get_data(as_text=True)), "on_existing": "update",
               "file": (io.BytesIO(json.dumps(data).encode()), filename), **options}
    response = client.post("/admin/seed/", data=payload, content_type="multipart/form-data")
    return finished(client, response) if response.status_code == 302 else response


def finished(client, response, timeout=60):
    """Follow a started job's page until its progress bar gives way to the report."""
    assert response.status_code == 302, response.status_code
    url, deadline = response.headers["Location"], time.monotonic() + timeout
    while True:
        page = client.get(url)
        assert page.status_code == 200
        if 'id="seed-progress"' not in page.get_data(as_text=True):
            return page
        assert time.monotonic() < deadline, "the job did not finish"
        time.sleep(0.1)


def confirm(client, html):
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', html).group(1)
    return client.post("/admin/seed/confirm/", data={"csrf_token": csrf_token(html),
                                                     "token": token})


def test_upload_shows_the_dry_run_report_then_loads_on_confirm(store_client):
    html = upload(store_client, FILE).get_data(as_text=True)
    assert "Check of load.json" in html
    assert "Checked 3 records" in html and "Dry run: nothing was written." in html
    assert "load.json customers #2 (bad): Email: Email must be an email address." in html
    assert Customer.objects.count() == 0
    done = finished(store_client, confirm(store_client, html)).get_data(as_text=True)
    assert "Loaded 3 records" in done and "Records that failed" in done
    assert sorted(c.name for c in Customer.objects) == ["Acme", "Ann"]
    again = confirm(store_client, html)
    assert again.status_code == 400
    assert "That upload is no longer available" in again.get_data(as_text=True)


def test_atomic_option_travels_to_the_confirmed_load(client):
    html = upload(client, FILE, atomic="y").get_data(as_text=True)
    done = finished(client, confirm(client, html)).get_data(as_text=True)
    assert "with --atomic nothing was written" in done
    assert Customer.objects.count() == 0


def test_a_running_job_shows_its_progress(client, tmp_path):
    job = SeedJob(path=str(tmp_path / "big.jsonl"), filename="big.jsonl",
                  options={"dry_run": False}, status="running", host=socket.gethostname(),
                  pid=os.getpid(), done=40000, total=110000).save()
    html = client.get(f"/admin/seed/job/{job.pk}/").get_data(as_text=True)
    assert "Loading: <span id=\"seed-done\">40000</span>" in html
    assert re.search(r'<progress id="seed-progress" class="w-100" max="110000" value="40000"',
                     html)
    progress = client.get(f"/admin/seed/job/{job.pk}/progress").get_json()
    assert progress == {"status": "running", "done": 40000, "total": 110000}


def test_a_job_whose_process_died_is_reported_as_failed(client, tmp_path):
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    job = SeedJob(path=str(tmp_path / "big.jsonl"), filename="big.jsonl",
                  options={"dry_run": False}, status="running", host=socket.gethostname(),
                  pid=int(gone.stdout), done=10, total=100).save()
    html = client.get(f"/admin/seed/job/{job.pk}/").get_data(as_text=True)
    assert "The load stopped: the load process ended unexpectedly. Records written before " \
           "it stopped stay; nothing was deleted." in " ".join(html.split())


def test_upload_refuses_other_file_types_and_bad_tokens(client):
    html = upload(client, FILE, filename="load.csv").get_data(as_text=True)
    assert "Choose a .json or .jsonl seed file." in html
    page = client.get("/admin/seed/").get_data(as_text=True)
    response = client.post("/admin/seed/confirm/", data={
        "csrf_token": csrf_token(page), "token": "../../secret_key"})
    assert response.status_code == 400
    assert client.get("/admin/seed/job/../../secret_key/").status_code == 404
    assert client.get("/admin/seed/job/0123456789abcdef01234567/").status_code == 404


def test_export_download(client):
    Customer(name="Acme", level="Org").save()
    response = client.get("/admin/seed/export/")
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert json.loads(response.get_data(as_text=True))["orgs"] == [{"name": "Acme"}]
    response.close()


def test_agents_load_files_too(agent_client):
    # Agents keep the records: loading records in bulk is their work (issue 13's roles).
    page = agent_client.get("/admin/seed/")
    assert page.status_code == 200
    assert "Load records from a seed file" in page.get_data(as_text=True)
    assert agent_client.get("/admin/seed/job/0123456789abcdef01234567/").status_code == 404



@pytest.fixture
def embedded_client(tmp_path):
    app = make_app(tmp_path, "embedded")
    with app.test_client() as client:
        assert login(client).status_code == 302
        yield client
    mongoengine.disconnect()


def test_a_job_that_cannot_start_says_so(embedded_client, monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("no room for another process")

    monkeypatch.setattr(background.subprocess, "Popen", refuse)  # (the jobs' machinery)
    html = upload(embedded_client, FILE).get_data(as_text=True)
    assert "The check stopped: the load process could not start (no room for another " \
           "process). Records written before it stopped stay; nothing was deleted." \
        in " ".join(html.split())
    assert Customer.objects.count() == 0


def test_a_file_that_cannot_be_read_is_reported_and_cannot_be_confirmed(client):
    page = client.get("/admin/seed/").get_data(as_text=True)
    response = client.post("/admin/seed/", content_type="multipart/form-data", data={
        "csrf_token": csrf_token(page), "on_existing": "update",
        "file": (io.BytesIO(b'{"orgs": [{"name": "Acme"}'), "broken.json")})
    html = finished(client, response).get_data(as_text=True)
    assert "Nothing was loaded: broken.json is not valid JSON: Expecting" in html
    assert 'id="confirm-load"' not in html
    assert Customer.objects.count() == 0
