"""The Directory screens: connectors (password write-only, the map as lines, its
warnings), Query → preview → Load, held runs approved, conflicts linked; admins only."""

from __future__ import annotations

import re
from html import unescape

import pytest

from admin_app.directory import reader
from admin_app.directory.connectors import Connector
from admin_app.directory.runs import SyncRun
from admin_app.models import Customer

from .helpers import csrf_token, submit
from .test_directory_sync import extract, person

FORM = {"name": "corp", "enabled": "y", "servers": "ldap://127.0.0.1:1",
        "bind_user": "cn=sync,dc=example,dc=com", "password": "s3cret-pass",
        "base_dns": "ou=people,dc=example,dc=com", "filter": "(objectClass=person)",
        "becomes": "customer",
        "attribute_map": "displayName => name\nmail => email\ndepartment => department",
        "org_attribute": "company", "org_policy": "create", "default_org": "",
        "org_aliases": "ACME UK => Acme", "field_defaults": "", "schedule": "02:30",
        "ca_file": "", "verify_certificates": "y", "connect_timeout": "5",
        "receive_timeout": "30", "retries": "2", "max_archive_count": "10",
        "max_archive_percent": "10"}


@pytest.fixture
def entries(monkeypatch):
    current: list = [person(n) for n in range(3)]
    monkeypatch.setattr(reader, "read", lambda _c: extract(list(current)))
    return current


def post(client, url: str, page: str):
    html = client.get(page).get_data(as_text=True)
    return client.post(url, data={"csrf_token": csrf_token(html)})


def test_a_connector_is_created_its_password_never_shown_and_blank_keeps_it(client, app):
    response = submit(client, "/admin/directory/new/", FORM)
    assert response.status_code == 302, response.get_data(as_text=True)
    page = client.get("/admin/directory/edit/?name=corp").get_data(as_text=True)
    assert "s3cret-pass" not in page and "A password is stored" in page
    assert "displayName =&gt; name" in page
    response = submit(client, "/admin/directory/edit/?name=corp",
                      {**FORM, "password": "", "name": "renamed"})
    assert response.status_code == 302
    with app.app_context():
        stored = Connector.objects.get(name="corp")
        assert stored.password == "s3cret-pass"
        assert stored.attribute_map["mail"] == "email"
        assert stored.org_aliases == {"ACME UK": "Acme"}
        assert Connector.objects.count() == 1  # its records name it: it keeps its name


def test_a_bad_map_line_is_refused_and_mandatory_gaps_are_warned(client, app):
    response = submit(client, "/admin/directory/new/", {**FORM, "attribute_map": "mail email"})
    assert response.status_code == 200
    assert "line 1 must read" in response.get_data(as_text=True)
    response = submit(client, "/admin/directory/new/", {**FORM, "attribute_map": "mail => email"})
    assert response.status_code == 302
    page = client.get("/admin/directory/edit/?name=corp").get_data(as_text=True)
    assert "Name is mandatory for a Customer" in page


def test_query_previews_and_load_applies_exactly_that_plan(client, app, entries):
    submit(client, "/admin/directory/new/", FORM)
    response = post(client, "/admin/directory/query/?name=corp", "/admin/directory/")
    assert response.status_code == 302
    preview_url = response.headers["Location"]
    page = client.get(preview_url).get_data(as_text=True)
    assert "preview" in page and "Person 1" in page and 'id="load"' in page
    with app.app_context():
        assert Customer.objects(email="p1@example.com").count() == 0
    entries.append(person(9))  # the directory moved since the preview
    response = post(client, preview_url + "load", preview_url)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "changed since the preview" in page
    with app.app_context():
        assert Customer.objects(email="p9@example.com").count() == 0
    entries.pop()
    response = post(client, preview_url + "load", preview_url)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "complete" in page
    with app.app_context():
        assert Customer.objects(email__in=["p0@example.com", "p1@example.com",
                                           "p2@example.com"]).count() == 3
    assert 'id="load"' not in client.get(preview_url).get_data(as_text=True)


def test_a_held_run_is_approved_from_its_page(client, app, entries):
    submit(client, "/admin/directory/new/", {**FORM, "max_archive_count": "0",
                                             "max_archive_percent": "0"})
    with app.app_context():
        from admin_app.directory.sync import run
        assert run(Connector.objects.get(name="corp")).status == "complete"
    entries.pop()
    with app.app_context():
        held = run(Connector.objects.get(name="corp"))
        assert held.status == "held"
    url = f"/admin/directory_runs/run/{held.pk}/"
    assert "Approve and load" in client.get(url).get_data(as_text=True)
    post(client, url + "load", url)
    with app.app_context():
        assert Customer.objects.get(email="p2@example.com").archived is True
        assert SyncRun.objects.get(pk=held.pk).loaded


def test_a_conflict_is_linked_by_an_admins_approval(client, app, entries):
    with app.app_context():
        Customer(name="Typed In", email="p0@example.com").save()
    submit(client, "/admin/directory/new/", FORM)
    response = post(client, "/admin/directory/query/?name=corp", "/admin/directory/")
    url = response.headers["Location"]
    page = client.get(url).get_data(as_text=True)
    assert "Approve link" in page
    with app.app_context():
        preview = SyncRun.objects.order_by("-started").first()
    post(client, f"{url}link?key=guid-0", url)
    with app.app_context():
        from admin_app.directory.sync import run
        assert run(Connector.objects.get(name="corp")).counts["updated"] == 1
        assert Customer.objects.get(email="p0@example.com").directory["key"] == "guid-0"
    assert preview is not None


def test_directory_values_are_shown_escaped(client, app, monkeypatch):
    payload = "<img src=x onerror=alert(1)>"
    monkeypatch.setattr(reader, "read", lambda _c: extract([person(1, displayName=payload,
                                                                   company=payload)]))
    submit(client, "/admin/directory/new/", FORM)
    response = post(client, "/admin/directory/query/?name=corp", "/admin/directory/")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert payload not in page and "&lt;img src=x" in page


def test_agents_cannot_open_the_directory_screens(agent_client):
    for url in ("/admin/directory/", "/admin/directory/new/", "/admin/directory_runs/"):
        assert agent_client.get(url).status_code == 403


def test_a_long_preview_and_many_runs_are_paged(client, app, entries):
    def next_page(html, word):
        return unescape(re.search(rf'href="([^"]+)">{word}<', html).group(1))

    entries[:] = [person(n) for n in range(120)]
    submit(client, "/admin/directory/new/", FORM)
    preview_url = post(client, "/admin/directory/query/?name=corp",
                       "/admin/directory/").headers["Location"]
    first = client.get(preview_url).get_data(as_text=True)
    assert "Page 1 of 3" in first and "Person 0" in first and "Person 119" not in first
    second = client.get(next_page(first, "Next")).get_data(as_text=True)
    last = client.get(next_page(second, "Next")).get_data(as_text=True)
    assert "Page 3 of 3" in last and "Person 119" in last
    for _ in range(25):
        post(client, "/admin/directory/query/?name=corp", "/admin/directory/")
    runs = client.get("/admin/directory_runs/").get_data(as_text=True)
    assert "Page 1 of 2" in runs
    assert "Page 2 of 2" in client.get(next_page(runs, "Older")).get_data(as_text=True)
