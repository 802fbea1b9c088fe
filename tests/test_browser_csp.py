"""Under the Content-Security-Policy (no inline script, no inline style), every kind of
admin page loads in headless Chromium without a violation, and the parts that run script
still work: the Level switch, the Org search, the Add Filter menu, a confirm before
Revert, the pager, the ticket form.

Debian's chromium driven by Playwright, over a store set up as `make run` does.
"""

from __future__ import annotations

import typing as t

import mongoengine
import pytest
from playwright.sync_api import Page, expect

from admin_app.dictionary.documents import FieldDefinition
from admin_app.mail import OutboxMessage
from admin_app.models import Contract, Customer

from .servers import signed_in_browser
from .test_crawl import log_demo_tickets, set_up_like_make_run

CSP_WORDS = ("Content Security Policy", "Content-Security-Policy")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> t.Iterator[t.Any]:
    tmp_path = tmp_path_factory.mktemp("csp")
    app = set_up_like_make_run(tmp_path, "embedded")
    with app.app_context():
        log_demo_tickets()
        Contract(name="Retired terms", archived=True).save()
        for number in range(25):  # more than a page, so the list has a pager
            Customer(name=f"Paged {number:02d}", level="Customer").save()
    with signed_in_browser(tmp_path / "instance") as context:
        yield context
    mongoengine.disconnect()


@pytest.fixture
def problems() -> list[str]:
    return []


@pytest.fixture
def page(site, problems) -> t.Iterator[Page]:
    """A tab that records every CSP violation and uncaught script error."""
    page = site.new_page()

    def console(message: t.Any) -> None:
        if any(word in message.text for word in CSP_WORDS):
            problems.append(f"{page.url}: {message.text}")

    page.on("console", console)
    page.on("pageerror", lambda error: problems.append(f"{page.url}: page error: {error}"))
    yield page
    page.close()


def record_id(name: str) -> str:
    return str(Customer._get_collection().find_one({"name": name}, {"_id": 1})["_id"])


def admin_pages() -> list[str]:
    """One page of every kind an admin reaches from the menu and the records."""
    chen, acme = record_id("Chen Wei"), record_id("Acme Manufacturing")
    contract = Contract.objects.first().pk
    message = OutboxMessage.objects.first().pk
    return [
        "/admin/",
        "/admin/customer/", "/admin/customer/?archived=1", "/admin/customer/new/",
        f"/admin/customer/edit/?id={chen}",
        "/admin/org/", "/admin/org/new/", f"/admin/org/edit/?id={acme}",
        "/admin/contact/", f"/admin/contact/new/?customer={chen}",
        "/admin/ticket/", f"/admin/ticket/new/?customer={chen}",
        f"/admin/ticket/?customer={chen}",
        "/admin/contract/", "/admin/contract/new/", f"/admin/contract/edit/?id={contract}",
        "/admin/sla/", "/admin/sla/new/",
        "/admin/dictionary/", "/admin/dictionary/customer/department/",
        "/admin/dictionary/customer/new/", "/admin/dictionary/entity/customer/",
        "/admin/dictionary/layout/customer/Customer/", "/admin/dictionary/history/",
        "/admin/outbox/", f"/admin/outbox/message/{message}/",
        "/admin/directory/", "/admin/directory/new/", "/admin/directory_runs/",
        "/admin/seed/",
        "/admin/no-such-page/",
    ]


def test_every_kind_of_admin_page_loads_without_a_policy_violation(site, page, problems):
    opened = 0
    for url in admin_pages():
        page.goto(url)
        page.wait_for_load_state("networkidle")
        opened += 1
    assert opened == len(admin_pages())
    assert not problems, "\n".join(problems)


def test_the_sign_in_page_loads_without_a_policy_violation(site, page, problems):
    page.goto("/admin/")
    base = page.url.split("/admin/")[0]
    anonymous = site.browser.new_context(base_url=base)
    try:
        signin = anonymous.new_page()
        signin.on("console", lambda message: any(w in message.text for w in CSP_WORDS)
                  and problems.append(message.text))
        signin.goto("/login")
        signin.wait_for_load_state("networkidle")
        expect(signin.locator("#email")).to_be_visible()
    finally:
        anonymous.close()
    assert not problems, "\n".join(problems)


