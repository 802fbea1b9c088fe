"""Filtering a list in headless Chromium (issue 24, point 1): pick filters by keyboard and
with the Org lookup, submit, and read the results, the count and the shared URL; then
remove one filter and clear them all. `make screenshots` keeps the filtered list the
README shows."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

import mongoengine
import pytest
from playwright.sync_api import expect

from .conftest import make_app
from .servers import signed_in_browser
from .test_browser_tickets import VIEWPORT, screenshot
from .test_list_filters import make_desk


@pytest.fixture
def page(tmp_path):
    app = make_app(tmp_path, "embedded")
    with app.app_context():
        make_desk()
    with signed_in_browser(tmp_path / "instance", viewport=VIEWPORT) as context:
        yield context.new_page()
    mongoengine.disconnect()


def rows(page) -> list[str]:
    return [text.strip() for text in page.locator("td.col-name").all_inner_texts()]


def test_picking_filters_narrows_the_list_and_the_url_says_so(page):
    page.goto("/admin/customer/")
    expect(page.locator("#list-count")).to_have_text("1–3 of 3")
    # By keyboard: open the panel, tick Gold, type a department, press Enter.
    page.locator("summary", has_text="Filters").focus()
    page.keyboard.press("Enter")
    page.get_by_role("checkbox", name="Gold").focus()
    page.keyboard.press("Space")
    expect(page.get_by_role("checkbox", name="Gold")).to_be_checked()
    page.get_by_label("Department starts with").focus()
    page.keyboard.type("fin")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*f\.department=fin.*"))
    asked = parse_qsl(urlsplit(page.url).query)
    assert ("f.tier", "Gold") in asked and ("f.department", "fin") in asked
    assert rows(page) == ["Ann Lee"]
    expect(page.locator("#list-count")).to_have_text("1–1 of 1")
    expect(page.locator("#active-filters")).to_contain_text("Tier is Gold")
    expect(page.locator("#active-filters")).to_contain_text("Department starts with fin")
    screenshot(page, "list-filters.png", full_page=True)  # the README's (`make screenshots`)

    # The Org lookup: type, choose, apply; the link keeps the other filters.
    page.locator("#s2id_filter-org").click()
    page.keyboard.type("glob")
    page.locator(".select2-result-label", has_text="Globex").click()
    page.get_by_role("checkbox", name="Gold").uncheck()
    page.locator("#apply-filters").click()
    page.wait_for_url(re.compile(r".*f\.org=.*"))
    assert rows(page) == ["Bo Chan"]
    shared = page.url

    # The link, opened again, is the same list; removing a filter, then all of them.
    page.goto(shared)
    assert rows(page) == ["Bo Chan"]
    page.get_by_role("link", name=re.compile("Remove the filter Org is Globex")).click()
    page.wait_for_load_state()
    assert rows(page) == ["Ann Lee", "Bo Chan"]
    page.locator("#clear-filters").click()
    page.wait_for_load_state()
    assert "f." not in page.url
    expect(page.locator("#list-count")).to_have_text("1–3 of 3")


def test_a_count_past_its_work_says_many_and_the_button_counts_them_all(tmp_path):
    """A server told to read one row of the keys table to count (LIST_COUNT_WORK) says
    "of many" for two filters; the button, reached by keyboard, counts them all."""
    app = make_app(tmp_path, "embedded")
    with app.app_context():
        make_desk()
    with signed_in_browser(tmp_path / "instance", settings={"LIST_COUNT_WORK": "1"},
                           viewport=VIEWPORT) as context:
        page = context.new_page()
        page.goto("/admin/customer/?f.tier=Gold&f.expiry_date.min=2025-01-01")
        expect(page.locator("#list-count")).to_have_text("1–2 of many")
        page.locator("#count-all").focus()
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r".*count=all.*"))
        expect(page.locator("#list-count")).to_have_text("1–2 of 2")
        expect(page.locator("#count-all")).to_have_count(0)
        assert rows(page) == ["Ann Lee", "Cy Dunn"]
    mongoengine.disconnect()
