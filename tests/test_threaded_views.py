"""Threaded workers: a page is drawn from one dictionary version, never half of two.

A real server with one thread per request (as gunicorn's gthread workers on MongoDB)
serves the customer list and form to many threads at once while the dictionary is
changed between their requests. Every change step marks the words it sets with its
number (Clients3, Name3, Email3, a new list column Extra3), so each page can be read
for the versions it shows: menu, title, heading, column headers, search box and form
labels must all name the same step.
"""

from __future__ import annotations

import re
import threading
import time

import pytest

from admin_app.customising.entities import relabel_entity
from admin_app.customising.fields import add_field, update_field
from admin_app.dictionary import snapshot as snapshot_module
from admin_app.views import records, references

from .servers import Browser, threaded_server

STEPS = 30
READERS = 8
PAGES = ("/admin/customer/", "/admin/customer/new/")
MARK = re.compile(r"\b(Clients?|Name|Email|Extra)(\d+)\b")


def change_step(number: int) -> None:
    """One dictionary change, in several operations: rename the Customer Level, relabel
    two list columns and add a list column shown on the Customer form."""
    relabel_entity("customer", {"Customer": (f"Client{number}", f"Clients{number}")})
    update_field("customer", "name", label=f"Name{number}")
    update_field("customer", "email", label=f"Email{number}")
    add_field("customer", f"extra{number}", f"Extra{number}", "text",
              list_column=20 + number, sections={"Customer": "Customer"})


def steps_shown(html: str) -> set[int]:
    """The change steps a page's words come from. Every step's column stays, so the
    newest Extra column tells which step's column list the page has."""
    marks = MARK.findall(html)
    steps = {int(n) for word, n in marks if word != "Extra"}
    extras = [int(n) for word, n in marks if word == "Extra"]
    return steps | ({max(extras)} if extras else set())


@pytest.fixture
def whole_steps(monkeypatch: pytest.MonkeyPatch) -> threading.RLock:
    """A lock that holds off snapshot reads while a step's operations are applied.

    Each operation moves the version, so a load between two of them would read half a
    step: a snapshot the test could not tell from a mixed page. The views are what is
    under test, so every snapshot here is one whole step.

    The lock is taken around the cache's whole read, outside the cache's own lock, as
    the step takes it: a step's operations read the snapshot they just wrote (search
    keys follow a field change), and a lock taken inside the cache's would be taken in
    the other order by the pages, and the two would wait for each other for ever.
    """
    lock = threading.RLock()  # re-entrant: a step's own operations read the snapshot
    fresh = snapshot_module.SnapshotCache.fresh

    def fresh_whole_step(cache: snapshot_module.SnapshotCache) -> snapshot_module.Snapshot:
        with lock:
            return fresh(cache)

    monkeypatch.setattr(snapshot_module.SnapshotCache, "fresh", fresh_whole_step)
    return lock


def test_concurrent_pages_each_show_one_dictionary_version(app, whole_steps):
    with app.app_context():
        change_step(0)
    pages: list[tuple[str, str]] = []
    failures: list[BaseException] = []
    changing = threading.Event()
    changing.set()

    with threaded_server(app) as base:
        browser = Browser(base)
        browser.login()

        def read_pages(offset: int) -> None:
            try:
                turn = offset
                while changing.is_set():
                    path = PAGES[turn % len(PAGES)]
                    pages.append((path, browser.get(path)))
                    turn += 1
            except BaseException as error:  # reported by the main thread
                failures.append(error)

        def change_dictionary() -> None:
            try:
                with app.app_context():
                    for number in range(1, STEPS + 1):
                        time.sleep(0.05)
                        with whole_steps:
                            change_step(number)
                time.sleep(0.3)
            except BaseException as error:  # reported by the main thread
                failures.append(error)
            finally:
                changing.clear()

        # Daemons: a thread stuck by a fault under test fails this test, not the exit of
        # the whole run (which would wait for it).
        threads = [threading.Thread(target=read_pages, args=(i,), daemon=True)
                   for i in range(READERS)]
        threads.append(threading.Thread(target=change_dictionary, daemon=True))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert not any(thread.is_alive() for thread in threads)

    assert not failures, failures
    mixed = [(path, sorted(steps_shown(html))) for path, html in pages
             if len(steps_shown(html)) != 1]
    assert not mixed, f"{len(mixed)} of {len(pages)} pages mix versions, e.g. {mixed[:5]}"
    seen = {path: {min(steps_shown(html)) for p, html in pages if p == path} for path in PAGES}
    # The pages were read across the changes, not all before or after them.
    assert all(len(steps) >= 5 for steps in seen.values()), seen


@pytest.mark.parametrize(("path", "module", "step"), [
    ("/admin/customer/", references, "prime"),  # the list, between its query and its rows
    ("/admin/customer/new/", records, "form_class"),  # the form, once its class is built
])
def test_a_page_begun_before_a_change_is_finished_in_its_own_version(app, monkeypatch, path,
                                                                     module, step):
    """The same race, made to happen: one request is held half-way through its page while
    the dictionary changes and another request draws the new version."""
    with app.app_context():
        change_step(0)
    held, release = threading.Event(), threading.Event()
    unheld = getattr(module, step)

    def held_once(*args: object) -> object:
        result = unheld(*args)
        if not held.is_set():
            held.set()
            release.wait(10)
        return result

    monkeypatch.setattr(module, step, held_once)
    with threaded_server(app) as base:
        browser = Browser(base)
        browser.login()
        first: dict[str, str] = {}
        begun = threading.Thread(target=lambda: first.update(page=browser.get(path)),
                                 daemon=True)
        begun.start()
        assert held.wait(10)
        with app.app_context():
            change_step(1)
        later = {other: browser.get(other) for other in PAGES}
        release.set()
        begun.join(10)
    assert {other: steps_shown(page) for other, page in later.items()} \
        == {other: {1} for other in PAGES}
    assert steps_shown(first["page"]) == {0}


def test_every_marked_word_shows_on_both_pages(app):
    """The marks the concurrent test reads are on the pages it reads (else a page showing
    no marks at all would pass it)."""
    with app.app_context():
        change_step(4)
    with threaded_server(app) as base:
        browser = Browser(base)
        browser.login()
        listing, form = (browser.get(path) for path in PAGES)
        home = browser.get("/admin/")
    words = {"Clients4", "Name4", "Email4", "Extra4"}
    assert words <= {"".join(mark) for mark in MARK.findall(listing)}
    assert words | {"Client4"} <= {"".join(mark) for mark in MARK.findall(form)}
    assert re.search(r"<title>[^<]*Clients4", listing)
    for page in (listing, form):  # the menu entry, named and marked as the page's own
        assert re.search(r'class="dropdown-item active\s*" href="/admin/customer/">\s*Clients4<',
                         page)
    assert 'id="record-heading">New Client4</h1>' in form
    assert steps_shown(listing) == steps_shown(form) == {4}
    assert 'card-title"><a href="/admin/customer/">Clients4</a>' in home

