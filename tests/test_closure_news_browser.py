"""News on Closure in headless Chromium: choosing Closed pops up the customer's and its
Org's News on Closure before the save that closes the ticket sends the closure notice; by
keyboard alone; markup in it shown as text; none for a customer without any; again on a
ticket closed, reopened and closed again; and, without JavaScript, on the page the
stopped save shows.

Gunicorn serves the embedded store as `make run` does (tests/servers.py), sending its mail
to an SMTP server this test starts, so "sent after the pop-up" is read from what the
server received and when.
"""

from __future__ import annotations

import typing as t
from datetime import datetime

import mongoengine
import pytest
from playwright.sync_api import Page, expect

from admin_app.mail.outbox import OutboxMessage
from admin_app.models import Customer, Ticket
from admin_app.models.kept import now
from admin_app.tickets import log_ticket

from .servers import signed_in_browser, smtp_server
from .test_browser_tickets import choose_customer
from .test_crawl import set_up_like_make_run

CUSTOMER_NEWS = "Your replacement laptop ships on Monday.\nKeep the old one until then."
ORG_NEWS = "Globex's offices close early on Friday."
MARKUP = "<script>alert(1)</script><img src=x onerror=alert(2)><b>bold</b>"
TITLES = ["News on Closure (Customer: Gina Globex)", "News on Closure (Org: Globex)"]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> t.Iterator[t.Any]:
    """A signed-in browser context on gunicorn over the demo, whose notices go to a real
    SMTP server (`site.mail`), plus our customers: Gina of Globex (both with News on
    Closure), Mallory (whose News on Closure is markup) and Nadia (none)."""
    tmp_path = tmp_path_factory.mktemp("closure-news")
    app = set_up_like_make_run(tmp_path, "embedded")
    with app.app_context():
        globex = Customer(name="Globex", level="Org", news_on_closure=ORG_NEWS).save()
        Customer(name="Gina Globex", level="Customer", org=globex.pk,
                 email="gina@globex.example", news_on_closure=CUSTOMER_NEWS).save()
        Customer(name="Mallory Closure", level="Customer", email="mallory@example.com",
                 news_on_closure=MARKUP).save()
        Customer(name="Nadia Nonews", level="Customer", email="nadia@example.com").save()
    with smtp_server() as mail, pytest.MonkeyPatch.context() as env:
        env.setenv("SMTP_HOST", mail.host)  # read by the gunicorn the browser starts
        env.setenv("SMTP_PORT", str(mail.port))
        with signed_in_browser(tmp_path / "instance") as context:
            probe = context.new_page()
            probe.goto("/admin/")
            context.base = probe.url.split("/admin/")[0]
            probe.close()
            context.mail, context.app = mail, app
            yield context
    mongoengine.disconnect()


@pytest.fixture(autouse=True)
def in_app(site) -> t.Iterator[None]:
    """Tickets are logged here as the form logs them, which reads the dictionary."""
    with site.app.app_context():
        yield


@pytest.fixture
def problems() -> list[str]:
    return []


