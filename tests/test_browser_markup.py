"""Dictionary words that contain HTML are shown as text in a real browser, never run.

An admin may type anything into a label, a help text, a section title or a Level's
words. Headless Chromium (Debian's, driven by Playwright as in test_browser.py) opens
the screens of a store set up as `make run` does, after every dictionary string was
given markup that calls alert(): no dialog may open on any screen, and the words must
be visible with their `<img …>` as literal text, so they are shown escaped, not dropped.
"""

from __future__ import annotations

import typing as t

import mongoengine
import pytest
from playwright.sync_api import Page, expect

from admin_app.models import Contact, Customer

from .servers import signed_in_browser
from .test_crawl import IMG_PAYLOAD, mark_up_dictionary, set_up_like_make_run

SCREENSHOT = "/tmp/markup_form.png"
RECORD_LISTS = ("customer", "org", "contact")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> t.Iterator[t.Any]:
    """A signed-in browser context on gunicorn, over the demo with a marked-up dictionary."""
    tmp_path = tmp_path_factory.mktemp("markup")
    app = set_up_like_make_run(tmp_path, "embedded")
    with app.app_context():
        mark_up_dictionary()
    with signed_in_browser(tmp_path / "instance") as context:
        yield context
    mongoengine.disconnect()


@pytest.fixture
def dialogs() -> list[str]:
    return []


@pytest.fixture
def page(site, dialogs) -> t.Iterator[Page]:
    """A tab that records (and dismisses) every alert/confirm/prompt the markup opens."""
    page = site.new_page()

    def record(dialog: t.Any) -> None:
        dialogs.append(f"{dialog.type}({dialog.message!r}) on {page.url}")
        dialog.dismiss()

    page.on("dialog", record)
    yield page
    page.close()


def open_page(page: Page, url: str, dialogs: list[str]) -> None:
    """Go to `url`, let scripts and failing images finish, and require that no dialog opened."""
    response = page.goto(url)
    assert response is not None and response.status < 500, \
        f"{url} answered {response.status if response else 'nothing'}"
    settle(page, dialogs)


def settle(page: Page, dialogs: list[str]) -> None:
    page.wait_for_load_state("networkidle")
    assert not dialogs, f"dictionary markup ran as script {len(dialogs)} times: " \
                        f"{sorted(set(dialogs))}"


def expect_shown_as_text(page: Page, selector: str) -> None:
    """Some visible element matching `selector` reads the markup literally: the `<img …>`
    is its text (had it been parsed as HTML, the text would lack it)."""
    expect(page.locator(selector).filter(has_text=IMG_PAYLOAD, visible=True).first) \
        .to_be_visible()


def record_id(model: type[mongoengine.Document], **query: t.Any) -> str:
    """Read raw, so a model that cannot load the record does not hide the screen's failure."""
    return str(model._get_collection().find_one(query, {"_id": 1})["_id"])


def test_record_lists_and_archived_tabs_show_the_words_as_text(page, dialogs):
    for view in RECORD_LISTS:
        open_page(page, f"/admin/{view}/", dialogs)
        expect_shown_as_text(page, "table.model-list th")  # column labels
        with page.expect_navigation():
            page.click("#show-archived")
        settle(page, dialogs)
        expect_shown_as_text(page, "table.model-list th")


def test_add_filter_menus_add_rows_named_as_text(page, dialogs):
    """Flask-Admin's filter script builds a row from the menu entry's text; that text must
    stay text (its `.append(name)` would parse a marked-up name as HTML)."""
    with_menu = []
    for view in (*RECORD_LISTS, "contract", "sla"):
        open_page(page, f"/admin/{view}/", dialogs)
        toggle = page.locator("a.dropdown-toggle", has_text="Add Filter")
        if not toggle.count():
            continue
        with_menu.append(view)
        entries = page.locator(".field-filters a.filter")
        for index in range(entries.count()):
            toggle.click()
            name = entries.nth(index).inner_text().strip()
            entries.nth(index).click()
            settle(page, dialogs)
            row = page.locator("table.filters tr").last
            expect(row).to_contain_text(name)
    assert {"contract", "sla"} <= set(with_menu), f"lists with an Add Filter menu: {with_menu}"


def test_customer_form_shows_labels_help_sections_and_defaults_as_text(page, dialogs):
    open_page(page, "/admin/customer/new/", dialogs)
    expect_shown_as_text(page, "label[for=name]")
    expect_shown_as_text(page, "label[for=name] ~ small, #name ~ small")  # help text
    expect_shown_as_text(page, "legend")  # section title
    expect(page.locator("#name")).to_have_value(f'Default name ">{IMG_PAYLOAD}'
                                                "<script>alert(1)</script>")
    expect(page.locator("#level option").first).to_contain_text(IMG_PAYLOAD)
    page.screenshot(path=SCREENSHOT, full_page=True)


def test_org_edit_form_and_its_linked_contacts_show_the_words_as_text(page, dialogs):
    org = record_id(Customer, name="Acme Manufacturing")
    open_page(page, f"/admin/org/edit/?id={org}", dialogs)
    expect_shown_as_text(page, "label[for=address]")
    expect_shown_as_text(page, "label[for=contract]")
    expect_shown_as_text(page, "#linked-contacts h2")
    expect_shown_as_text(page, "#linked-contacts a.btn")  # Add contact


def test_contact_forms_show_the_words_as_text(page, dialogs):
    open_page(page, "/admin/contact/new/", dialogs)
    expect_shown_as_text(page, "label[for=customer]")
    contact = record_id(Contact, name="Priya Patel")
    open_page(page, f"/admin/contact/edit/?id={contact}", dialogs)
    expect_shown_as_text(page, "label[for=job_title]")


def test_choosing_org_in_the_level_select_re_renders_without_running_markup(page, dialogs):
    open_page(page, "/admin/customer/new/", dialogs)
    page.fill("#name", "Globex")
    org = page.locator("#level option", has_text="Org").first.get_attribute("value")
    with page.expect_navigation():
        page.select_option("#level", org)
    settle(page, dialogs)
    expect(page.locator("#name")).to_have_value("Globex")
    expect_shown_as_text(page, "label[for=name]")
    # The Org layout is shown, headed with the Org's (marked-up) words, as text.
    expect(page.locator("#address")).to_be_visible()
    expect_shown_as_text(page, "#record-heading")
    expect_shown_as_text(page, "#level-note")


def test_org_search_box_runs_no_markup(page, dialogs):
    open_page(page, "/admin/customer/new/", dialogs)
    page.click("#s2id_org")
    page.keyboard.type("acm")
    expect(page.locator(".select2-result-label")).to_have_text(["Acme Manufacturing"])
    settle(page, dialogs)


@pytest.mark.parametrize("url", [
    "/admin/dictionary/",
    "/admin/dictionary/customer/name/",
    "/admin/dictionary/entity/customer/",
    "/admin/dictionary/layout/customer/Customer/",
])
def test_dictionary_screens_show_the_words_as_text(page, dialogs, url):
    open_page(page, url, dialogs)
    # The index lists the words; the field, entity and layout editors hold them in inputs.
    shown = page.get_by_text(IMG_PAYLOAD).filter(visible=True).count()
    values = page.locator("input[type=text], textarea").evaluate_all(
        "elements => elements.map(e => e.value)")
    assert shown or any(IMG_PAYLOAD in value for value in values), \
        f"{url} shows no dictionary words with their markup as text; inputs hold {values}"


def test_dictionary_history_runs_no_markup(page, dialogs):
    open_page(page, "/admin/dictionary/history/", dialogs)
