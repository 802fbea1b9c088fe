"""Every screen meets WCAG 2.1 AA as axe-core judges it, in Chromium, under the real CSP.

axe-core (the checker from npm, bundled unmodified by the `axe-playwright-python` package,
pinned with hashes in requirements/dev.txt) runs its `wcag2a`, `wcag2aa` and `wcag21aa`
rules on every page the crawl (tests/test_crawl.py) reaches on the demo store: as an admin,
as an agent, and on the portal as the WebGuest, plus the pages no link leads to (the two
sign-in pages, the set-password page, error pages) and the states a page only reaches
when someone acts (a menu open, a form refused with its messages, the News pop-ups open, a
lookup's drop-down open). Every violation is listed (rule, impact, element, page); none
may remain.

The crawl finds the pages with Flask's test client (a second or two) and keeps one page
per screen: pages at one address (record ids aside) made of the same kinds of element
differ only in text, which axe-core judges alike. Chromium then opens each in one context
per role, on gunicorn over the same store as `make run` serves it, and the test prints
how many pages it checked and how long that took (about a minute). Motion is reduced
(`prefers-reduced-motion`), so Bootstrap's fades end at once and a pop-up is judged as a
person sees it, not half-faded.
"""

from __future__ import annotations

import re
import shutil
import time
import typing as t
from collections import Counter, deque
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urljoin, urlsplit

import mongoengine
import pytest
from axe_playwright_python.base import AXE_SCRIPT
from flask import Flask
from playwright.sync_api import BrowserContext, Page, expect, sync_playwright

from admin_app import records
from admin_app.models import Customer, User
from admin_app.records import trace
from admin_app.security import links

from .helpers import ADMIN_EMAIL, ADMIN_PASSWORD, login, submit
from .servers import CHROMIUM_ARGS, dictadmin_server
from .test_crawl import (
    AGENT_EMAIL,
    AGENT_PASSWORD,
    COUNT_WORK,
    WEBGUEST_EMAIL,
    WEBGUEST_PASSWORD,
    _Links,
    add_bulk_changes,
    add_conditional_rules,
    add_record_changes,
    add_search_key_jobs,
    admin_only_urls,
    bulk_urls,
    counting_urls,
    crawl,
    history_urls,
    log_demo_tickets,
    set_up_like_make_run,
)

# What WCAG 2.1 AA asks, in axe-core's words: levels A and AA of WCAG 2.0 and of 2.1.
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21aa"]},
               "resultTypes": ["violations"]}
CLOSURE_NEWS = "Chen's replacement laptop ships on Monday."
# An ObjectId in a path or a query: pages that differ only by it are one screen.
RECORD_ID = re.compile(r"[0-9a-f]{24}")


@dataclass
class Screens:
    """The pages to check, per role."""

    admin: list[str] = field(default_factory=list)
    agent: list[str] = field(default_factory=list)
    portal: list[str] = field(default_factory=list)
    signed_out: list[str] = field(default_factory=list)
    crawled: int = 0  # HTML pages the crawl reached as admin and agent


@dataclass
class Findings:
    """What axe-core found: each element that breaks a rule, on each page."""

    elements: list[tuple[str, str, str, str, str]] = field(default_factory=list)
    pages: int = 0

    def add(self, where: str, result: dict[str, t.Any]) -> None:
        self.pages += 1
        for violation in result["violations"]:
            for node in violation["nodes"]:
                checks = node.get("any", []) + node.get("all", []) + node.get("none", [])
                why = checks[0]["message"] if checks else violation["help"]
                self.elements.append((violation["id"], violation["impact"] or "",
                                      " ".join(str(part) for part in node["target"]),
                                      why, where))

    def by_rule(self) -> Counter:
        return Counter(rule for rule, *_rest in self.elements)

    def report(self) -> str:
        """One line per element that breaks a rule and the pages where it does (the same
        element in the menu bar breaks it on every page)."""
        pages: dict[tuple[str, str, str, str], list[str]] = {}
        for rule, impact, target, why, where in self.elements:
            pages.setdefault((rule, impact, target, why), []).append(where)
        lines = []
        for (rule, impact, target, why), where in sorted(pages.items()):
            shown = ", ".join(where[:3]) + (f" and {len(where) - 3} more" if len(where) > 3
                                            else "")
            lines.append(f"{rule} ({impact}) {target}: {why}  on {shown}")
        return "\n  ".join(lines)