@pytest.fixture
def page(site, problems) -> t.Iterator[Page]:
    """A tab that records console errors, uncaught exceptions and any dialog (which only
    markup run as script would open)."""
    page = site.new_page()
    page.on("console", lambda message: problems.append(f"console error: {message.text}")
            if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("dialog", lambda opened: (problems.append(f"dialog {opened.message!r}"),
                                      opened.dismiss()))
    yield page
    page.close()


def open_ticket(page: Page, customer: str, summary: str) -> Ticket:
    ticket = log_ticket(Customer.objects.get(name=customer), summary)
    page.goto(f"/admin/ticket/edit/?id={ticket.pk}")
    return ticket


def notices_of(ticket: Ticket) -> list[OutboxMessage]:
    return list(OutboxMessage.objects(ticket=ticket.pk).order_by("created_at"))


def mails_about(site: t.Any, summary: str) -> list[t.Any]:
    return [m for m in site.mail.messages if summary in m["Subject"]]


def to_millisecond(at: datetime) -> datetime:
    """What the store keeps of a time."""
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


def focused(page: Page) -> str:
    return page.evaluate("document.activeElement && (document.activeElement.id || "
                         "document.activeElement.value || document.activeElement.tagName)")


def tab_to(page: Page, wanted: str, limit: int = 120) -> None:
    """Press Tab until the element with id (or, for a button, value) `wanted` has focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if focused(page) == wanted:
            return
    pytest.fail(f"Tab never reached {wanted!r}")


def focus_is_visible(page: Page) -> bool:
    return page.evaluate("""() => {
        const style = getComputedStyle(document.activeElement);
        return style.boxShadow !== 'none' || (style.outlineStyle !== 'none'
                                              && style.outlineWidth !== '0px');
    }""")


def test_choosing_closed_pops_up_both_texts_before_the_save_sends_the_notice(site, page,
                                                                             problems):
    ticket = open_ticket(page, "Gina Globex", "Printer jams on floor 2")
    dialog = page.locator("#ticket-closure-news")
    expect(dialog).to_be_hidden()
    page.select_option("#status", "closed")
    expect(dialog).to_be_visible()
    expect(dialog.locator(".closure-news-title")).to_have_text(TITLES)
    expect(dialog.locator(".closure-news-text")).to_have_text([CUSTOMER_NEWS, ORG_NEWS])
    shown_at = to_millisecond(now())
    # Shown, and nothing sent yet: the ticket is still open.
    assert notices_of(ticket) == [] and mails_about(site, "Printer jams") == []
    assert Ticket.objects.get(pk=ticket.pk).status == "open"
    page.click("#ticket-closure-news-ok")
    expect(dialog).to_be_hidden()
    page.click("input[value=Save]")
    expect(page.locator("#status")).to_have_value("closed")
    [notice] = notices_of(ticket)
    assert notice.status == "sent", notice.last_error
    assert notice.created_at >= shown_at and notice.sent_at >= shown_at
    [mail] = mails_about(site, "Printer jams")
    body = mail.get_content().replace("\r\n", "\n")
    assert CUSTOMER_NEWS in body and ORG_NEWS in body
    assert not problems, problems


def test_by_keyboard_alone_closed_reopened_and_closed_again(site, page, problems):
    ticket = open_ticket(page, "Gina Globex", "Keyboard only ticket")
    dialog = page.locator("#ticket-closure-news")
    tab_to(page, "status")
    page.keyboard.press("ArrowDown")  # Open → Closed
    expect(dialog).to_be_visible()
    expect(dialog.locator(".closure-news-text")).to_have_text([CUSTOMER_NEWS, ORG_NEWS])
    # The focus moves into the dialog, visibly, and Tab keeps it there.
    expect(page.locator("#ticket-closure-news-ok")).to_be_focused()
    assert focus_is_visible(page)
    for key in ("Tab", "Tab", "Tab", "Shift+Tab", "Shift+Tab"):
        page.keyboard.press(key)
        assert page.evaluate("document.getElementById('ticket-closure-news')"
                             ".contains(document.activeElement)"), key
        assert focus_is_visible(page), key
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.locator("#status")).to_be_focused()  # back where the agent was
    assert notices_of(ticket) == []
    tab_to(page, "Save")
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    expect(page.locator("#status")).to_have_value("closed")
    assert len(notices_of(ticket)) == 1

    # Reopened: no pop-up (this save closes nothing).
    tab_to(page, "status")
    page.keyboard.press("ArrowUp")  # Closed → Open
    page.wait_for_timeout(400)
    expect(dialog).to_be_hidden()
    tab_to(page, "Save")
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    expect(page.locator("#status")).to_have_value("open")
    assert Ticket.objects.get(pk=ticket.pk).status == "open"

    # Closed again: the pop-up shows again; Enter on its button closes it.
    tab_to(page, "status")
    page.keyboard.press("ArrowDown")
    expect(dialog).to_be_visible()
    expect(page.locator("#ticket-closure-news-ok")).to_be_focused()
    shown_at = to_millisecond(now())
    assert len(notices_of(ticket)) == 1
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    expect(page.locator("#status")).to_be_focused()
    tab_to(page, "Save")
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    expect(page.locator("#status")).to_have_value("closed")
    first, second = notices_of(ticket)
    assert second.created_at >= shown_at and second.status == "sent", second.last_error
    assert len(mails_about(site, "Keyboard only ticket")) == 2
    assert not problems, problems


def test_markup_in_news_on_closure_is_shown_as_text_and_never_runs(site, page, problems):
    open_ticket(page, "Mallory Closure", "Markup on the page")
    page.select_option("#status", "closed")
    expect(page.locator("#ticket-closure-news .closure-news-text")).to_have_text([MARKUP])
    page.click("#ticket-closure-news-ok")
    # On a new ticket, the customer chosen in the search box: the news comes as JSON.
    page.goto("/admin/ticket/new/")
    choose_customer(page, "mallory", "Mallory Closure")
    page.fill("#summary", "Markup from the endpoint")
    page.select_option("#status", "closed")
    dialog = page.locator("#ticket-closure-news")
    expect(dialog).to_be_visible()
    expect(dialog.locator(".closure-news-text")).to_have_text([MARKUP])
    expect(dialog.locator("img, b, script")).to_have_count(0)
    page.click("#ticket-closure-news-ok")
    page.click("input[value=OK]")
    page.wait_for_url("**/admin/ticket/")
    ticket = Ticket.objects.get(summary="Markup from the endpoint")
    assert ticket.status == "closed" and len(notices_of(ticket)) == 1
    page.wait_for_timeout(300)  # time for any injected script or image to fire
    assert not problems, problems


def test_a_customer_without_news_on_closure_gets_no_pop_up(site, page, problems):
    ticket = open_ticket(page, "Nadia Nonews", "Nothing to tell")
    page.select_option("#status", "closed")
    page.wait_for_timeout(500)  # the pop-up's fade-in, were there one
    expect(page.locator("#ticket-closure-news")).to_be_hidden()
    page.click("input[value=Save]")
    expect(page.locator("#status")).to_have_value("closed")
    expect(page.locator("#closure-news-confirm")).to_have_count(0)
    assert Ticket.objects.get(pk=ticket.pk).status == "closed"
    assert len(notices_of(ticket)) == 1
    assert not problems, problems


def test_without_javascript_the_stopped_save_shows_the_news_then_closes(site):
    ticket = log_ticket(Customer.objects.get(name="Gina Globex"), "No script here")
    # The same signed-in session, in a context that runs no script at all.
    context = site.browser.new_context(base_url=site.base, java_script_enabled=False,
                                       storage_state=site.storage_state())
    page = context.new_page()
    try:
        page.goto(f"/admin/ticket/edit/?id={ticket.pk}")
        page.select_option("#status", "closed")
        page.click("input[value=Save]")
        panel = page.locator("#closure-news-confirm")
        expect(panel).to_be_visible()
        expect(panel.locator(".closure-news-title")).to_have_text(TITLES)
        expect(panel.locator(".closure-news-text")).to_have_text([CUSTOMER_NEWS, ORG_NEWS])
        expect(panel).to_contain_text("Nothing was saved yet")
        shown_at = to_millisecond(now())
        assert notices_of(ticket) == [] and Ticket.objects.get(pk=ticket.pk).status == "open"
        page.click("input[value=Save]")
        expect(page.locator("#closure-news-confirm")).to_have_count(0)
        expect(page.locator("#status")).to_have_value("closed")
        [notice] = notices_of(ticket)
        assert notice.created_at >= shown_at and notice.status == "sent", notice.last_error
    finally:
        context.close()
