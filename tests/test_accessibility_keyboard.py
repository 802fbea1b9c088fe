"""Keyboard alone, in headless Chromium: the Level switch, a reference lookup, the News
pop-up, the menu and the skip link are reached with Tab and worked with keys, and the
element that has the focus shows it (a computed outline or box-shadow), as WCAG 2.1 AA
asks (2.1.1 Keyboard, 2.1.2 No Keyboard Trap, 2.4.3 Focus Order, 2.4.7 Focus Visible).

Gunicorn serves the demo as `make run` prepares it (tests/servers.py); no mouse is used
once a page is open.
"""

from __future__ import annotations

import typing as t

import mongoengine
import pytest
from playwright.sync_api import Page, expect

from admin_app.models import Customer

from .servers import signed_in_browser
from .test_crawl import set_up_like_make_run

# The element that shows the focus: itself, or for a lookup (whose focus is on a hidden
# input) the box Select2 draws.
FOCUS_RING = """() => {
  let shown = document.activeElement;
  if (shown && shown.classList.contains('select2-focusser')) {
    shown = shown.closest('.select2-container').querySelector('.select2-choice');
  }
  if (!shown || shown === document.body) { return null; }
  const style = getComputedStyle(shown);
  return {outline: style.outlineStyle === 'none' ? '' : style.outlineWidth + ' ' +
                   style.outlineStyle + ' ' + style.outlineColor,
          shadow: style.boxShadow === 'none' ? '' : style.boxShadow};
}"""


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> t.Iterator[t.Any]:
    tmp_path = tmp_path_factory.mktemp("keyboard")
    set_up_like_make_run(tmp_path, "embedded")
    with signed_in_browser(tmp_path / "instance", reduced_motion="reduce") as context:
        yield context
    mongoengine.disconnect()


@pytest.fixture
def page(site) -> t.Iterator[Page]:
    page = site.new_page()
    yield page
    page.close()


def focused(page: Page) -> str:
    """The focused element's id (for a lookup, its Select2 box's), else what it says."""
    return page.evaluate("""() => {
      const at = document.activeElement;
      if (!at) { return ''; }
      const lookup = at.closest('.select2-container');
      return lookup ? lookup.id : at.id || (at.tagName === 'INPUT' ? at.value
                                                                    : at.textContent.trim());
    }""")


def tab_to(page: Page, wanted: str, limit: int = 80) -> None:
    """Press Tab until `wanted` (see `focused`) has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if focused(page) == wanted:
            return
    pytest.fail(f"Tab never reached {wanted!r} (stopped at {focused(page)!r})")


def assert_focus_visible(page: Page) -> None:
    ring = page.evaluate(FOCUS_RING)
    assert ring and (ring["outline"] or ring["shadow"]), \
        f"{focused(page)!r} has the focus and shows nothing: {ring}"


def test_the_skip_link_and_the_menu_by_keyboard(page):
    page.goto("/admin/")
    page.keyboard.press("Tab")
    assert focused(page) == "Skip to the content"
    assert_focus_visible(page)
    expect(page.locator(".skip-link")).to_be_in_viewport()
    page.keyboard.press("Enter")
    assert focused(page) == "content"
    page.goto("/admin/")
    tab_to(page, "Data")
    assert_focus_visible(page)
    page.keyboard.press("Enter")
    menu = page.locator(".navbar .dropdown.show .dropdown-menu")
    expect(menu).to_be_visible()
    page.keyboard.press("ArrowDown")
    first = menu.locator(".dropdown-item").first
    expect(first).to_be_focused()
    assert_focus_visible(page)
    href = first.get_attribute("href")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**{href}")


def test_the_level_switch_by_keyboard_keeps_typed_values_and_the_focus(page):
    page.goto("/admin/customer/new/")
    tab_to(page, "name")
    assert_focus_visible(page)
    page.keyboard.type("Globex")
    tab_to(page, "level")
    assert_focus_visible(page)
    page.keyboard.press("ArrowDown")  # Customer -> Org: the form is drawn again
    expect(page.locator("#address")).to_be_visible()
    expect(page.locator("#level")).to_have_value("Org")
    expect(page.locator("#name")).to_have_value("Globex")
    # The redrawn page gives the focus back once its script has run: wait for it.
    expect(page.locator("#level"), "the redrawn form lost the keyboard's place") \
        .to_be_focused()
    assert_focus_visible(page)


def test_a_lookup_by_keyboard(page):
    page.goto("/admin/customer/new/")
    tab_to(page, "name")
    page.keyboard.type("Kim Keys")
    tab_to(page, "s2id_org")
    assert_focus_visible(page)
    page.keyboard.type("acm")  # typing opens the search with what was typed
    results = page.locator(".select2-result-label")
    expect(results).to_have_text(["Acme Manufacturing"])
    page.keyboard.press("Enter")
    expect(page.locator("#s2id_org .select2-chosen")).to_have_text("Acme Manufacturing")
    assert focused(page) == "s2id_org"
    assert_focus_visible(page)
    # The box is named by its label and the value chosen.
    name = page.evaluate("""() => document.activeElement.getAttribute('aria-labelledby')
                              .split(' ').map(id => document.getElementById(id).textContent
                              .trim()).join(' ')""")
    assert name.startswith("Org") and name.endswith("Acme Manufacturing"), name
    tab_to(page, "OK")
    page.keyboard.press("Enter")
    page.wait_for_url("**/admin/customer/")
    kim = Customer.objects.get(name="Kim Keys")
    assert kim.org == Customer.objects.get(name="Acme Manufacturing").pk


def test_the_news_pop_up_by_keyboard_keeps_and_gives_back_the_focus(page):
    page.goto("/admin/ticket/new/")
    tab_to(page, "s2id_customer")
    page.keyboard.type("chen")
    expect(page.locator(".select2-result-label")).to_have_text(["Chen Wei"])
    page.keyboard.press("Enter")
    news = page.locator("#ticket-news")
    expect(news).to_be_visible()
    expect(page.locator("#ticket-news-ok")).to_be_focused()
    assert_focus_visible(page)
    # Tab and Shift+Tab go round the pop-up's two buttons, never behind it.
    stops = []
    for key in ("Tab", "Tab", "Tab", "Shift+Tab", "Shift+Tab"):
        page.keyboard.press(key)
        stops.append(page.evaluate("document.activeElement.id || "
                                   "document.activeElement.getAttribute('aria-label')"))
        assert_focus_visible(page)
    assert stops == ["Close", "ticket-news-ok", "Close", "ticket-news-ok", "Close"], stops
    page.keyboard.press("Escape")
    expect(news).to_be_hidden()
    assert focused(page) == "s2id_customer", "closing the News lost the keyboard's place"
    assert_focus_visible(page)


def test_the_news_pop_up_opened_with_the_page_hands_the_focus_to_the_summary(page):
    chen = Customer._get_collection().find_one({"name": "Chen Wei"}, {"_id": 1})["_id"]
    page.goto(f"/admin/ticket/new/?customer={chen}")
    expect(page.locator("#ticket-news-ok")).to_be_focused()
    page.keyboard.press("Enter")  # "Go on"
    expect(page.locator("#ticket-news")).to_be_hidden()
    assert focused(page) == "summary"
    assert_focus_visible(page)