def test_the_level_switch_lays_the_form_out_again(page, problems):
    page.goto("/admin/customer/new/")
    expect(page.locator("#department")).to_be_visible()
    page.fill("#name", "Switcher")
    page.select_option("#level", "Org")
    page.wait_for_load_state()
    expect(page.locator("#address")).to_be_visible()
    expect(page.locator("#name")).to_have_value("Switcher")
    assert not problems, "\n".join(problems)


def test_the_org_search_offers_orgs_as_you_type_and_saves_the_choice(page, problems):
    page.goto("/admin/customer/new/")
    page.fill("#name", "Searcher")
    page.click("#s2id_org")
    page.keyboard.type("acme")
    results = page.locator(".select2-result-label")
    expect(results.first).to_have_text("Acme Manufacturing")
    results.first.click()
    page.click("input[value=OK]")
    page.wait_for_url("**/admin/customer/")
    assert Customer.objects.get(name="Searcher").org == Customer.objects.get(
        name="Acme Manufacturing").pk
    assert not problems, "\n".join(problems)


def test_archiving_from_the_form_moves_the_record_to_the_archived_tab(page, problems):
    Customer(name="To Archive", level="Customer").save()
    page.goto(f"/admin/customer/edit/?id={record_id('To Archive')}")
    page.check("#archived")
    page.click("input[value=OK]")
    page.wait_for_url("**/admin/customer/")
    expect(page.locator("table.model-list")).not_to_contain_text("To Archive")
    page.click("#show-archived")
    expect(page.locator("table.model-list")).to_contain_text("To Archive")
    assert Customer.objects.get(name="To Archive").archived is True
    assert not problems, "\n".join(problems)


def test_add_filter_adds_a_filter_row_and_applying_it_filters(page, problems):
    page.goto("/admin/contract/")
    expect(page.locator("table.model-list")).to_contain_text("Retired terms")
    page.click("text=Add Filter")
    page.locator(".field-filters a.filter").first.click()
    expect(page.locator("#filter_form table.filters tr")).to_have_count(1)
    assert "#" not in page.url  # the menu item acted in the page, it did not navigate
    # Select2 hides the select it dresses; choosing through it sets the same value.
    page.locator("#filter_form select.filter-val").select_option("0", force=True)
    page.click("#filter_form button[type=submit]")
    page.wait_for_load_state()
    expect(page.locator("table.model-list")).not_to_contain_text("Retired terms")
    assert not problems, "\n".join(problems)


def test_the_pager_and_menus_do_not_follow_javascript_links(page, problems):
    # Record lists use the simple pager (plain links); Contracts keep Flask-Admin's
    # numbered one, whose current page links to javascript:void(0).
    extra = [Contract(name=f"Pager test {i:02d}").save() for i in range(25)]
    try:
        page.goto("/admin/contract/")
        current = page.locator("li.page-item.active a.page-link")
        expect(current).to_have_count(1)
        current.click()  # following javascript:void(0) would be a violation
    finally:
        for contract in extra:
            contract.delete()
    page.click("text=Service")  # a menu toggle of the same kind
    expect(page.locator("a.dropdown-item", has_text="Contracts")).to_be_visible()
    page.wait_for_timeout(200)
    assert not problems, "\n".join(problems)


def test_revert_asks_first_and_does_nothing_when_told_no(page, problems):
    page.goto("/admin/dictionary/customer/department/")
    page.fill("#label", "Cost Centre")
    page.locator("form button[type=submit], form input[type=submit]").last.click()
    page.wait_for_load_state()
    assert FieldDefinition.objects.get(entity="customer", name="department").label \
        == "Cost Centre"
    page.goto("/admin/dictionary/history/")
    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.locator("#history button", has_text="Revert").first.click()
    page.wait_for_timeout(300)
    assert asked == ["Put this back as it was before this change?"]
    assert FieldDefinition.objects.get(entity="customer", name="department").label \
        == "Cost Centre"
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#history button", has_text="Revert").first.click()
    page.wait_for_load_state()
    expect(page.locator("body")).to_contain_text("Department")
    assert FieldDefinition.objects.get(entity="customer", name="department").label \
        == "Department"
    assert not problems, "\n".join(problems)


def test_the_ticket_form_brings_the_customer_forward(page, problems):
    page.goto("/admin/ticket/new/")
    page.click("#s2id_customer")
    page.keyboard.type("chen")
    page.locator(".select2-result-label", has_text="Chen Wei").click()
    expect(page.locator("#ticket-news")).to_be_visible()
    expect(page.locator("#bf_department")).to_have_value("IT")
    assert not problems, "\n".join(problems)
