"""Logging a ticket in headless Chromium: the customer search box, the fields brought
forward, the News pop-up (its text never run as script), the expiry warning, and the
screenshots the README shows.

Debian's chromium, driven by Playwright as in test_browser.py, over a store set up as
`make run` does. Screenshots go to a temporary folder, so a test run leaves the tree as it
was; `make screenshots` writes them to docs/screenshots/ (SCREENSHOTS_DIR), which the
README shows.
"""

from __future__ import annotations

import json
import os
import tempfile
import typing as t
from datetime import datetime
from pathlib import Path

import mongoengine
import pytest
from playwright.sync_api import Page, expect

from admin_app.models import Customer, Ticket

from .servers import signed_in_browser
from .test_crawl import set_up_like_make_run

SCREENSHOTS = Path(os.environ.get("SCREENSHOTS_DIR")
                   or Path(tempfile.gettempdir()) / "dictadmin-screenshots")
VIEWPORT = {"width": 1200, "height": 800}
MARKUP_NEWS = "<script>alert(1)</script><img src=x onerror=alert(2)>"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> t.Iterator[t.Any]:
    """A signed-in browser context on gunicorn over the demo, plus two customers of our
    own: one whose News is markup, one whose Expiry Date has passed."""
    tmp_path = tmp_path_factory.mktemp("tickets")
    app = set_up_like_make_run(tmp_path, "embedded")
    with app.app_context():
        Customer(name="Mallory Markup", level="Customer", news=MARKUP_NEWS).save()
        Customer(name="Ursula Expired", level="Customer", department="Legal",
                 expiry_date=datetime(2024, 1, 31)).save()
    with signed_in_browser(tmp_path / "instance", viewport=VIEWPORT) as context:
        yield context
    mongoengine.disconnect()


@pytest.fixture
def problems() -> list[str]:
    return []


@pytest.fixture
def page(site, problems) -> t.Iterator[Page]:
    """A tab that records console errors, uncaught exceptions and any dialog (which only
    markup run as script would open)."""
    page = site.new_page()

    def console(message: t.Any) -> None:
        if message.type == "error" and not message.location.get("url", "").endswith(
                "/favicon.ico"):
            problems.append(f"console error: {message.text} at {message.location}")

    def dialog(opened: t.Any) -> None:
        problems.append(f"dialog {opened.type}({opened.message!r})")
        opened.dismiss()

    page.on("console", console)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("dialog", dialog)
    yield page
    page.close()


def choose_customer(page: Page, typed: str, name: str) -> None:
    """Type into the customer search box and pick `name` from what it offers."""
    page.click("#s2id_customer")
    page.keyboard.type(typed)
    results = page.locator(".select2-result-label")
    expect(results).to_have_text([name])
    results.first.click()


def screenshot(page: Page, name: str, full_page: bool = False) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=full_page)


def record_id(name: str) -> str:
    return str(Customer._get_collection().find_one({"name": name}, {"_id": 1})["_id"])


def test_logging_a_ticket_end_to_end(page, problems):
    page.goto("/admin/ticket/new/")
    choose_customer(page, "chen", "Chen Wei")
    # The News of Chen and of Chen's Org pops up, each under its record's name.
    news = page.locator("#ticket-news")
    expect(news).to_be_visible()
    expect(news.locator(".ticket-news-title")).to_have_text(["Chen Wei", "Acme Manufacturing"])
    expect(news.locator(".ticket-news-text").first).to_have_text(
        "VIP: escalate directly to the IT manager.")
    # Brought forward while the pop-up shows; the SLA comes from the Org.
    expect(page.locator("#bf_department")).to_have_value("IT")
    expect(page.locator("#bf_location")).to_have_value("Sheffield HQ")
    expect(page.locator("#bf_phone_1")).to_have_value("+44 114 496 0103")
    expect(page.locator("#bf_email")).to_have_value("chen.wei@acme.example")
    expect(page.locator("#ticket-sla-name")).to_have_text("Premium (from Acme Manufacturing)")
    page.wait_for_timeout(300)  # the pop-up's fade-in
    screenshot(page, "ticket-news.png")
    page.click("#ticket-news-ok")
    expect(news).to_be_hidden()
    page.fill("#bf_location", "Plant 2 (visiting)")
    page.select_option("#contact", label="Priya Patel")
    page.fill("#summary", "Laptop will not start")
    page.click("input[value=OK]")
    page.wait_for_url("**/admin/ticket/")
    expect(page.locator("table.model-list")).to_contain_text("Laptop will not start")
    ticket = Ticket.objects.get(summary="Laptop will not start")
    assert ticket.brought_forward["department"] == "IT"
    assert ticket.brought_forward["location"] == "Plant 2 (visiting)"
    assert ticket.contact is not None and ticket.response_due is not None
    assert not problems, problems


