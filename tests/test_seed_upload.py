"""The upload page: dry-run report first, then the confirmed load; admins only."""

import io
import json
import re

from admin_app.models import Customer

from .helpers import csrf_token

FILE = {"orgs": [{"name": "Acme"}],
        "customers": [{"name": "Ann", "org": "Acme"}, {"name": "Bo", "email": "bad"}]}


def upload(client, data, filename="load.json", **options):
    page = client.get("/admin/seed/")
    assert page.status_code == 200
    payload = {"csrf_token": csrf_token(page.get_data(as_text=True)), "on_existing": "update",
               "file": (io.BytesIO(json.dumps(data).encode()), filename), **options}
    return client.post("/admin/seed/", data=payload, content_type="multipart/form-data")


def test_upload_shows_the_dry_run_report_then_loads_on_confirm(client):
    checked = upload(client, FILE)
    html = checked.get_data(as_text=True)
    assert "Checked 3 records" in html and "Dry run: nothing was written." in html
    assert "load.json customers #2 (bad): Email: Email must be an email address." in html
    assert Customer.objects.count() == 0
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', html).group(1)
    done = client.post("/admin/seed/confirm/", data={
        "csrf_token": csrf_token(html), "token": token, "on_existing": "update"})
    assert "Loaded 3 records" in done.get_data(as_text=True)
    assert sorted(c.name for c in Customer.objects) == ["Acme", "Ann"]
    again = client.post("/admin/seed/confirm/", data={
        "csrf_token": csrf_token(html), "token": token, "on_existing": "update"})
    assert again.status_code == 400
    assert "That upload is no longer available" in again.get_data(as_text=True)


def test_atomic_option_travels_to_the_confirmed_load(client):
    html = upload(client, FILE, atomic="y").get_data(as_text=True)
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', html).group(1)
    done = client.post("/admin/seed/confirm/", data={
        "csrf_token": csrf_token(html), "token": token, "on_existing": "update", "atomic": "y"})
    assert "with --atomic nothing was written" in done.get_data(as_text=True)
    assert Customer.objects.count() == 0


def test_upload_refuses_other_file_types_and_bad_tokens(client):
    html = upload(client, FILE, filename="load.csv").get_data(as_text=True)
    assert "Choose a .json or .jsonl seed file." in html
    page = client.get("/admin/seed/").get_data(as_text=True)
    response = client.post("/admin/seed/confirm/", data={
        "csrf_token": csrf_token(page), "token": "../../secret_key", "on_existing": "update"})
    assert response.status_code == 400


def test_export_download(client):
    Customer(name="Acme", level="Org").save()
    response = client.get("/admin/seed/export/")
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert json.loads(response.get_data(as_text=True))["orgs"] == [{"name": "Acme"}]
    response.close()


def test_agents_cannot_load_files(agent_client):
    assert agent_client.get("/admin/seed/").status_code == 403
    assert agent_client.get("/admin/customer/").status_code == 200
