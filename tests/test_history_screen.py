"""The History tab of a record and a batch's changes, as an admin or an agent reads them.

Records and their history are written through `records.create` / `records.update`
(every way in writes through them), then the pages are read as a person would: the
entries in order, the labels then and now, the values as text.
"""

from __future__ import annotations

import re
from datetime import datetime
from html import unescape

from admin_app import records
from admin_app.customising.fields import update_field
from admin_app.directory.runs import SyncRun
from admin_app.importer.jobs import SeedJob
from admin_app.models import User
from admin_app.records import history, trace

from .helpers import ADMIN_EMAIL

BY_FORM = trace.Trace(trace.COMMAND_LINE, trace.FORM)
BY_IMPORT = trace.Trace(trace.import_job("job-1"), trace.IMPORT)
SCRIPT = "<script>alert(1)</script>"

_ENTRY = re.compile(r'<tr class="history-entry" id="change-([0-9a-f]{24})">(.*?)</tr>', re.S)
_FIELD = re.compile(r'<li class="history-field" data-field="[^"]*">(.*?)</li>', re.S)
_LINK = re.compile(r'id="history-(newer|older)" href="([^"]+)"')


def entries(html: str) -> list[dict]:
    """Each change set on the page: who, the way in, and its field lines as text."""
    found = []
    for change_id, row in _ENTRY.findall(html):
        who = re.search(r'class="history-who">(.*?)</td>', row, re.S).group(1)
        way = re.search(r'class="history-way">(.*?)</td>', row, re.S).group(1)
        lines = [" ".join(unescape(re.sub(r"<[^>]+>", "", line)).split())
                 for line in _FIELD.findall(row)]
        found.append({"id": change_id, "who": unescape(who), "way": unescape(way),
                      "lines": [line.replace(" revert this field", "") for line in lines]})
    return found


def links(html: str) -> dict[str, str]:
    return {name: unescape(url) for name, url in _LINK.findall(html)}


def customer(values: dict, trace_: trace.Trace = BY_FORM):
    return records.create("customer", {"name": "Ada", **values}, trace_).record["_id"]


def field_id(name: str, entity: str = "customer") -> str:
    from admin_app import dictionary

    return dictionary.latest().field(entity, name).id


def test_newest_first_paged_by_twenty_across_45_changes(store_app, store_client):
    with store_app.app_context():
        oid = customer({"location": "Place 0"})
        for n in range(1, 45):
            records.update("customer", oid, {"location": f"Place {n}"}, BY_FORM)
    url = f"/admin/history/customer/{oid}/"
    first = store_client.get(url).get_data(as_text=True)
    shown = entries(first)
    assert [e["lines"][0] for e in shown] == [
        f"Location: Place {n - 1} → Place {n}" for n in range(44, 24, -1)]
    assert "older" in links(first) and "newer" not in links(first)

    second = store_client.get(links(first)["older"]).get_data(as_text=True)
    assert [e["lines"][0] for e in entries(second)] == [
        f"Location: Place {n - 1} → Place {n}" for n in range(24, 4, -1)]
    third = store_client.get(links(second)["older"]).get_data(as_text=True)
    last = entries(third)
    assert len(last) == 5 and "older" not in links(third)
    assert "Location: Place 0" in last[-1]["lines"]  # the create, once
    assert "Created with:" in third

    # Previous walks back: the same second page, then the first.
    back = store_client.get(links(third)["newer"]).get_data(as_text=True)
    assert [e["id"] for e in entries(back)] == [e["id"] for e in entries(second)]
    front = store_client.get(links(back)["newer"]).get_data(as_text=True)
    assert [e["id"] for e in entries(front)] == [e["id"] for e in shown]
    assert "newer" not in links(front)


def test_the_pages_read_by_revision_ranges_without_skips(store_app, store_client):
    with store_app.app_context():
        oid = customer({"location": "Place 0"})
        for n in range(1, 25):
            records.update("customer", oid, {"location": f"Place {n}"}, BY_FORM)
    # Asked for as "older than revision 6": revisions 5..1, however deep that is.
    page = store_client.get(f"/admin/history/customer/{oid}/?before=6").get_data(as_text=True)
    assert [e["lines"][0] for e in entries(page)][:1] == ["Location: Place 3 → Place 4"]
    assert len(entries(page)) == 5
    # A cursor that is not a revision is the first page, not an error.
    assert store_client.get(f"/admin/history/customer/{oid}/?before=x").status_code == 200


