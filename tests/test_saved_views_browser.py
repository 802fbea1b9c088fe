"""Saved views in headless Chromium (issue 24, point 3): an admin filters a list, saves it
as a shared view by keyboard, opens it again; an agent sees the shared view and opens
it; the admin deletes it after the confirmation page. The Views panel and the replace
and delete pages (the replace page answers a POST: no crawl reaches it) pass axe-core's
WCAG 2.1 AA rules."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

import mongoengine
import pytest
from playwright.sync_api import expect

from admin_app.models import User

from .conftest import make_app
from .helpers import AGENT_PASSWORD
from .test_accessibility import AXE_OPTIONS, Findings
from .test_list_filters import make_desk

AGENT = "agent.views@example.com"


@pytest.fixture
def context(tmp_path):
    from .servers import signed_in_browser

    app = make_app(tmp_path, "embedded")
    with app.app_context():
        make_desk()
        agent = User(email=AGENT, role="agent")
        agent.set_password(AGENT_PASSWORD)
        agent.save()
    with signed_in_browser(tmp_path / "instance") as context:
        yield context
    mongoengine.disconnect()


def rows(page) -> list[str]:
    return [text.strip() for text in page.locator("td.col-name").all_inner_texts()]


def test_save_open_share_and_delete_a_view(context):
    page = context.new_page()
    page.goto("/admin/customer/?f.tier=Gold&cols=name,tier")
    assert rows(page) == ["Ann Lee", "Cy Dunn"]
    # By keyboard: name the view, tick Share, press Enter.
    page.get_by_label("Save this view as").focus()
    page.keyboard.type("Gold <desk>")
    page.get_by_label("Share with everyone").focus()
    page.keyboard.press("Space")
    page.get_by_label("Save this view as").focus()
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    expect(page.locator("body")).to_contain_text("The view Gold <desk> is saved and shared")

    # Opened from the plain list, it is the same list again.
    page.goto("/admin/customer/")
    assert rows(page) == ["Ann Lee", "Bo Chan", "Cy Dunn"]
    page.get_by_role("link", name="Gold <desk>", exact=True).click()
    page.wait_for_url(re.compile(r".*f\.tier=Gold.*"))
    assert ("cols", "name,tier") in parse_qsl(urlsplit(page.url).query)
    assert rows(page) == ["Ann Lee", "Cy Dunn"]
    base = page.url.split("/admin/")[0]

    # An agent sees the shared view (and cannot delete it), and opens it.
    other = context.browser.new_context(base_url=base)
    agent = other.new_page()
    agent.goto("/login")
    agent.fill("#email", AGENT)
    agent.fill("#password", AGENT_PASSWORD)
    agent.click("button[type=submit]")
    agent.wait_for_url("**/admin/")
    agent.goto("/admin/customer/")
    expect(agent.locator("#saved-views")).to_contain_text("shared by admin@example.com")
    expect(agent.locator(".saved-view-delete")).to_have_count(0)
    expect(agent.get_by_label("Share with everyone")).to_have_count(0)
    agent.get_by_role("link", name="Gold <desk>", exact=True).click()
    agent.wait_for_url(re.compile(r".*f\.tier=Gold.*"))
    assert rows(agent) == ["Ann Lee", "Cy Dunn"]
    other.close()

    # The admin deletes it, after the confirmation page.
    page.get_by_role("link", name="Delete the view Gold <desk>").click()
    expect(page.locator("#confirm-heading")).to_have_text("Delete the view Gold <desk>?")
    page.locator("#confirm").click()
    page.wait_for_url(re.compile(r".*/admin/customer/$"))
    expect(page.locator("body")).to_contain_text("The view Gold <desk> is deleted.")
    expect(page.locator("#no-saved-views")).to_be_visible()


def test_the_views_screens_meet_wcag_21_aa(context):
    from axe_playwright_python.base import AXE_SCRIPT

    context.add_init_script(script=AXE_SCRIPT)
    page = context.new_page()
    findings = Findings()

    def check(label: str) -> None:
        findings.add(label, page.evaluate("options => axe.run(document, options)",
                                          AXE_OPTIONS))

    for name in ("Gold", "Gold"):  # the second time, the replace page asks
        page.goto("/admin/customer/?f.tier=Gold")
        page.get_by_label("Save this view as").fill(name)
        page.locator("#save-view").click()
        page.wait_for_load_state()
    expect(page.locator("#confirm-heading")).to_have_text("Replace your view Gold?")
    check("the replace page")
    page.locator("#confirm").click()
    page.wait_for_url(re.compile(r".*/admin/customer/\?f\.tier=Gold$"))
    expect(page.locator("#saved-views")).to_contain_text("Gold")
    check("a list with a view and a message")
    page.get_by_role("link", name="Delete the view Gold").click()
    expect(page.locator("#confirm-heading")).to_be_visible()
    check("the delete page")
    assert findings.pages == 3
    assert not findings.elements, findings.report()
