"""Home shows the desk at a glance (issue 24, point 6), on both stores: current Customers,
Orgs and Contacts, those past their Expiry Date, open tickets and those due soon or
overdue against their SLA, the last import and (for admins) the last directory run, each
linking to the list of exactly what it counts; and a chart of tickets opened and closed
per day over 30 days, from figures the page carries as JSON and as a table.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from html import unescape
from pathlib import Path

import pytest

from admin_app.customising.entities import relabel_entity
from admin_app.customising.fields import update_field
from admin_app.directory.runs import SyncRun
from admin_app.importer.jobs import SeedJob
from admin_app.models import SLA, Contact, Customer, Ticket, User
from admin_app.models.kept import now
from admin_app.records import listing as records_listing
from admin_app.tickets import close, log_ticket

from .helpers import ADMIN_EMAIL
from .test_roles import add_user, signed_in


def admin_of(app):
    """A client with the admin's session. (Not `store_client`: a client used `with` keeps
    its last request's context, and with it who is signed in, for any other client.)"""
    with app.app_context():
        return signed_in(app, User.objects.get(email=ADMIN_EMAIL))


def agent_of(app):
    """A client with a new agent's session."""
    with app.app_context():
        return signed_in(app, add_user("agent@example.com", "agent"))


def count_of(html: str, key: str) -> int:
    """The figure Home shows under `count-<key>` (thousands separated by commas)."""
    match = re.search(rf'id="count-{re.escape(key)}">([\d,]+)<', html)
    assert match, f"Home shows no count-{key}"
    return int(match.group(1).replace(",", ""))


def link_of(html: str, key: str) -> str:
    match = re.search(rf'href="([^"]+)" id="link-{re.escape(key)}"', html)
    assert match, f"Home has no link-{key}"
    return unescape(match.group(1))


def chart_data(html: str) -> dict:
    match = re.search(r'<script type="application/json" id="tickets-per-day-data">(.*?)</script>',
                      html, re.S)
    assert match, "Home carries no chart data"
    return json.loads(match.group(1))


def table_rows(html: str) -> list[tuple[str, int, int]]:
    table = html[html.index('id="tickets-per-day-table"'):]
    table = table[:table.index("</table>")]
    return [(day, int(opened), int(closed)) for day, opened, closed in re.findall(
        r'<tr><th scope="row">([\d-]+)</th><td>(\d+)</td><td>(\d+)</td></tr>', table)]


def ticket_summaries(client, url: str) -> list[str]:
    """The summaries a ticket list page shows, in its order."""
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    html = response.get_data(as_text=True)
    return re.findall(r'<td class="col-summary">\s*(.*?)\s*</td>', html, re.S)


def sla(name: str, hours: int) -> SLA:
    return SLA(name=name, response_hours=hours, resolution_hours=hours).save()


@pytest.fixture
def desk(store_app):
    """A desk with a bit of everything Home counts, each kind a known number of times."""
    with store_app.app_context():
        # A list filters on a field it shows as a column or that is flagged filterable
        # (the shipped dictionary flags it): Home counts passed Expiry Dates with the
        # list's own filter.
        update_field("customer", "expiry_date", filterable=True)
        today = now().replace(hour=0, minute=0, second=0, microsecond=0)
        acme = Customer(name="Acme", level="Org", expiry_date=today - timedelta(days=3)).save()
        Customer(name="Initech", level="Org", expiry_date=today + timedelta(days=30)).save()
        Customer(name="Gone Org", level="Org", archived=True,
                 expiry_date=today - timedelta(days=90)).save()
        lapsed = Customer(name="Lapsed Lee", level="Customer", org=acme.pk,
                          expiry_date=today - timedelta(days=1)).save()
        Customer(name="Lapsed Long Ago", level="Customer",
                 expiry_date=today - timedelta(days=400)).save()
        Customer(name="Today Tam", level="Customer", expiry_date=today).save()  # still covered
        Customer(name="Archived Ann", level="Customer", archived=True,
                 expiry_date=today - timedelta(days=5)).save()
        fast = Customer(name="Fast Fay", level="Customer", sla=sla("Four hours", 4).pk).save()
        slow = Customer(name="Slow Sam", level="Customer", sla=sla("Three days", 72).pk).save()
        late = Customer(name="Late Lou", level="Customer", sla=sla("At once", 0).pk).save()
        plain = Customer(name="Plain Pat", level="Customer").save()
        Contact(name="Priya", customer=acme.pk).save()
        Contact(name="Old Contact", customer=acme.pk, archived=True).save()
        # Logged as the form logs them: each gets its SLA's due times.
        log_ticket(fast, "Due soon one")
        log_ticket(fast, "Due soon two")
        log_ticket(slow, "Due later")
        log_ticket(late, "Overdue one")
        log_ticket(late, "Overdue two")
        log_ticket(late, "Overdue three")
        log_ticket(plain, "No SLA at all")
        close(log_ticket(late, "Closed late"))  # past due but closed: neither
        log_ticket(lapsed, "Lapsed customer's ticket")  # the Org's SLA? none: no due time
    return store_app