def test_filter_by_field_and_by_way_in(store_app, store_client):
    with store_app.app_context():
        oid = customer({"department": "Finance", "location": "Leeds"})
        records.update("customer", oid, {"department": "Sales"}, BY_FORM)
        records.update("customer", oid, {"location": "York"}, BY_IMPORT)
        records.update("customer", oid, {"department": "HR", "location": "Hull"}, BY_IMPORT)
        department = field_id("department")
    url = f"/admin/history/customer/{oid}/"

    by_field = entries(store_client.get(f"{url}?field={department}").get_data(as_text=True))
    assert [sorted(line.split(":")[0] for line in e["lines"]) for e in by_field] == [
        ["Department", "Location"], ["Department"],
        ["Archive", "Department", "Level", "Location", "Name"]]  # the create
    by_way = entries(store_client.get(f"{url}?way=import").get_data(as_text=True))
    assert [e["lines"] for e in by_way] == [
        ["Department: Sales → HR", "Location: York → Hull"], ["Location: Leeds → York"]]
    assert {e["way"] for e in by_way} == {"Import"} and by_way[0]["who"] == "import job job-1"
    both = store_client.get(f"{url}?field={department}&way=form").get_data(as_text=True)
    assert [e["lines"][0] for e in entries(both)] == ["Department: Finance → Sales",
                                                      "Archive: No"]  # and the create
    assert f'<option value="{department}" selected>Department</option>' in both
    nothing = store_client.get(f"{url}?way=portal").get_data(as_text=True)
    assert entries(nothing) == [] and "No change matches these filters." in nothing


def test_a_relabelled_field_shows_its_label_then_and_now_and_a_retired_one_still_shows(
        store_app, store_client):
    with store_app.app_context():
        oid = customer({"department": "Finance", "news": "Old news"})
        records.update("customer", oid, {"department": "Sales", "news": "New news"}, BY_FORM)
        update_field("customer", "department", label="Team")
        update_field("customer", "news", retired=True)
    with store_app.app_context():  # a new request's dictionary
        records.update("customer", oid, {"department": "HR"}, BY_FORM)
    shown = entries(store_client.get(f"/admin/history/customer/{oid}/").get_data(as_text=True))
    assert shown[0]["lines"] == ["Team: Sales → HR"]
    assert shown[1]["lines"] == ["Department (now Team): Finance → Sales",
                                 "News (retired): Old news → New news"]