def test_markup_in_news_is_shown_as_text_and_never_runs(page, problems):
    page.goto(f"/admin/ticket/new/?customer={record_id('Mallory Markup')}")
    expect(page.locator("#ticket-news")).to_be_visible()
    expect(page.locator("#ticket-news .ticket-news-text")).to_have_text(MARKUP_NEWS)
    page.click("#ticket-news-ok")
    # Chosen in the search box, the News arrives as JSON and is inserted as text.
    page.goto("/admin/ticket/new/")
    choose_customer(page, "mallory", "Mallory Markup")
    expect(page.locator("#ticket-news .ticket-news-text")).to_have_text(MARKUP_NEWS)
    page.wait_for_timeout(500)  # time for any injected script or image to fire
    assert not problems, problems


def test_no_news_for_a_customer_without_news_but_a_passed_expiry_warns(page, problems):
    page.goto("/admin/ticket/new/")
    choose_customer(page, "ursula", "Ursula Expired")
    expect(page.locator("#bf_department")).to_have_value("Legal")
    expect(page.locator("#ticket-expiry")).to_contain_text(
        "Ursula Expired's Expiry Date, 2024-01-31, has passed.")
    page.wait_for_timeout(500)
    expect(page.locator("#ticket-news")).to_be_hidden()
    page.fill("#summary", "Contract query")
    page.click("input[value=OK]")
    page.wait_for_url("**/admin/ticket/")
    assert Ticket.objects.get(summary="Contract query").expired_on == datetime(2024, 1, 31)
    assert not problems, problems


def test_screenshots_of_the_main_screens(page, problems, tmp_path):
    page.goto(f"/admin/customer/edit/?id={record_id('Alice Carter')}")
    expect(page.locator("#department")).to_have_value("Finance")
    screenshot(page, "customer-form.png")
    page.goto(f"/admin/org/edit/?id={record_id('Acme Manufacturing')}")
    expect(page.locator("#address")).to_be_visible()
    screenshot(page, "org-form.png")
    page.goto("/admin/dictionary/")
    screenshot(page, "dictionary.png")
    # A small file with news, an update, a repeat and a mistake, so the report shows each.
    upload = tmp_path / "customers.json"
    upload.write_text(json.dumps({
        "orgs": [{"name": "Initech", "sla": "Standard"}],
        "customers": [
            {"name": "Peter Gibbons", "org": "Initech", "email": "peter@initech.example"},
            {"name": "Alice Carter", "email": "alice.carter@acme.example",
             "department": "Finance and Audit"},
            {"name": "George Lin"},
            {"name": "Milton W", "email": "not-an-email", "org": "Initech"}]}),
        encoding="utf-8")
    page.goto("/admin/seed/")
    page.set_input_files("#file", str(upload))
    page.get_by_role("button", name="Check file").click()
    expect(page.locator("#seed-summary")).to_contain_text("Checked", timeout=60_000)
    screenshot(page, "import-report.png")
    assert not problems, problems
    for name in ("customer-form.png", "org-form.png", "dictionary.png", "import-report.png"):
        assert (SCREENSHOTS / name).stat().st_size > 10_000, name