EXPECTED = {"customer": 7, "org": 2, "contact": 1, "customer-expired": 2, "org-expired": 1,
            "tickets-open": 8, "tickets-due": 2, "tickets-overdue": 3}


def test_home_shows_the_stored_figures_to_an_admin_and_an_agent(desk):
    for client in (admin_of(desk), agent_of(desk)):
        html = client.get("/admin/").get_data(as_text=True)
        assert {key: count_of(html, key) for key in EXPECTED} == EXPECTED
        assert "2 past their Expiry Date" in re.sub(r"<[^>]+>", "", html)


def test_past_the_lists_count_bound_home_says_more_than(desk, store_client, monkeypatch):
    """Counted as the lists count: no further than their bound (10,000), then "more than"."""
    monkeypatch.setattr(records_listing, "COUNT_BOUND", 2)
    html = store_client.get("/admin/").get_data(as_text=True)
    for key in ("customer", "tickets-open", "tickets-overdue"):
        assert re.search(rf'id="count-{key}">more than 2<', html), key
    assert count_of(html, "org") == 2 and count_of(html, "tickets-due") == 2


def test_a_figure_past_the_lists_count_work_says_many_as_its_list_does(desk, store_app,
                                                                       store_client):
    """On the embedded store a list's count reads no more than LIST_COUNT_WORK rows of the
    keys table: past them Home says "many" where its list says "of many"; MongoDB counts."""
    store_app.config["LIST_COUNT_WORK"] = 1
    html = store_client.get("/admin/").get_data(as_text=True)
    if store_app.config["MONGODB_URI"]:  # mongomock
        assert count_of(html, "customer-expired") == 2
        return
    assert re.search(r'id="count-customer-expired">many<', html)
    assert count_of(html, "customer") == 7  # no keys-table condition: counted
    listed = store_client.get(re.search(r'href="([^"]*)" id="link-customer-expired"',
                                        html).group(1).replace("&amp;", "&"))
    assert "of many" in listed.get_data(as_text=True)


def test_each_ticket_figure_links_to_the_list_of_exactly_those_tickets(desk, store_client):
    html = store_client.get("/admin/").get_data(as_text=True)
    assert link_of(html, "tickets-open") == "/admin/ticket/?status=open"
    assert link_of(html, "tickets-due") == "/admin/ticket/?due=soon"
    assert link_of(html, "tickets-overdue") == "/admin/ticket/?due=overdue"
    listed = {key: ticket_summaries(store_client, link_of(html, key))
              for key in ("tickets-open", "tickets-due", "tickets-overdue")}
    assert sorted(listed["tickets-open"]) == sorted([
        "Due soon one", "Due soon two", "Due later", "Overdue one", "Overdue two",
        "Overdue three", "No SLA at all", "Lapsed customer&#39;s ticket"])
    # Most pressing first: the earliest resolution due time, then the earliest logged.
    assert listed["tickets-due"] == ["Due soon one", "Due soon two"]
    assert listed["tickets-overdue"] == ["Overdue one", "Overdue two", "Overdue three"]
    for key in ("tickets-open", "tickets-due", "tickets-overdue"):
        assert len(listed[key]) == count_of(html, key), key


def test_each_record_figure_links_to_its_list_and_expiry_to_the_filter_up_to_yesterday(
        desk, store_client):
    html = store_client.get("/admin/").get_data(as_text=True)
    yesterday = (now().date() - timedelta(days=1)).isoformat()
    assert link_of(html, "customer-expired") == f"/admin/customer/?f.expiry_date.max={yesterday}"
    assert link_of(html, "org-expired") == f"/admin/org/?f.expiry_date.max={yesterday}"
    assert re.search(r'card-title"><a href="/admin/customer/">Customers</a>', html)
    assert re.search(r'card-title"><a href="/admin/org/">Orgs</a>', html)
    assert re.search(r'card-title"><a href="/admin/contact/">Contacts</a>', html)


def test_the_expiry_links_list_exactly_the_records_counted(desk, store_client):
    """The record lists' filter (`f.expiry_date.max`, the filters' URL scheme) shows the
    records Home counted: current ones whose Expiry Date is before today."""
    html = store_client.get("/admin/").get_data(as_text=True)
    customers = store_client.get(link_of(html, "customer-expired")).get_data(as_text=True)
    for name in ("Lapsed Lee", "Lapsed Long Ago"):
        assert name in customers
    for name in ("Today Tam", "Archived Ann", "Fast Fay", "Plain Pat"):
        assert name not in customers
    orgs = store_client.get(link_of(html, "org-expired")).get_data(as_text=True)
    assert "Acme" in orgs and "Initech" not in orgs and "Gone Org" not in orgs