def test_labels_and_values_carrying_markup_are_shown_as_text(store_app, store_client):
    with store_app.app_context():
        oid = customer({"department": "Finance"})
        records.update("customer", oid, {"department": SCRIPT, "location": f"x{SCRIPT}"},
                       BY_FORM)
        update_field("customer", "department", label=f"Team {SCRIPT}")
    response = store_client.get(f"/admin/history/customer/{oid}/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and SCRIPT not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert entries(html)[0]["lines"][0] == f"Department (now Team {SCRIPT}): Finance → {SCRIPT}"


def test_values_read_as_dates_names_and_yes_or_no(store_app, store_client):
    with store_app.app_context():
        acme = records.create("customer", {"name": "Acme", "level": "Org"}, BY_FORM).record
        oid = customer({})
        records.update("customer", oid, {"org": acme["_id"],
                                         "expiry_date": datetime(2027, 3, 31)}, BY_FORM)
        records.archive("customer", oid, BY_FORM)
    shown = entries(store_client.get(f"/admin/history/customer/{oid}/").get_data(as_text=True))
    assert shown[0]["lines"] == ["Archive: No → Yes"]
    assert sorted(shown[1]["lines"]) == ["Expiry Date: — → 2027-03-31", "Org: — → Acme"]


def test_a_change_left_in_the_record_by_a_killed_writer_is_shown(store_app, store_client):
    with store_app.app_context():
        oid = customer({"department": "Finance"})
        written = records.update("customer", oid, {"department": "Sales"}, BY_FORM)
        # The writer died between the record's write and its history's: only the record
        # carries the change set.
        history.collection().delete_one({"_id": written.change["_id"]})
    shown = entries(store_client.get(f"/admin/history/customer/{oid}/").get_data(as_text=True))
    assert shown[0]["lines"] == ["Department: Finance → Sales"]


def test_every_record_page_has_a_history_tab(store_app, store_client):
    with store_app.app_context():
        org = records.create("customer", {"name": "Acme", "level": "Org"}, BY_FORM).record["_id"]
        contact = records.create("contact", {"name": "Priya", "customer": org},
                                 BY_FORM).record["_id"]
    for view, entity, oid in (("org", "customer", org), ("contact", "contact", contact)):
        page = store_client.get(f"/admin/{view}/edit/?id={oid}").get_data(as_text=True)
        tab = f'id="history-tab" href="/admin/history/{entity}/{oid}/"'
        assert tab in page
        history_page = store_client.get(f"/admin/history/{entity}/{oid}/").get_data(as_text=True)
        assert f'id="details-tab" href="/admin/{view}/edit/?id={oid}"' in history_page
        assert entries(history_page)[0]["lines"][1] in ("Name: Acme", "Name: Priya")


def test_an_import_job_and_a_sync_run_link_to_the_changes_they_made(store_app, store_client):
    with store_app.app_context():
        job = SeedJob(path="/nowhere", filename="people.json", options={"dry_run": False},
                      status="done").save()
        run = SyncRun(connector="corp", status="complete").save()
        ada, bob = customer({"location": "Leeds"}), customer({"location": "York"})
        by_job = trace.Trace(trace.import_job(job.pk), trace.IMPORT).in_batch(job.pk)
        by_run = trace.Trace(trace.connector("corp"), trace.SYNC).in_batch(run.pk)
        records.update("customer", ada, {"location": "Hull"}, by_job)
        records.update("customer", bob, {"location": "Bath"}, by_job)
        records.update("customer", ada, {"department": "Sales"}, by_run)

    job_page = store_client.get(f"/admin/seed/job/{job.pk}/").get_data(as_text=True)
    assert f'id="job-changes" href="/admin/history/batch/{job.pk}/"' in job_page
    changes_page = store_client.get(f"/admin/history/batch/{job.pk}/").get_data(as_text=True)
    assert "Changes made by the import of people.json" in changes_page
    assert [e["lines"] for e in entries(changes_page)] == [["Location: York → Bath"],
                                                         ["Location: Leeds → Hull"]]
    assert f'href="/admin/history/customer/{ada}/">Customer: Ada</a>' in changes_page

    run_page = store_client.get(f"/admin/directory_runs/run/{run.pk}/").get_data(as_text=True)
    assert f'id="run-changes" href="/admin/history/batch/{run.pk}/"' in run_page
    run_changes = store_client.get(f"/admin/history/batch/{run.pk}/").get_data(as_text=True)
    assert [e["lines"] for e in entries(run_changes)] == [["Department: — → Sales"]]
    # The record's own History names the batch and links to its page.
    record_page = store_client.get(f"/admin/history/customer/{ada}/").get_data(as_text=True)
    assert f'href="/admin/directory_runs/run/{run.pk}/">sync run of corp' in record_page
    assert f'href="/admin/seed/job/{job.pk}/">import of people.json</a>' in record_page


def test_a_batch_list_pages_by_change_id(store_app, store_client):
    with store_app.app_context():
        ids = [customer({"location": "Leeds"}) for _ in range(25)]
        by_job = trace.Trace(trace.import_job("j"), trace.IMPORT).in_batch("job-25")
        for oid in ids:
            records.update("customer", oid, {"location": "York"}, by_job)
    first = store_client.get("/admin/history/batch/job-25/").get_data(as_text=True)
    second = store_client.get(links(first)["older"]).get_data(as_text=True)
    assert (len(entries(first)), len(entries(second))) == (20, 5)
    assert not {e["id"] for e in entries(first)} & {e["id"] for e in entries(second)}
    assert "older" not in links(second)


def test_an_agent_reads_history_and_a_sync_run_is_named_without_its_admin_link(app,
                                                                               agent_client):
    with app.app_context():
        run = SyncRun(connector="corp", status="complete").save()
        oid = customer({})
        records.update("customer", oid, {"location": "Leeds"},
                       trace.Trace(trace.connector("corp"), trace.SYNC).in_batch(run.pk))
    page = agent_client.get(f"/admin/history/customer/{oid}/").get_data(as_text=True)
    assert "sync run of corp" in page and "/admin/directory_runs/" not in page
    assert entries(page)[0]["way"] == "Directory sync"
    assert agent_client.get(f"/admin/history/batch/{run.pk}/").status_code == 200


def test_a_webguest_gets_403_on_history_pages(app):
    from .test_roles import add_user, signed_in

    with app.app_context():
        oid = customer({"email": "ada@example.com"})
        change = records.update("customer", oid, {"location": "Leeds"}, BY_FORM).change
        guest = add_user("ada@example.com", "webguest",
                         records.MODELS["customer"].objects.get(pk=oid))
    webguest = signed_in(app, guest)
    for url in (f"/admin/history/customer/{oid}/", "/admin/history/batch/x/",
                f"/admin/history/revert/{change['_id']}/"):
        assert webguest.get(url).status_code == 403, url
    assert webguest.post(f"/admin/history/revert/{change['_id']}/").status_code == 403


def test_an_unknown_record_or_entity_is_not_found(client):
    assert client.get("/admin/history/customer/0123456789abcdef01234567/").status_code == 404
    assert client.get("/admin/history/ticket/0123456789abcdef01234567/").status_code == 404
    assert client.get("/admin/history/customer/nope/").status_code == 404


def test_the_history_names_who_made_a_change(app, client):
    with app.app_context():
        admin = User.objects.get(email=ADMIN_EMAIL)
        oid = customer({})
        records.update("customer", oid, {"location": "Leeds"},
                       trace.Trace(trace.login(admin), trace.FORM))
    shown = entries(client.get(f"/admin/history/customer/{oid}/").get_data(as_text=True))
    assert [(e["who"], e["way"]) for e in shown] == [(ADMIN_EMAIL, "Form"),
                                                    ("command line", "Form")]