# -- which pages: the crawl's, as each role --------------------------------------------------

class _Markup(HTMLParser):
    """The kinds of element a page is made of (tag, classes, type, role and which aria
    attributes), whatever their text, ids and number."""

    def __init__(self) -> None:
        super().__init__()
        self.kinds: set[tuple[str, ...]] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        self.kinds.add((tag, " ".join(sorted((values.get("class") or "").split())),
                        values.get("type") or "", values.get("role") or "",
                        " ".join(sorted(name for name in values if name.startswith("aria-")))))


def screen_of(url: str, status: int, body: str) -> tuple[t.Any, ...]:
    """Which screen a page is: its path (record ids aside), the names of its arguments,
    its status and the kinds of element it is made of. Pages that differ only in text,
    ids or how many rows they hold are one screen: axe-core finds the same there (contrast
    comes from the classes, names and roles from the markup). Error pages are one screen
    per status and markup, at whatever address."""
    parts = urlsplit(url)
    markup = _Markup()
    markup.feed(body)
    if status >= 400:  # the error page, whatever was asked for
        return (status, frozenset(markup.kinds))
    return (RECORD_ID.sub("{id}", parts.path),
            tuple(sorted({name for name, _value in parse_qsl(parts.query, True)})),
            status, frozenset(markup.kinds))


class _Screens:
    """Flask's test client for the crawl, keeping the first HTML page of each screen."""

    def __init__(self, client: t.Any) -> None:
        self.client = client
        self.screens: dict[tuple[t.Any, ...], str] = {}  # screen -> its first page's URL
        self.pages = 0

    def get(self, url: str) -> t.Any:
        response = self.client.get(url)
        if response.mimetype == "text/html" and not 300 <= response.status_code < 400:
            self.pages += 1
            screen = screen_of(url, response.status_code, response.get_data(as_text=True))
            self.screens.setdefault(screen, url)
        return response


def crawled_screens(app: Flask, role: str, extra: list[str]) -> tuple[list[str], int]:
    """The first page of every screen the crawl reaches signed in as `role` (answered
    pages and error pages alike: an agent's 403 is read by a person too), and how many
    HTML pages it reached in all."""
    email, password = (ADMIN_EMAIL, ADMIN_PASSWORD) if role == "admin" \
        else (AGENT_EMAIL, AGENT_PASSWORD)
    with app.test_client() as client:
        assert login(client, email, password).status_code == 302
        pages = _Screens(client)
        result = crawl(pages, role, extra)
    assert not result.failures, result.report()
    return list(pages.screens.values()), pages.pages


def portal_pages(app: Flask) -> list[str]:
    """The portal as the WebGuest sees it: every page its links and GET forms lead to,
    and the page it gets under /admin (403)."""
    with app.test_client() as client:
        response = submit(client, "/portal/", {"email": WEBGUEST_EMAIL,
                                               "password": WEBGUEST_PASSWORD})
        assert response.status_code == 302, response.status_code
        queue, seen, pages = deque(["/portal/details/"]), {"/portal/details/"}, []
        while queue:
            url = queue.popleft()
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            pages.append(url)
            found = _Links()
            found.feed(response.get_data(as_text=True))
            for target in found.targets:
                parts = urlsplit(urljoin("http://localhost" + url, target))
                local = parts.path + ("?" + parts.query if parts.query else "")
                if parts.netloc == "localhost" and parts.path.startswith("/portal/") \
                        and local not in seen:
                    seen.add(local)
                    queue.append(local)
    return [*pages, "/admin/customer/"]


