"""The admin's API page in headless Chromium: Swagger UI, served from this site, renders
the live description's operations under the Content-Security-Policy (no inline script,
no inline style) with no violation and no script error; the page follows a dictionary
change on the next load. And, without a browser, the page opens for an admin and an
agent and is refused to a WebGuest.

Debian's chromium driven by Playwright, over a store set up as `make run` does.
"""

from __future__ import annotations

import typing as t

import mongoengine
import pytest
from playwright.sync_api import expect

from admin_app.customising.fields import update_field

from .helpers import login, submit
from .servers import signed_in_browser
from .test_browser_csp import CSP_WORDS
from .test_crawl import (
    AGENT_EMAIL,
    AGENT_PASSWORD,
    WEBGUEST_EMAIL,
    WEBGUEST_PASSWORD,
    set_up_like_make_run,
)

PAGE = "/admin/api/"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> t.Iterator[t.Any]:
    tmp_path = tmp_path_factory.mktemp("api-page")
    set_up_like_make_run(tmp_path, "embedded")
    with signed_in_browser(tmp_path / "instance") as context:
        yield context
    mongoengine.disconnect()


def test_swagger_ui_renders_the_live_operations_without_a_policy_violation(site):
    problems: list[str] = []
    page = site.new_page()
    page.on("console", lambda message: any(w in message.text for w in CSP_WORDS)
            and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    try:
        page.goto(PAGE)
        expect(page.locator("#operations-customers-listCustomers")).to_be_visible()
        expect(page.locator("#operations-customers-changeCustomer")).to_be_visible()
        expect(page.locator("#operations-contacts-createContact")).to_be_visible()
        assert page.locator(".opblock").count() >= 16
        # An operation opens and shows its parameters and responses.
        page.click("#operations-customers-changeCustomer .opblock-summary-control")
        expect(page.locator("#operations-customers-changeCustomer")).to_contain_text(
            "If-Match")
        expect(page.locator("#operations-customers-changeCustomer")).to_contain_text("412")
        page.wait_for_load_state("networkidle")
        # A dictionary change shows on the next load: the new label.
        update_field("customer", "department", label="Cost Centre")
        page.reload()
        page.click("#operations-customers-listCustomers .opblock-summary-control")
        expect(page.locator("#operations-customers-listCustomers")).to_contain_text(
            "Only records whose Cost Centre is this value")
        page.wait_for_load_state("networkidle")
    finally:
        page.close()
    base = asked[0].split("/admin/")[0]
    assert all(url.startswith(base) or url.startswith("data:") for url in asked), \
        [url for url in asked if not url.startswith(base)]
    assert not problems, "\n".join(problems)


def test_the_page_opens_for_an_admin_and_an_agent_and_not_for_a_webguest(tmp_path):
    app = set_up_like_make_run(tmp_path, "mongomock")
    try:
        for email, password in ((None, None), (AGENT_EMAIL, AGENT_PASSWORD)):
            with app.test_client() as client:
                signed = login(client) if email is None else login(client, email, password)
                assert signed.status_code == 302
                answer = client.get(PAGE)
                assert answer.status_code == 200
                html = answer.get_data(as_text=True)
                assert 'data-url="/api/v1/openapi.json"' in html
                assert "/admin/api/swagger-ui/swagger-ui-bundle.js" in html
                assert 'href="/admin/api/"' in client.get("/admin/").get_data(as_text=True)
                script = client.get("/admin/api/swagger-ui/swagger-ui-bundle.js")
                script.close()  # a file response holds its file open until closed
                assert script.status_code == 200
                assert client.get("/api/v1/openapi.json").status_code == 200
        with app.test_client() as guest:
            assert submit(guest, "/portal/", {"email": WEBGUEST_EMAIL,
                                              "password": WEBGUEST_PASSWORD}
                          ).status_code == 302
            assert guest.get(PAGE).status_code == 403
    finally:
        mongoengine.disconnect()
