"""A bulk change in headless Chromium (issue 24, point 4): tick rows by keyboard and with
"Select all on this page", choose the change, read the confirmation (count and change),
confirm, follow the progress bar of the job (the threshold is lowered to 2 records for
the test) and read the result; and set a reference (Org) chosen in the record form's own
lookup box."""

from __future__ import annotations

import mongoengine
import pytest
from playwright.sync_api import expect

from admin_app import dictionary, records

from .conftest import make_app
from .servers import signed_in_browser


@pytest.fixture
def page(tmp_path, monkeypatch):
    monkeypatch.setenv("BULK_IN_REQUEST", "2")
    app = make_app(tmp_path, "embedded")
    with app.app_context():
        dictionary.current_or_default()
        trace = records.trace.by_request(records.trace.FORM)
        for name in ("Ann Finch", "Bob Finney", "Cid Finn", "Dee Other"):
            records.create("customer", {"name": name, "level": "Customer"}, trace)
        records.create("customer", {"name": "Acme Works", "level": "Org"}, trace)
    with signed_in_browser(tmp_path / "instance") as context:
        yield context.new_page()
    mongoengine.disconnect()


def test_select_confirm_follow_the_progress_and_read_the_result(page, tmp_path):
    page.goto("/admin/customer/?search=fin")
    rows = page.locator("input.bulk-row")
    expect(rows).to_have_count(3)
    # Select all by keyboard, then untick one row: the header box is then mixed.
    page.get_by_label("Select all on this page").focus()
    page.keyboard.press("Space")
    for i in range(3):
        expect(rows.nth(i)).to_be_checked()
    page.get_by_label("Select Cid Finn").uncheck()
    assert page.locator("#bulk-all").evaluate("box => box.indeterminate")
    page.get_by_label("Select all on this page").check()
    page.get_by_label("Change", exact=True).select_option("archive")
    page.locator("#bulk-go").click()
    page.wait_for_url("**/admin/bulk/customer/**")
    expect(page.locator("#bulk-scope")).to_contain_text("3 Customers")
    page.locator("#bulk-review-submit").click()
    expect(page.locator("#bulk-question")).to_have_text("Archive the 3 Customers selected?")
    page.locator("#bulk-confirm").focus()
    page.keyboard.press("Enter")
    # More than 2 records: a job whose page shows its progress, then the result.
    expect(page.locator("#bulk-progress")).to_be_visible()
    expect(page.locator("#bulk-summary")).to_have_text(
        "Done: 3 changed, 0 already so, 0 refused.", timeout=30_000)
    page.locator("#bulk-back").click()
    page.wait_for_url("**/admin/customer/**")
    expect(page.locator("input.bulk-row")).to_have_count(0)


def test_set_a_reference_chosen_in_its_lookup_box_on_the_rows_ticked(page):
    page.goto("/admin/customer/?search=fin")
    page.get_by_label("Select Ann Finch").check()
    page.get_by_label("Select Bob Finney").check()
    page.get_by_label("Change", exact=True).select_option("set")
    page.locator("#bulk-go").click()
    page.wait_for_url("**/admin/bulk/customer/**")
    page.locator("#bulk-field").select_option(label="Org")
    page.locator("#bulk-pick-submit").click()
    page.wait_for_load_state()
    page.locator("#s2id_value-org").click()  # the record form's own lookup box
    page.keyboard.type("acm")
    page.locator(".select2-result-label", has_text="Acme Works").click()
    page.locator("#bulk-review-submit").click()
    expect(page.locator("#bulk-question")).to_have_text(
        "Set Org to Acme Works on the 2 Customers selected?")
    page.locator("#bulk-confirm").click()
    expect(page.locator("#bulk-summary")).to_have_text(
        "Done: 2 changed, 0 already so, 0 refused.", timeout=30_000)
    page.goto("/admin/customer/?search=fin")
    orgs = dict(zip(page.locator("td.col-name").all_inner_texts(),
                    page.locator("td.col-org").all_inner_texts(), strict=True))
    assert {k.strip(): v.strip() for k, v in orgs.items()} == {
        "Ann Finch": "Acme Works", "Bob Finney": "Acme Works", "Cid Finn": ""}