def find_screens(app: Flask) -> Screens:
    with app.app_context():
        # What the crawl tests ask for besides the links (the History and revert pages,
        # the admin-only screens an agent must be refused).
        extra = [*history_urls(), *admin_only_urls(), *bulk_urls(), *counting_urls()]
        # News on Closure for Chen Wei (after history_urls, which picks his form change).
        chen = Customer.objects.get(name="Chen Wei")
        records.update("customer", chen.pk, {"news_on_closure": CLOSURE_NEWS},
                       trace.Trace(trace.COMMAND_LINE, trace.FORM))
        with app.test_request_context():  # the link is made as the Logins screen makes it
            issued = links.issue(User.objects.get(email=WEBGUEST_EMAIL))
        set_password = urlsplit(issued.url).path
    missing = "/admin/no-such-screen/"  # the error page's Page not found
    admin, admin_pages = crawled_screens(app, "admin", extra)
    agent, agent_pages = crawled_screens(app, "agent", extra)
    return Screens(
        admin=[*admin, missing], agent=[*agent, missing], portal=portal_pages(app),
        crawled=admin_pages + agent_pages,
        signed_out=["/login", "/portal/", set_password, "/set-password/not-a-link"])


# -- the browser -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def site(tmp_path_factory) -> t.Iterator[t.Any]:
    """The demo as `make run` prepares it (with the crawl's additions: tickets, record
    changes, search-key jobs, conditional rules), the pages to check, and Chromium on
    gunicorn over that store."""
    tmp_path = tmp_path_factory.mktemp("accessibility")
    app = set_up_like_make_run(tmp_path, "embedded")
    with app.app_context():
        log_demo_tickets()
        add_record_changes()
        add_search_key_jobs()
        add_conditional_rules()
        add_bulk_changes()
    screens = find_screens(app)
    executable = shutil.which("chromium")
    assert executable, "Debian's chromium is required: run `make test` (it installs it)"
    with dictadmin_server(tmp_path / "instance", workers=2,
                          settings={"LIST_COUNT_WORK": str(COUNT_WORK)}) as base, \
            sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield Site(browser, base, screens, app)
        finally:
            browser.close()
    mongoengine.disconnect()


@dataclass
class Site:
    browser: t.Any
    base: str
    screens: Screens
    app: Flask

    def context(self, email: str | None = None, password: str | None = None,
                portal: bool = False) -> BrowserContext:
        """A context of its own (signed in as `email` on the admin or the portal)."""
        context = self.browser.new_context(base_url=self.base, reduced_motion="reduce",
                                           viewport={"width": 1280, "height": 900})
        # axe-core goes into every page as it opens (from the package's file, through the
        # DevTools protocol: no <script> the page's CSP would have to allow).
        context.add_init_script(script=AXE_SCRIPT)
        if email:
            page = context.new_page()
            page.goto("/portal/" if portal else "/login")
            page.fill("#email", email)
            page.fill("#password", t.cast(str, password))
            page.click("button[type=submit]")
            page.wait_for_url("**/portal/details/" if portal else "**/admin/")
            page.close()
        return context




def check(page: Page, findings: Findings, role: str, label: str) -> None:
    """Run axe-core on what `page` shows now, with every <details> opened (a list's
    Filters panel, for one), since axe-core judges only what can be seen."""
    page.evaluate("document.querySelectorAll('details:not([open])')"
                  ".forEach(details => { details.open = true; })")
    findings.add(f"{label} ({role})", page.evaluate("options => axe.run(document, options)",
                                                    AXE_OPTIONS))


# Pages that draw what they show after loading, and what shows they have finished.
DRAWN_LATER = {"/admin/api/": "#api-description .opblock"}


def check_pages(context: BrowserContext, urls: list[str], findings: Findings,
                role: str) -> None:
    page = context.new_page()
    for url in urls:
        page.goto(url)
        drawn = DRAWN_LATER.get(urlsplit(url).path)
        if drawn:
            page.locator(drawn).first.wait_for()
        check(page, findings, role, url)
    page.close()