def test_the_last_import_and_directory_run_with_their_results(store_app):
    store_client = admin_of(store_app)
    with store_app.app_context():
        SeedJob(path="/nowhere/old.json", filename="old.json", options={"dry_run": False},
                status="done", ok=True, summary="Loaded 1 records in 0.1 s: 1 created.",
                created_at=now() - timedelta(days=2)).save()
        job = SeedJob(path="/nowhere/customers.json", filename="customers.json",
                      options={"dry_run": True}, status="done", ok=True,
                      summary="Checked 12 records in 0.2 s: 9 created, 3 updated. "
                              "Dry run: nothing was written.").save()
        SyncRun(connector="old-ad", status="failed", started=now() - timedelta(days=1)).save()
        run = SyncRun(connector="corp-ad", status="complete", applied=True,
                      counts={"created": 4, "updated": 2, "archived": 1}).save()
    html = store_client.get("/admin/").get_data(as_text=True)
    assert link_of(html, "last-import") == f"/admin/seed/job/{job.pk}/"
    assert "Check of customers.json" in html
    assert "Checked 12 records in 0.2 s: 9 created, 3 updated." in html
    assert link_of(html, "last-run") == f"/admin/directory_runs/run/{run.pk}/"
    text = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    assert "corp-ad" in text and ": complete." in text
    assert ("4 created, 2 updated, 0 unchanged, 1 archived, 0 restored, 0 conflicts, "
            "0 skipped.") in text
    for url in (link_of(html, "last-import"), link_of(html, "last-run")):
        assert store_client.get(url).status_code == 200
    # Directory → Runs is an admin's screen: an agent's Home shows the import only.
    agent = agent_of(store_app).get("/admin/").get_data(as_text=True)
    assert link_of(agent, "last-import") == f"/admin/seed/job/{job.pk}/"
    assert "corp-ad" not in agent and 'id="home-directory"' not in agent


def test_an_empty_desk_says_nothing_was_imported_or_run(store_client):
    html = store_client.get("/admin/").get_data(as_text=True)
    assert "No file has been imported yet" in html and "No directory run yet" in html
    assert all(count_of(html, key) == 0 for key in EXPECTED if "expired" not in key)


def test_the_chart_counts_tickets_opened_and_closed_per_day_for_30_days(store_app,
                                                                         store_client):
    today = now().replace(hour=0, minute=0, second=0, microsecond=0)
    with store_app.app_context():
        who = Customer(name="Chart Chen", level="Customer").save()

        def ticket(logged_days_ago: float, closed_days_ago: float | None = None) -> None:
            Ticket(customer=who.pk, summary="t", logged_at=today - timedelta(
                       days=logged_days_ago) + timedelta(hours=9),
                   status="open" if closed_days_ago is None else "closed",
                   closed_at=None if closed_days_ago is None else today - timedelta(
                       days=closed_days_ago) + timedelta(hours=17)).save()

        ticket(0)
        ticket(0, 0)  # logged and closed today
        ticket(2, 1)
        ticket(2)
        ticket(29)  # the first day shown
        ticket(30)  # the day before it: not shown
        ticket(45, 3)  # logged long before, closed within the window: closed only
        ticket(40, 35)  # wholly before the window
    html = store_client.get("/admin/").get_data(as_text=True)
    data = chart_data(html)
    days = [(today - timedelta(days=n)).date().isoformat() for n in range(29, -1, -1)]
    assert data["days"] == days
    opened = dict(zip(days, data["opened"], strict=True))
    closed = dict(zip(days, data["closed"], strict=True))
    assert {d: n for d, n in opened.items() if n} == {days[-1]: 2, days[-3]: 2, days[0]: 1}
    assert {d: n for d, n in closed.items() if n} == {days[-1]: 1, days[-2]: 1, days[-4]: 1}
    assert list(opened.values()).count(0) == 27 and list(closed.values()).count(0) == 27
    # The same figures as a table, every day a row, zeros included.
    assert table_rows(html) == list(zip(days, data["opened"], data["closed"], strict=True))
    assert "5 opened and 3 closed" in html


