"""What a person sees in headless Chromium: the Level switch and the Org search box.

Uses Debian's chromium (installed by `make test` / `.ci/run`); Playwright drives it
through `executable_path`, so no browser is downloaded.
"""

import json

import mongoengine
import pytest
from playwright.sync_api import expect

from admin_app.models import Customer

from .conftest import make_app
from .servers import signed_in_browser


@pytest.fixture
def page(tmp_path):
    make_app(tmp_path, "embedded")
    Customer(name="Acme Ltd", level="Org").save()
    Customer(name="Acme Retired", level="Org", archived=True).save()
    with signed_in_browser(tmp_path / "instance") as context:
        page = context.new_page()
        page.goto("/admin/")
        yield page
    mongoengine.disconnect()


def test_choosing_org_level_refreshes_the_form_and_keeps_typed_values(page):
    page.goto("/admin/customer/new/")
    expect(page.locator("#department")).to_be_visible()
    page.fill("#name", "Globex")
    page.fill("#email", "info@globex.example")
    page.select_option("#level", "Org")
    page.wait_for_load_state()
    expect(page.locator("#address")).to_be_visible()
    expect(page.locator("#department")).to_have_count(0)
    expect(page.locator("#name")).to_have_value("Globex")
    expect(page.locator("#email")).to_have_value("info@globex.example")
    page.click("input[value=OK]")
    page.wait_for_url("**/admin/customer/")
    assert Customer.objects.get(name="Globex").level == "Org"


def test_org_dropdown_searches_live_orgs_as_you_type(page):
    page.goto("/admin/customer/new/")
    page.fill("#name", "Ann Lee")
    page.click("#s2id_org")
    page.keyboard.type("acm")
    results = page.locator(".select2-result-label")
    expect(results).to_have_text(["Acme Ltd"])
    results.first.click()
    page.click("input[value=OK]")
    page.wait_for_url("**/admin/customer/")
    ann = Customer.objects.get(name="Ann Lee")
    assert ann.org == Customer.objects.get(name="Acme Ltd").pk


def test_a_seed_file_is_checked_then_loaded_while_a_progress_bar_shows(page, tmp_path):
    path = tmp_path / "orgs.jsonl"
    path.write_text("\n".join(json.dumps({"entity": "orgs", "name": f"Org {i:04d}"})
                              for i in range(3000)), encoding="utf-8")
    page.goto("/admin/seed/")
    page.set_input_files("#file", str(path))
    page.get_by_role("button", name="Check file").click()
    # The job's own process takes a moment to start, so the first view is its progress.
    expect(page.locator("#seed-progress")).to_be_visible()
    expect(page.locator("#seed-summary")).to_contain_text(
        "Checked 3000 records", timeout=60_000)
    assert Customer.objects(level="Org").count() == 2
    page.click("#confirm-load")
    expect(page.locator("#seed-summary")).to_contain_text(
        "Loaded 3000 records", timeout=60_000)
    assert Customer.objects(level="Org").count() == 3002