def check_acted_states(site: Site, context: BrowserContext, findings: Findings) -> None:
    """States only an action reaches, as the admin: a menu open, a record form refused
    with its messages, a lookup's drop-down open, the News pop-up and the News on Closure
    pop-up."""
    page = context.new_page()
    page.goto("/admin/")
    page.get_by_role("link", name="Data").click()
    expect(page.locator(".navbar .dropdown-menu.show")).to_be_visible()
    check(page, findings, "admin", "/admin/ with the Data menu open")

    page.goto("/admin/customer/new/")
    page.fill("#name", "Ann Lee")
    page.fill("#phone_1", "ring me")
    page.click("input[value=OK]")
    expect(page.locator(".invalid-feedback").first).to_be_visible()
    check(page, findings, "admin", "/admin/customer/new/ refused (a bad phone number)")

    page.goto("/admin/customer/new/")
    page.click("#s2id_org")
    page.keyboard.type("a")
    expect(page.locator(".select2-result-label").first).to_be_visible()
    check(page, findings, "admin", "/admin/customer/new/ with the Org lookup open")

    with site.app.app_context():
        chen = str(Customer.objects.get(name="Chen Wei").pk)
    page.goto(f"/admin/ticket/new/?customer={chen}")
    expect(page.locator("#ticket-news")).to_be_visible()
    check(page, findings, "admin", "/admin/ticket/new/ with the News pop-up open")
    page.click("#ticket-news-ok")
    page.select_option("#status", "closed")
    expect(page.locator("#ticket-closure-news")).to_be_visible()
    check(page, findings, "admin", "/admin/ticket/new/ with the News on Closure pop-up open")
    page.close()


def check_portal_states(context: BrowserContext, findings: Findings) -> None:
    """The portal's details form refused with the rulebook's message."""
    page = context.new_page()
    page.goto("/portal/details/edit")
    page.fill("#phone_1", "ring me")
    page.click("#save-details")
    expect(page.locator("#error-phone_1")).to_be_visible()
    check(page, findings, "webguest", "/portal/details/edit refused (phone)")
    page.close()


def check_signed_out_states(context: BrowserContext, findings: Findings) -> None:
    """The sign-in pages refusing a wrong password."""
    page = context.new_page()
    for url in ("/login", "/portal/"):
        page.goto(url)
        page.fill("#email", "nobody@example.com")
        page.fill("#password", "not the password")
        page.click("button[type=submit]")
        expect(page.locator(".alert, .invalid-feedback").first).to_be_visible()
        check(page, findings, "signed out", f"{url} refused (wrong password)")
    page.close()


def test_every_screen_meets_wcag_21_aa(site, capsys):
    started = time.monotonic()
    findings = Findings()
    screens = site.screens
    admin = site.context(ADMIN_EMAIL, ADMIN_PASSWORD)
    check_pages(admin, screens.admin, findings, "admin")
    check_acted_states(site, admin, findings)
    admin.close()
    agent = site.context(AGENT_EMAIL, AGENT_PASSWORD)
    check_pages(agent, screens.agent, findings, "agent")
    agent.close()
    guest = site.context(WEBGUEST_EMAIL, WEBGUEST_PASSWORD, portal=True)
    check_pages(guest, screens.portal, findings, "webguest")
    check_portal_states(guest, findings)
    guest.close()
    anonymous = site.context()
    check_pages(anonymous, screens.signed_out, findings, "signed out")
    check_signed_out_states(anonymous, findings)
    anonymous.close()
    took = time.monotonic() - started
    summary = (f"axe-core checked {findings.pages} pages in {took:.0f} s "
               f"({len(screens.admin)} screens as admin, {len(screens.agent)} as agent, of "
               f"{screens.crawled} pages the crawl reached; "
               f"{len(screens.portal)} on the portal, {len(screens.signed_out)} signed out, "
               f"the rest after an action)")
    with capsys.disabled():
        print("\n" + summary)
    # The crawl reached the screens named in issue 24, so this cannot pass by checking nothing.
    for expected in ("/admin/", "/admin/customer/", "/admin/org/", "/admin/contact/",
                     "/admin/ticket/", "/admin/dictionary/", "/admin/dictionary/rules/",
                     "/admin/seed/", "/admin/directory/", "/admin/logins/",
                     "/admin/api_tokens/", "/admin/history/customer/", "/admin/bulk/customer/",
                     "/admin/bulk/change/"):
        assert any(urlsplit(url).path.startswith(expected) for url in screens.admin), expected
    assert len(screens.portal) >= 4, screens.portal
    counts = ", ".join(f"{rule}: {count}" for rule, count in findings.by_rule().most_common())
    assert not findings.elements, (
        f"{len(findings.elements)} WCAG 2.1 AA violations ({counts}); {summary}:\n  "
        + findings.report())