def test_a_ticket_closed_today_and_one_stored_before_tickets_keyed_their_days_are_charted(
        store_app, store_client):
    """Closing keys the day it closed; tickets an older version stored (keys of their
    words only) are given their days' keys by `flask setup`, once."""
    with store_app.app_context():
        who = Customer(name="Chart Chen", level="Customer").save()
        old = log_ticket(who, "Logged long ago")
        old.logged_at = now() - timedelta(days=60)
        old.save()
        assert close(Ticket.objects.get(pk=old.pk))
        Ticket._get_collection().insert_one({  # as the version before day keys stored it
            "customer": who.pk, "summary": "Printer", "status": "open",
            "logged_at": now(), "search_keys": ["p", "pr", "pri", "prin", "print",
                                                "printe", "printer"]})
    data = chart_data(store_client.get("/admin/").get_data(as_text=True))
    assert (data["opened"][-1], data["closed"][-1]) == (0, 1)  # its day not yet keyed
    result = store_app.test_cli_runner().invoke(args=["setup", "--no-demo"])
    assert "Records brought up to date: 1 ticket search keys." in result.output, result.output
    data = chart_data(store_client.get("/admin/").get_data(as_text=True))
    assert (sum(data["opened"]), data["opened"][-1], data["closed"][-1]) == (1, 1, 1)


def test_the_chart_is_drawn_by_the_vendored_chart_js_and_home_js(store_client):
    html = store_client.get("/admin/").get_data(as_text=True)
    scripts = re.findall(r'<script src="([^"]+)"', html)
    assert scripts[-2:] == ["/static/vendor/chart.js/chart.umd.min.js", "/static/home.js"]
    for url in scripts[-2:]:
        response = store_client.get(url)
        assert response.status_code == 200 and len(response.data) > 1000, url
        response.close()
    assert not re.search(r"<script(?![^>]*(src=|type=\"application/json\"))", html), \
        "an inline script the CSP would block"
    assert re.search(r'<canvas id="tickets-per-day-chart" role="img"\s+aria-label="[^"]+"',
                     html)


def test_the_vendored_chart_js_is_the_version_the_makefile_pins():
    pinned = re.search(r"^CHARTJS_VERSION := (\S+)$", Path("Makefile").read_text(), re.M)
    assert pinned
    folder = Path("admin_app/static/vendor/chart.js")
    header = (folder / "chart.umd.min.js").read_text(encoding="utf-8")[:200]
    assert f"Chart.js v{pinned.group(1)}" in header
    assert "MIT License" in (folder / "LICENSE.md").read_text(encoding="utf-8")
    assert f"| {pinned.group(1)} |" in Path("admin_app/static/vendor/README.md").read_text()


def test_relabels_follow_the_dictionary_and_are_escaped(desk, store_client):
    with desk.app_context():
        relabel_entity("customer", {"Customer": ("User", "Users"),
                                    "Org": ("Department", "<b>Depts</b>")})
        update_field("customer", "expiry_date", label="End <i>date</i>")
    html = store_client.get("/admin/").get_data(as_text=True)
    assert re.search(r'card-title"><a href="/admin/customer/">Users</a>', html)
    assert 'card-title"><a href="/admin/org/">&lt;b&gt;Depts&lt;/b&gt;</a>' in html
    assert "past their End &lt;i&gt;date&lt;/i&gt;" in html
    assert "<b>Depts</b>" not in html and "<i>date</i>" not in html
    assert count_of(html, "customer-expired") == 2  # the words moved, the figures did not


def test_without_a_filter_on_the_expiry_date_home_says_how_to_get_one(store_app,
                                                                       store_client):
    with store_app.app_context():
        update_field("customer", "expiry_date", filterable=False)
        Customer(name="Lapsed Lee", level="Customer",
                 expiry_date=now() - timedelta(days=3)).save()
    html = store_client.get("/admin/").get_data(as_text=True)
    assert 'id="count-customer-expired"' not in html and "f.expiry_date" not in html
    assert ("Expiry Date is not a filter of this list: an admin can make it filterable on "
            "the Dictionary screen") in html
    assert count_of(html, "customer") == 1


def test_a_retired_expiry_date_is_not_counted(desk, store_client):
    with desk.app_context():
        update_field("customer", "expiry_date", retired=True)
    html = store_client.get("/admin/").get_data(as_text=True)
    assert 'id="count-customer-expired"' not in html and "f.expiry_date" not in html
    assert "is not a filter of this list" not in html
    assert count_of(html, "customer") == EXPECTED["customer"]


def test_a_webguest_cannot_see_home(store_app):
    with store_app.app_context():
        gil = Customer(name="Guest Gil", level="Customer", email="gil@example.com").save()
        guest = add_user("gil@example.com", "webguest", gil)
    response = signed_in(store_app, guest).get("/admin/")
    assert response.status_code == 403
    assert "tickets-per-day" not in response.get_data(as_text=True)
    assert store_app.test_client().get("/admin/").headers["Location"].startswith("/login")
