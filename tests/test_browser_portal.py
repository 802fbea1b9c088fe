"""The portal in headless Chromium, served by gunicorn over the embedded store: a WebGuest
signs in, sees its details, is told the rulebook's message for a bad phone number, saves
a good one, logs a ticket, finds it under My tickets and signs out. Markup in a label is
shown as text, and no page breaks the Content-Security-Policy (a violation is a console
error) or opens a dialog.
"""

from __future__ import annotations

import shutil
import typing as t

import mongoengine
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from admin_app.customising.fields import update_field
from admin_app.models import Customer, Ticket, User

from .conftest import make_app
from .servers import CHROMIUM_ARGS, dictadmin_server

EMAIL = "wendy@example.com"
PASSWORD = "lantern meadow copper 77"
MARKUP_LABEL = "<img src=x onerror=alert(1)>Mobile"


@pytest.fixture
def portal(tmp_path) -> t.Iterator[tuple[Page, list[str]]]:
    """A fresh browser (not signed in anywhere) on the portal, and the problems it met."""
    app = make_app(tmp_path, "embedded")
    with app.app_context():
        customer = Customer(name="Wendy Guest", level="Customer", email=EMAIL,
                            phone_1="+44 1", location="Leeds").save()
        user = User(email=EMAIL, role="webguest", customer=customer)
        user.set_password(PASSWORD)
        user.save()
        update_field("customer", "phone_1", label=MARKUP_LABEL)
    mongoengine.disconnect()
    problems: list[str] = []
    executable = shutil.which("chromium")
    assert executable, "Debian's chromium is required: run `make test` (it installs it)"
    with dictadmin_server(tmp_path / "instance") as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(base_url=base).new_page()
            page.on("console", lambda message: problems.append(
                f"console {message.type}: {message.text}") if message.type == "error"
                else None)
            page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
            page.on("dialog", lambda dialog: (problems.append(f"dialog: {dialog.message}"),
                                              dialog.dismiss()))
            yield page, problems
        finally:
            browser.close()


def test_a_webguest_walks_the_portal(portal, tmp_path):
    page, problems = portal
    page.goto("/portal/")
    expect(page.locator("#sign-in-form")).to_be_visible()
    page.fill("#email", EMAIL)
    page.fill("#password", PASSWORD)
    page.click("#sign-in-form button[type=submit]")
    page.wait_for_url("**/portal/details/")
    expect(page.locator("#value-name")).to_have_text("Wendy Guest")
    expect(page.locator("#label-phone_1")).to_have_text(MARKUP_LABEL)  # text, not markup

    page.click("#edit-details")
    page.fill("#phone_1", "ring me")
    page.click("#save-details")
    expect(page.locator("#error-phone_1")).to_contain_text("must be a phone number")
    page.fill("#phone_1", "+44 113 496 0000")
    page.fill("#location", "York")
    page.click("#save-details")
    page.wait_for_url("**/portal/details/")
    expect(page.locator("#value-phone_1")).to_have_text("+44 113 496 0000")
    expect(page.locator("#value-location")).to_have_text("York")

    page.click("#nav-new-ticket")
    page.fill("#summary", "Printer jammed")
    page.fill("#description", "Tray 2 again.")
    page.click("#log-ticket")
    expect(page.locator("#ticket-summary")).to_have_text("Printer jammed")
    expect(page.locator("#ticket-status")).to_have_text("Open")
    page.click("#nav-tickets")
    expect(page.locator("#my-tickets")).to_contain_text("Printer jammed")

    page.click("#sign-out")
    page.wait_for_url("**/portal/")
    expect(page.locator("#sign-in-form")).to_be_visible()
    page.goto("/portal/tickets/")
    page.wait_for_url("**/portal/")
    assert problems == []

    make_app(tmp_path, "embedded")  # the same store, to read what the browser wrote
    try:
        stored = Customer.objects.get(email=EMAIL)
        assert (stored.phone_1, stored.location) == ("+44 113 496 0000", "York")
        assert Ticket.objects.get(summary="Printer jammed").customer == stored.pk
    finally:
        mongoengine.disconnect()
