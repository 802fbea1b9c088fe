"""A rule made on the rules screen, as an admin makes one, and the form reacting, in
headless Chromium on the demo data (gunicorn, the embedded store): the builder saves
"Cost Centre shows and is mandatory when Department is Finance"; on a new Customer's
form, typing Finance into Department shows Cost Centre, starred, with no reload; another
department hides it again. `make screenshots` keeps the two pages the README shows.
"""

from __future__ import annotations

import typing as t

import mongoengine
import pytest
from playwright.sync_api import Page, expect

from admin_app.customising.fields import add_field
from admin_app.dictionary.documents import LayoutDefinition, RuleDefinition

from .servers import signed_in_browser
from .test_browser_tickets import SCREENSHOTS, VIEWPORT, screenshot
from .test_crawl import set_up_like_make_run


@pytest.fixture
def page(tmp_path) -> t.Iterator[Page]:
    app = set_up_like_make_run(tmp_path, "embedded")
    with app.app_context():
        first = LayoutDefinition.objects.get(entity="customer", level="Customer").sections[0]
        add_field("customer", "cost_centre", "Cost Centre", "text",
                  sections={"Customer": first.title})
    with signed_in_browser(tmp_path / "instance", viewport=VIEWPORT) as context:
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        yield page
        assert errors == [], errors  # a CSP violation is a console error
    with app.app_context():
        stored = list(RuleDefinition.objects)
    assert [r.name for r in stored] == ["finance-needs-cost-centre"]
    mongoengine.disconnect()


def test_a_rule_made_in_the_builder_makes_the_form_react(page: Page) -> None:
    page.goto("/admin/dictionary/")
    page.locator("#rules-customer").click()
    page.get_by_role("link", name="Add rule").first.click()
    page.fill("#rule-name", "finance-needs-cost-centre")
    page.fill("#rule-description", "Finance books every customer to a cost centre.")
    page.select_option('select[name="when-0-field"]', "department")
    page.select_option('select[name="when-0-op"]', "equals")
    page.fill('input[name="when-0-value"]', "Finance")
    page.select_option('select[name="when-1-field"]', "level")
    page.select_option('select[name="when-1-op"]', "not_equals")
    page.fill('input[name="when-1-value"]', "Org")
    page.select_option("#rule-show", "cost_centre")
    page.select_option("#rule-mandatory", "cost_centre")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#rule-builder").screenshot(path=str(SCREENSHOTS / "rule-builder.png"))
    page.click("#save-rule")
    expect(page.locator("body")).to_contain_text("Added rule finance-needs-cost-centre")
    expect(page.locator("body")).to_contain_text(
        "Department is Finance and Level is not Org")

    page.goto("/admin/customer/new/")
    page.evaluate("window.tourMarker = 1")
    cost_centre = page.locator('[data-rule-field="cost_centre"]')
    expect(cost_centre).to_be_hidden()
    page.fill("#name", "Frances Ledger")
    page.locator("#department").press_sequentially("Finance")
    expect(cost_centre).to_be_visible()
    expect(cost_centre.locator("[data-rule-star]")).to_be_visible()
    expect(page.locator("#cost_centre")).to_have_attribute("required", "")
    assert page.evaluate("window.tourMarker") == 1  # no reload
    page.locator("#department").evaluate("e => e.scrollIntoView({block: 'start'})")
    page.evaluate("window.scrollBy(0, -60)")
    screenshot(page, "rule-form.png")
    page.fill("#department", "Sales")
    expect(cost_centre).to_be_hidden()
