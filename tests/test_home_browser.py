"""Home in headless Chromium: the chart of tickets opened and closed per day draws the
server's figures on its canvas under the CSP as it is (no violation, no script error),
the table of the same figures opens by keyboard, and a figure's link leads to its list.
Takes the README's screenshot of Home (docs/screenshots/home.png with `make screenshots`).

Debian's chromium driven by Playwright, over a store set up as `make run` does, with a
month of tickets.
"""

from __future__ import annotations

import json
import os
import tempfile
import typing as t
from datetime import timedelta
from pathlib import Path

import mongoengine
import pytest
from playwright.sync_api import Page, expect

from admin_app import background
from admin_app.customising.fields import update_field
from admin_app.importer import jobs
from admin_app.importer.engine import Options
from admin_app.models import Customer, Ticket
from admin_app.models.kept import now
from admin_app.tickets import log_ticket

from .servers import signed_in_browser
from .test_crawl import log_demo_tickets, set_up_like_make_run

SCREENSHOTS = Path(os.environ.get("SCREENSHOTS_DIR")
                   or Path(tempfile.gettempdir()) / "dictadmin-screenshots")
VIEWPORT = {"width": 1200, "height": 900}
# Collects every CSP violation the page meets, before any of its own script runs.
WATCH_CSP = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__violations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline'));
});
"""


def log_a_month_of_tickets() -> None:
    """Tickets logged and closed on most of the last 30 days (a fixed pattern), a few
    past their SLA's resolution time."""
    people = list(Customer.objects(level="Customer", archived=False).order_by("name"))
    today = now().replace(hour=8, minute=0, second=0, microsecond=0)
    for day in range(30):
        for n in range((day * 7) % 5 + (1 if day % 6 else 0)):
            who = people[(day + n) % len(people)]
            ticket = log_ticket(who, f"Day {day} ticket {n}")
            logged = today - timedelta(days=day, hours=-n)
            closed = logged + timedelta(days=(n + day) % 4) if (day + n) % 3 else None
            if closed is not None and closed > now():
                closed = None
            Ticket.objects(pk=ticket.pk).update_one(
                set__logged_at=logged, set__status="closed" if closed else "open",
                set__closed_at=closed,
                set__resolution_due=logged + timedelta(hours=24) if ticket.sla else None)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> t.Iterator[t.Any]:
    tmp_path = tmp_path_factory.mktemp("home")
    app = set_up_like_make_run(tmp_path, "embedded")
    with app.app_context():
        log_demo_tickets()
        log_a_month_of_tickets()
        # The lists filter on the Expiry Date once it is filterable; its keys are
        # rewritten by a job, which ends before the browser looks.
        update_field("customer", "expiry_date", filterable=True)
        # A file checked from the upload page, as Home's last import.
        upload = tmp_path / "instance" / "uploads" / "home" / "new-starters.json"
        upload.parent.mkdir(parents=True)
        upload.write_text(json.dumps({"customers": [
            {"name": "Nina New", "org": "Acme Manufacturing", "email": "nina@acme.example"},
            {"name": "Omar Old", "email": "not-an-email"}]}), encoding="utf-8")
        jobs.start(upload, upload.name, Options(dry_run=True), "admin@example.com")
        background.wait()
    with signed_in_browser(tmp_path / "instance", viewport=VIEWPORT) as context:
        yield context
    mongoengine.disconnect()


@pytest.fixture
def problems() -> list[str]:
    return []


@pytest.fixture
def page(site, problems) -> t.Iterator[Page]:
    page = site.new_page()
    page.add_init_script(WATCH_CSP)

    def console(message: t.Any) -> None:
        if message.type == "error" or "Content Security Policy" in message.text:
            problems.append(f"console {message.type}: {message.text}")

    page.on("console", console)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    yield page
    page.close()


def test_the_chart_draws_the_servers_figures_under_the_csp(page, problems):
    page.goto("/admin/")
    chart = page.locator("#tickets-per-day-chart")
    expect(chart).to_have_attribute("data-drawn", "1")
    figures = json.loads(page.locator("#tickets-per-day-data").text_content())
    assert len(figures["days"]) == 30 and sum(figures["opened"]) > 30
    drawn = page.evaluate("""() => {
        const canvas = document.getElementById('tickets-per-day-chart');
        const chart = window.Chart.getChart(canvas);
        const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        let painted = 0;
        for (let i = 3; i < pixels.length; i += 4) { if (pixels[i] > 0) { painted++; } }
        return {painted: painted, width: canvas.width, height: canvas.height,
                opened: chart.data.datasets[0].data, closed: chart.data.datasets[1].data,
                labels: chart.data.labels};
    }""")
    assert drawn["width"] > 300 and drawn["height"] > 100, drawn
    assert drawn["painted"] > 2000, drawn["painted"]  # bars, a line, axes and their labels
    assert drawn["opened"] == figures["opened"] and drawn["closed"] == figures["closed"]
    assert drawn["labels"] == [day[5:] for day in figures["days"]]
    expect(page.locator("#last-import-summary")).to_contain_text("Checked 2 records")
    page.wait_for_timeout(500)  # the chart's short animation, and any late violation
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "home.png"), full_page=True)
    assert (SCREENSHOTS / "home.png").stat().st_size > 10_000
    assert page.evaluate("window.__violations") == []
    assert not problems, problems


def test_the_figures_table_and_the_links_work_by_keyboard(page, problems):
    page.goto("/admin/")
    table = page.locator("#tickets-per-day-table")
    expect(table).to_be_hidden()
    for _ in range(80):  # Tab along the page to the table's summary, then open it
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.tagName") == "SUMMARY":
            break
    else:
        pytest.fail("Tab never reached the figures table's summary")
    page.keyboard.press("Enter")
    expect(table).to_be_visible()
    expect(table.locator("tbody tr")).to_have_count(30)
    overdue = int(page.locator("#count-tickets-overdue").text_content().replace(",", ""))
    assert overdue > 0
    page.focus("#link-tickets-overdue")
    page.keyboard.press("Enter")
    page.wait_for_url("**/admin/ticket/?due=overdue")
    expect(page.locator("#ticket-list-heading")).to_have_text(
        "Open tickets overdue against their SLA")
    expect(page.locator("table.model-list tbody tr")).to_have_count(min(overdue, 20))
    # Passed expiry dates: the Org list filtered to them, exactly as many as Home said.
    page.goto("/admin/")
    expired = int(page.locator("#count-org-expired").text_content())
    assert expired > 0
    page.click("#link-org-expired")
    page.wait_for_url("**/admin/org/?f.expiry_date.max=*")
    expect(page.locator("table.model-list tbody tr")).to_have_count(expired)
    assert page.evaluate("window.__violations") == []
    assert not problems, problems


def test_without_chart_js_the_table_still_gives_the_figures(site, problems):
    """A browser that cannot run the chart (script blocked, failed to load) keeps the
    table and the canvas's words, and no error."""
    page = site.new_page()
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.route("**/vendor/chart.js/**", lambda route: route.abort())
    page.goto("/admin/")
    expect(page.locator("#tickets-per-day-chart")).not_to_have_attribute("data-drawn", "1")
    page.locator("#tickets-per-day-details summary").click()
    expect(page.locator("#tickets-per-day-table tbody tr")).to_have_count(30)
    page.close()
    assert not problems, problems
