"""Exporting a filtered list in headless Chromium (issue 24, point 5): filter the list,
press "Export XLSX" by keyboard, and open the downloaded file with openpyxl."""

from __future__ import annotations

import re
from datetime import date

import mongoengine
import openpyxl
import pytest
from playwright.sync_api import expect

from .conftest import make_app
from .servers import signed_in_browser
from .test_list_filters import make_desk


@pytest.fixture
def page(tmp_path):
    app = make_app(tmp_path, "embedded")
    with app.app_context():
        make_desk()
    with signed_in_browser(tmp_path / "instance", accept_downloads=True) as context:
        yield context.new_page()
    mongoengine.disconnect()


def test_the_export_downloads_what_the_list_shows_as_a_spreadsheet(page, tmp_path):
    page.goto("/admin/customer/?cols=name,tier,org&sort=0&desc=1")
    page.locator("summary", has_text="Filters").click()
    page.get_by_role("checkbox", name="Gold").check()
    page.locator("#apply-filters").click()
    page.wait_for_url(re.compile(r".*f\.tier=Gold.*"))
    expect(page.locator("#list-count")).to_have_text("1–2 of 2")
    link = page.get_by_role("link", name="Export XLSX")
    link.focus()
    with page.expect_download() as downloaded:
        page.keyboard.press("Enter")
    download = downloaded.value
    assert download.suggested_filename == f"Customers-{date.today().isoformat()}.xlsx"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    book = openpyxl.load_workbook(saved, read_only=True)
    try:
        sheet = book.active
        assert sheet.title == "Customers"
        assert list(sheet.values) == [("Name", "Tier", "Org"),
                                      ("Cy Dunn", "Gold", "Acme Manufacturing"),
                                      ("Ann Lee", "Gold", "Acme Manufacturing")]
    finally:
        book.close()
    # The CSV beside it holds the same.
    with page.expect_download() as downloaded:
        page.get_by_role("link", name="Export CSV").click()
    text = downloaded.value.path().read_text(encoding="utf-8-sig")
    assert text.splitlines() == ["Name,Tier,Org", "Cy Dunn,Gold,Acme Manufacturing",
                                 "Ann Lee,Gold,Acme Manufacturing"]
