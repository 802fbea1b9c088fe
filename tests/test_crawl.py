"""Every page a signed-in admin or agent can reach answers without a server error.

The store is prepared exactly as `make run` does it (`flask setup`: the default
dictionary, the demo data loaded through the seed importer, the first admin), then a
crawler starts at /admin/ and follows every link under /admin breadth-first, so a
page that no other test happens to open cannot be broken unnoticed. All failures of
one crawl are collected and reported together, so one run shows every broken page.

The "markup" scenario replaces every dictionary string (labels, help texts, choices,
section titles, entity and Level words, text defaults) with text carrying HTML and
crawls again: no page may break, and no page may contain the markup unescaped.
"""

from __future__ import annotations

import json
import re
import traceback
import typing as t
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

import mongoengine
import pytest
from flask import Flask
from markupsafe import escape

from admin_app import create_app, records
from admin_app.dictionary.documents import (
    EntityDefinition,
    FieldDefinition,
    LayoutDefinition,
    RuleDefinition,
    bump_version,
)
from admin_app.models import SLA, Contact, Contract, Customer, Ticket, User
from admin_app.models.kept import now
from admin_app.records import trace
from admin_app.records.history import RecordChange
from admin_app.security.headers import EXPECTED_HEADERS, policy_text
from admin_app.tickets import log_ticket

from .conftest import app_config
from .helpers import ADMIN_EMAIL, ADMIN_PASSWORD, login, submit

AGENT_EMAIL = "agent@example.com"
# The keys-table rows a list count reads in the crawl's app (and the browser's server).
COUNT_WORK = 1
AGENT_PASSWORD = "agent-pass"
# A customer's portal login (Make WebGuest Login): nothing under /admin is for it.
WEBGUEST_EMAIL = "alice.carter@acme.example"
WEBGUEST_PASSWORD = "portal passphrase for the crawl"

# Text that only appears in a page when an error escaped into the HTML.
TRACEBACK_MARKERS = ("Traceback (most recent call last)", "werkzeug.exceptions",
                     "jinja2.exceptions")
# List pages are crawled at their first page only: these arguments just re-sort or page.
PAGING_ARGS = {"page", "sort", "desc", "page_size"}
# Screens only an admin may open; an agent must get 403 there (not a crash, not the page).
# (Import / Export is the agents' too: they load records.)
ADMIN_ONLY = ("/admin/dictionary/", "/admin/logins/", "/admin/audit/", "/admin/outbox/",
              "/admin/directory/",
              "/admin/directory_runs/", "/admin/api_tokens/")
# Reference targets a record form may search (admin_app.forms.lookups.LOOKUPS), per record view.
LOOKUP_TARGETS = ("org", "customer", "record", "contact", "contract", "sla")
RECORD_VIEWS = ("customer", "org", "contact")
# Views with a search box for a reference field: the record views, and Tickets (customer).
LOOKUP_VIEWS = (*RECORD_VIEWS, "ticket")

SCRIPT_PAYLOAD = "<script>alert(1)</script>"
IMG_PAYLOAD = "<img src=x onerror=alert(1)>"
PAYLOADS = (SCRIPT_PAYLOAD, IMG_PAYLOAD)
ESCAPED_IMG = str(escape(IMG_PAYLOAD))  # how the markup reads in a page that shows it as text


# -- the store, as `make run` prepares it ---------------------------------------------------

def set_up_like_make_run(tmp_path, store: str) -> Flask:
    """An app whose store was prepared by the real `flask setup` command (no pre-install).

    Same settings as tests.conftest.make_app, but the dictionary, the demo data (through
    the importer) and the first admin all come from `setup`, as with `make run`. A list
    count reads one keys-table row at most (LIST_COUNT_WORK), so that on the embedded
    store a searched list says "of many" and offers its Count them all button.
    """
    app = create_app(app_config(tmp_path, store, LIST_COUNT_WORK=COUNT_WORK))
    result = app.test_cli_runner().invoke(args=["setup"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert Customer.objects.count() > 0, "setup loaded no demo data:\n" + result.output
        agent = User(email=AGENT_EMAIL, role="agent")
        agent.set_password(AGENT_PASSWORD)
        agent.save()
        guest = User(email=WEBGUEST_EMAIL, role="webguest",
                     customer=Customer.objects.get(email=WEBGUEST_EMAIL))
        guest.set_password(WEBGUEST_PASSWORD)
        guest.save()
        add_outbox_message()
        add_directory_connector()
        add_api_tokens()
        add_saved_views()
    return app


def log_demo_tickets() -> None:
    """Tickets are not seed data: log a few as the form does (a customer with News, an
    Org), and store one closed, so the crawl opens ticket pages of every kind."""
    chen = Customer.objects.get(name="Chen Wei")
    acme = Customer.objects.get(name="Acme Manufacturing")
    log_ticket(chen, "Laptop will not start", description="Since this morning.")
    log_ticket(acme, "New starters need accounts")
    closed = log_ticket(Customer.objects.get(name="Alice Carter"), "Password reset")
    closed.status, closed.closed_at = "closed", now()  # stored closed: no closure notice
    closed.save()


def marked(text: str) -> str:
    """The original words followed by markup that would run if it reached the page raw."""
    return f'{text} ">{IMG_PAYLOAD}{SCRIPT_PAYLOAD}'


def mark_up_dictionary() -> None:
    """Put markup into every string of the dictionary, as a careless or hostile admin might.

    Written through the documents (the screens and `changes` would do the same to the
    stored strings), then the version is bumped so every process rebuilds its views.
    The `level` field's choices are changed too (the screens refuse that; the documents
    do not): the Level drop-down takes its options from the Levels, so pages survive.
    """
    for definition in FieldDefinition.objects:
        definition.label = marked(definition.label)
        definition.help_text = marked(definition.help_text or f"Help for {definition.name}")
        definition.choices = [marked(choice) for choice in definition.choices or ()]
        if definition.type in ("text", "longtext"):
            definition.default = marked(definition.default or f"Default {definition.name}")
        definition.save()
    for layout in LayoutDefinition.objects:
        for section in layout.sections:
            section.title = marked(section.title)
        layout.save()
    for entity in EntityDefinition.objects:
        entity.singular = marked(entity.singular)
        entity.plural = marked(entity.plural)
        for level in entity.levels:
            level.singular = marked(level.singular)
            level.plural = marked(level.plural)
        entity.save()
    for rule in RuleDefinition.objects:
        rule.name = marked(rule.name)
        rule.description = marked(rule.description or f"About {rule.name}")
        rule.save()
    bump_version()


# -- record history (issue 19): changes of a demo record, so its History and revert pages
#    are crawled ------------------------------------------------------------------------------

HISTORY_CUSTOMER = "Chen Wei"
CRAWL_REQUEST = "crawl-request"  # the request of a change, as an audit-log entry links it


def add_record_changes() -> None:
    """Two changes to a demo customer through the record write path: one of two fields
    (a value carrying markup, which the History tab must show as text), then one by an
    import job's batch, so the customer's History has a batch link and revert pages of
    both kinds (one field that can go back, a change set whose Location changed since)."""
    from admin_app.importer.jobs import SeedJob

    chen = Customer.objects.get(name=HISTORY_CUSTOMER)
    records.update("customer", chen.pk, {"department": "Support",
                                         "location": f"Leeds {SCRIPT_PAYLOAD}"},
                   trace.Trace(trace.COMMAND_LINE, trace.FORM, request=CRAWL_REQUEST))
    job = SeedJob(path="/crawl/none.json", filename="crawl.json", status="done",
                  options={"dry_run": False}).save()
    records.update("customer", chen.pk, {"location": "York"},
                   trace.Trace(trace.import_job(job.pk), trace.IMPORT).in_batch(job.pk))


def history_urls() -> list[str]:
    """The demo customer's History tab, filtered by field and way in, its import's changes,
    the changes of one request (an audit-log entry's link), and the confirmation of
    reverting a change set and one field of it."""
    from admin_app import dictionary

    chen = Customer.objects.get(name=HISTORY_CUSTOMER)
    both = RecordChange.objects.get(record=chen.pk, way="form", created=False)
    batch = RecordChange.objects.get(record=chen.pk, way="import", created=False).batch
    department = dictionary.latest().field("customer", "department").id
    return [f"/admin/history/customer/{chen.pk}/",
            f"/admin/history/customer/{chen.pk}/?field={department}&way=form",
            f"/admin/history/batch/{batch}/",
            f"/admin/history/request/{CRAWL_REQUEST}/",
            f"/admin/seed/job/{batch}/",
            f"/admin/history/revert/{both.pk}/",
            f"/admin/history/revert/{both.pk}/?field={department}"]


# -- the crawler ------------------------------------------------------------------------------

class _Links(HTMLParser):
    """Collects where a page leads: link targets, GET form actions, AJAX lookup URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.targets: list[str] = []
        self.archived_tab: str | None = None  # the list's Archived tab (a#show-archived)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "a" and values.get("href"):
            self.targets.append(values["href"])
            if values.get("id") == "show-archived":
                self.archived_tab = values["href"]
        elif tag == "form" and (values.get("method") or "get").lower() == "get" \
                and values.get("action"):
            self.targets.append(values["action"])
        if values.get("data-url") and "/ajax/lookup/" in values["data-url"]:
            # A searchable reference field: what its drop-down asks while the user types.
            self.targets.append(values["data-url"] + "&query=")


def page_key(url: str) -> str:
    """A URL without its fragment and its `url=` return address, for "visited once"."""
    parts = urlsplit(url)
    query = sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                   if k != "url")
    return parts.path + ("?" + urlencode(query) if query else "")


def followable(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme not in ("", "http") or parts.netloc not in ("", "localhost"):
        return False
    if not parts.path.startswith("/admin") or "/static/" in parts.path:
        return False
    if "logout" in parts.path:
        return False
    args = {k for k, _v in parse_qsl(parts.query, keep_blank_values=True)}
    return not args & PAGING_ARGS


def is_admin_only(url: str) -> bool:
    return urlsplit(url).path.startswith(ADMIN_ONLY)


@dataclass
class Crawl:
    role: str
    statuses: dict[str, int] = field(default_factory=dict)  # page_key -> status (0: raised)
    escaped_markup: set[str] = field(default_factory=set)  # pages showing the markup as text
    archived_tabs: dict[str, str] = field(default_factory=dict)  # list path -> its tab's key
    explained: dict[str, int] = field(default_factory=dict)  # view -> pages with a Rules panel
    failures: list[str] = field(default_factory=list)

    def visited(self, path: str) -> set[str]:
        """The keys of visited pages at `path` (any query)."""
        return {key for key in self.statuses if urlsplit(key).path == path}

    def visited_ids(self, path: str) -> set[str]:
        """The `id` of every page at `path` that answered 200 (edit pages)."""
        return {dict(parse_qsl(urlsplit(key).query)).get("id", "") for key in self.visited(path)
                if self.statuses[key] == 200}

    def report(self) -> str:
        return (f"{len(self.failures)} broken pages for the {self.role} "
                f"({len(self.statuses)} visited):\n  " + "\n  ".join(self.failures))


def crawl(client, role: str, extra: Iterable[str] = (), check_markup: bool = False) -> Crawl:
    """Breadth-first from /admin/ (plus `extra`), each page once; never POSTs."""
    result = Crawl(role)
    queue = deque([("/admin/", "start"), *((url, "requested") for url in extra)])
    seen = {page_key(url) for url, _ in queue}
    while queue:
        url, source = queue.popleft()
        key = page_key(url)
        try:
            response = client.get(url)
        except Exception as exc:  # TESTING propagates a view's exception instead of a 500
            result.statuses[key] = 0
            result.failures.append(f"500 {url}  (linked from {source}): raised "
                                   f"{_where(exc)}")
            continue
        # A spreadsheet download (a list's Export XLSX) is bytes, not text.
        body = response.get_data().decode("utf-8", "replace")
        response.close()  # a file download holds its file open until closed
        result.statuses[key] = response.status_code
        if ESCAPED_IMG in body:
            result.escaped_markup.add(key)
        if 'id="rules-explained"' in body:
            view = urlsplit(url).path.split("/")[2]
            result.explained[view] = result.explained.get(view, 0) + 1
        problem = judge(role, url, response.status_code, response.headers, body, check_markup)
        if problem:
            result.failures.append(f"{response.status_code} {url}  (linked from {source}): "
                                   f"{problem}")
        targets: list[str] = []
        if response.status_code in (301, 302, 303, 307, 308):
            targets = [response.headers["Location"]]
        elif response.mimetype == "text/html":
            parser = _Links()
            parser.feed(body)
            targets = parser.targets
            if parser.archived_tab:
                tab = urljoin("http://localhost" + url, parser.archived_tab)
                result.archived_tabs[urlsplit(url).path] = page_key(tab)
        for target in targets:
            absolute = urljoin("http://localhost" + url, target)
            if not followable(absolute):
                continue
            parts = urlsplit(absolute)
            local = parts.path + ("?" + parts.query if parts.query else "")
            if page_key(local) not in seen:
                seen.add(page_key(local))
                queue.append((local, url))
    return result


def _where(exc: BaseException) -> str:
    """The exception, the app's innermost frame it came through and the frame that raised."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "admin_app" in Path(f.filename).parts]
    shown = ([ours[-1]] if ours and ours[-1] is not frames[-1] else []) + frames[-1:]
    where = " ... ".join(f"{Path(f.filename).name}:{f.lineno} in {f.name}" for f in shown)
    return f"{type(exc).__name__}: {str(exc)[:300]}  [{where}]"


class _Inline(HTMLParser):
    """Script or style written into the page itself, which the Content-Security-Policy
    blocks (so the page would not work): <script> without src, on…= handlers, style=."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for name, _value in attrs}
        # A data block (`type="application/json"`) is not run, so the policy lets it be.
        if tag == "script" and "src" not in names \
                and dict(attrs).get("type") != "application/json":
            self.found.append("<script> without src")
        self.found += [f"<{tag} {name}=…>" for name in sorted(names)
                       if name.startswith("on") or name == "style"]


def unsecured(headers, body: str) -> str:
    """Why a response lacks the security headers or carries inline script, or ""."""
    if headers.get("Content-Security-Policy") != policy_text():
        return f"Content-Security-Policy is {headers.get('Content-Security-Policy')!r}"
    for name, value in EXPECTED_HEADERS.items():
        if headers.get(name) != value:
            return f"{name} is {headers.get(name)!r}, not {value!r}"
    if headers.get("Content-Type", "").startswith("text/html"):
        inline = _Inline()
        inline.feed(body)
        if inline.found:
            return f"inline script or style, which the policy blocks: {inline.found[:3]}"
    return ""


def judge(role: str, url: str, status: int, headers, body: str, check_markup: bool) -> str:
    """Why this response is a broken page, or "" when it is fine."""
    if status >= 500:
        return "server error" + _last_line(body)
    problem = unsecured(headers, body)
    if problem:
        return problem
    for marker in TRACEBACK_MARKERS:
        if marker in body:
            return f"the page shows {marker!r}" + _last_line(body)
    if check_markup and headers.get("Content-Type", "").startswith("text/html"):
        raw = [p for p in PAYLOADS if p in body]
        if raw:
            where = body.index(raw[0])
            return (f"dictionary markup reaches the page unescaped: {', '.join(raw)} in "
                    f"...{body[max(0, where - 100):where + 40]!r}")
    if role == "webguest":  # (308: /admin to /admin/, which is crawled too)
        return "" if status in (403, 308) else \
            f"a WebGuest must get 403 under /admin, not {status}"
    if role == "agent" and is_admin_only(url):
        return "" if status == 403 else f"an agent must get 403 on admin-only screens, not {status}"
    if status in (301, 302, 303, 307, 308) \
            and urlsplit(headers.get("Location", "")).path == "/login":
        return "signed out: redirected to the sign-in page"
    if status >= 400:
        return f"answered {status} to a URL the app links to or its forms request"
    if "/ajax/lookup/" in url:
        try:
            json.loads(body)
        except ValueError:
            return "the lookup did not answer JSON"
    if status == 200 and headers.get("Content-Type", "").startswith("text/html"):
        headings = len(re.findall(r"<h1[\s>]", body))
        if headings != 1:  # a screen reader's "go to the main heading" finds one
            return f"the page has {headings} main headings (h1), not one"
    return ""


def _last_line(body: str) -> str:
    lines = [line.strip() for line in body.splitlines() if line.strip()]
    return f": {lines[-1][:300]}" if lines else ""


# -- what the crawl must have covered -----------------------------------------------------

def lookup_urls() -> list[str]:
    """Every reference search a record form can make: the opened drop-down (no text yet)
    and a typed letter (the text search)."""
    return [f"/admin/{view}/ajax/lookup/?name={target}&query={text}"
            for view in LOOKUP_VIEWS for target in LOOKUP_TARGETS for text in ("", "a")]


def customer_facts_urls() -> list[str]:
    """What the ticket form asks when a customer or Org is chosen in its search box."""
    return [f"/admin/ticket/customer-facts/?id={doc['_id']}"
            for doc in Customer._get_collection().find({}, {"_id": 1})]


def admin_only_urls() -> list[str]:
    """The dictionary and import/export screens, from what the dictionary holds."""
    urls = ["/admin/dictionary/", "/admin/dictionary/history/", "/admin/seed/",
            "/admin/seed/export/"]
    for entity in EntityDefinition.objects:
        urls.append(f"/admin/dictionary/entity/{entity.name}/")
        urls.append(f"/admin/dictionary/{entity.name}/new/")
    for definition in FieldDefinition.objects:
        urls.append(f"/admin/dictionary/{definition.entity}/{definition.name}/")
        if not definition.system:
            urls.append(f"/admin/dictionary/{definition.entity}/{definition.name}/type/")
    for layout in LayoutDefinition.objects:
        urls.append(f"/admin/dictionary/layout/{layout.entity}/{layout.level}/")
    return urls + outbox_urls() + directory_urls() + logins_urls() + search_key_job_urls() \
        + api_token_urls() + rules_urls()


def record_ids() -> dict[str, set[str]]:
    """The edit pages every record of the demo has, keyed by the view that lists it.

    Read raw from the collections: the test must count the records even when the
    model cannot load them (that is for the crawl to report).
    """
    def ids(model, **query) -> set[str]:
        return {str(doc["_id"]) for doc in model._get_collection().find(query, {"_id": 1})}

    return {
        "customer": ids(Customer, level="Customer"),
        "org": ids(Customer, level="Org"),
        "contact": ids(Contact),
        "contract": ids(Contract),
        "sla": ids(SLA),
        "ticket": ids(Ticket),
    }


def assert_covered(result: Crawl, ids: dict[str, set[str]], admin_only: list[str],
                   history: list[str]) -> None:
    """The crawl reached every list, every record's edit page and its History tab, the
    history and revert pages of a changed record and, for the admin, every dictionary
    and import/export screen; so it cannot pass by visiting nothing."""
    missing = [f"/admin/{view}/" for view in ids if f"/admin/{view}/" not in result.statuses]
    for view in RECORD_VIEWS:
        entity = "contact" if view == "contact" else "customer"
        missing += [f"the History tab /admin/history/{entity}/{pk}/" for pk in sorted(ids[view])
                    if result.statuses.get(f"/admin/history/{entity}/{pk}/") != 200]
    missing += [url for url in history if result.statuses.get(page_key(url)) != 200]
    for view, expected in ids.items():
        assert expected, f"the demo has no {view} records"
        missing += [f"/admin/{view}/edit/?id={pk}" for pk in
                    sorted(expected - result.visited_ids(f"/admin/{view}/edit/"))]
    for view in RECORD_VIEWS:
        tab = result.archived_tabs.get(f"/admin/{view}/")
        if tab is None or tab not in result.statuses:
            missing.append(f"the Archived tab (a#show-archived) of /admin/{view}/")
    if result.statuses.get("/admin/api/") != 200:  # the API page, from the Data menu
        missing.append("the API page (/admin/api/)")
    if not result.visited("/admin/contact/new/"):
        missing.append("Add contact (/admin/contact/new/?customer=...)")
    if not any("customer=" in key for key in result.visited("/admin/ticket/new/")):
        missing.append("Log a ticket (/admin/ticket/new/?customer=...)")
    if not any("customer=" in key for key in result.visited("/admin/ticket/")):
        missing.append("a customer's tickets (/admin/ticket/?customer=...)")
    if result.role == "admin":
        missing += [url for url in admin_only if page_key(url) not in result.statuses]
    assert not missing, "the crawl never reached:\n  " + "\n  ".join(missing)


# -- logins (issue 13): every login's page and the pages that confirm a change -------------

def logins_urls() -> list[str]:
    urls = ["/admin/logins/", "/admin/logins/new/", "/admin/audit/"]
    for user in User.objects:
        urls += [f"/admin/logins/login/{user.pk}/", f"/admin/logins/login/{user.pk}/disable/",
                 f"/admin/logins/login/{user.pk}/reset/"]
    return urls


# -- API tokens (issue 22): an active and a revoked token, so the list, the form and a
#    revoke confirmation are crawled ----------------------------------------------------------

def add_api_tokens() -> None:
    """Two tokens of the agent's, one named with markup (shown as text), one revoked."""
    from admin_app.security import api_tokens

    agent = User.objects.get(email=AGENT_EMAIL)
    api_tokens.create(agent, "read", name=f"Reports {SCRIPT_PAYLOAD}", actor="crawl")
    api_tokens.revoke(api_tokens.create(agent, "read-write", actor="crawl").token,
                      actor="crawl")


def add_saved_views() -> None:
    """A view the admin shares (named with markup, shown as text) and one of the agent's,
    so the lists' Views and the delete pages are crawled as both."""
    from admin_app.models.saved_views import SavedView

    admin, agent = User.objects.get(email=ADMIN_EMAIL), User.objects.get(email=AGENT_EMAIL)
    SavedView(owner=admin, owner_email=admin.email, list="customer", shared=True,
              name=f"Finance {SCRIPT_PAYLOAD}", args=[["search", "finance"]]).save()
    SavedView(owner=agent, owner_email=agent.email, list="contact", name="My contacts",
              args=[["search", "a"]]).save()


# -- bulk changes (issue 24): one waiting for its confirmation, one done with a record it
#    refused, one a full disk stopped, so the confirmation and result pages are crawled ----

def add_bulk_changes() -> None:
    """Through `records.bulk`, as the lists' Change in bulk pages make them, on two
    customers of their own (the demo's records stay as other tests expect them)."""
    from admin_app.records import bulk
    from admin_app.records.trace import login as by_login

    admin = by_login(User.objects.get(email=ADMIN_EMAIL))
    made = trace.Trace(trace.COMMAND_LINE, trace.FORM)
    names = ["Bulk Ann", "Bulk Bob"]
    for name in names:
        records.create("customer", {"name": name, "level": "Customer"}, made)
    theirs = {"level": "Customer", "archived": False, "name": {"$in": names}}

    def prepare(action: str, name: str | None = None, value: object = None) -> t.Any:
        return bulk.prepare("customer", "Customer", "customer", theirs, action, name, value,
                            lambda n: f"{action} {n} Customers {SCRIPT_PAYLOAD}?",
                            [("search", "bulk")], admin)

    prepare(bulk.ARCHIVE)  # waits for its confirmation
    done = prepare(bulk.SET, "department", "Support")
    records.update("customer", Customer.objects.get(name="Bulk Ann").pk,  # after the review
                   {"department": "Sales"}, made)
    assert bulk.confirm(done)
    bulk.run(str(done.pk))
    failed = prepare(bulk.RESTORE)
    failed.update(set__status="failed", set__confirmed=True,
                  set__error=f"the disk is full {SCRIPT_PAYLOAD}")


def counting_urls() -> list[str]:
    """Each record list searched so that, on the embedded store, its count passes the
    crawl's count work: "of many" and the Count them all button, which the crawl follows."""
    return ["/admin/customer/?search=a+e", "/admin/org/?search=a+e", "/admin/contact/?search=a"]


def bulk_urls() -> list[str]:
    """Each list's Change in bulk page for every action and settable field, the value
    boxes' lookups, and every change's confirmation or result page and its progress."""
    from admin_app import dictionary
    from admin_app.records import bulk
    from admin_app.views.bulk_changes import LISTS

    snapshot = dictionary.current()
    urls = [f"/admin/bulk/ajax/lookup/?name={target}&query=a" for target in LOOKUP_TARGETS]
    for list_name, (entity, level) in LISTS.items():
        base = f"/admin/bulk/{list_name}/?scope=all&action="
        urls += [base + bulk.ARCHIVE, base + bulk.RESTORE]
        urls += [f"{base}{bulk.SET}&field={f.name}"
                 for f in bulk.settable(snapshot, entity, level)]
    for change in bulk.BulkChange.objects:
        urls += [f"/admin/bulk/change/{change.pk}/", f"/admin/bulk/change/{change.pk}/progress"]
    return urls


def api_token_urls() -> list[str]:
    from admin_app.models.api_tokens import ApiToken

    return ["/admin/api_tokens/", "/admin/api_tokens/new/",
            *(f"/admin/api_tokens/token/{token.pk}/revoke/"
              for token in ApiToken.objects(revoked=None))]


# -- the mail outbox (issue 12): one waiting message, so its page is crawled too ---------------

def add_outbox_message() -> None:
    """A closure notice waiting with an error, its body carrying markup (shown as text)."""
    from admin_app.mail import OutboxMessage

    OutboxMessage(key="closure:crawl", kind="closure", to="alice.carter@acme.example",
                  subject="Ticket closed: crawl", body=f"News on Closure:\n{SCRIPT_PAYLOAD}\n",
                  attempts=1, last_error="Nothing answers at 127.0.0.1:1: the mail server "
                  "refused the connection.").save()


def outbox_urls() -> list[str]:
    """The Outbox list and every message's page (admins only)."""
    from admin_app.mail import OutboxMessage

    return ["/admin/outbox/"] + [f"/admin/outbox/message/{message.pk}/"
                                 for message in OutboxMessage.objects]


# -- directory sync (issue 11): one connector and one preview, so their pages are crawled ------

def add_directory_connector() -> None:
    """A connector and a preview of it (from a stand-in read: no directory server), one
    entry's name carrying markup that the run page must show as text."""
    from admin_app.directory.connectors import Connector
    from admin_app.directory.reader import Entry, Extract
    from admin_app.directory.sync import run

    connector = Connector(name="crawl", servers=["ldap://127.0.0.1:1"], bind_user="cn=sync",
                          password="crawl-secret", base_dns=["dc=example,dc=com"]).save()
    entry = Entry("crawl-guid", "cn=crawl,dc=example,dc=com",
                  {"displayName": [f"Crawl {SCRIPT_PAYLOAD}"], "mail": ["crawl@example.com"],
                   "company": ["Acme Manufacturing Ltd"]}, False)
    run(connector, dry_run=True, read=lambda _c: Extract([entry], True, None, 1))


def directory_urls() -> list[str]:
    """The connector screens and every run's page (admins only)."""
    from admin_app.directory.connectors import Connector
    from admin_app.directory.runs import SyncRun

    return ["/admin/directory/", "/admin/directory/new/", "/admin/directory_runs/",
            *(f"/admin/directory/edit/?name={c.name}" for c in Connector.objects),
            *(f"/admin/directory_runs/run/{r.pk}/" for r in SyncRun.objects)]


# -- search-key jobs (issue 20): the dictionary screen links each job's page -----------------

def add_search_key_jobs() -> None:
    """One job that rewrote the keys (a field made searchable, as a command does it) and
    one a full disk stopped, whose page offers to run it again."""
    from admin_app.customising.fields import update_field
    from admin_app.customising.search_key_jobs import SearchKeyJob

    update_field("customer", "location", searchable=True)
    SearchKeyJob(entity="contact", field="job_title", label="Job title", status="failed",
                 done=0, total=12, error="the disk is full (0 of 12 records done)").save()


def search_key_job_urls() -> list[str]:
    from admin_app.customising.search_key_jobs import SearchKeyJob

    return [f"/admin/dictionary/search-keys/{job.pk}/" for job in SearchKeyJob.objects]


# -- conditional rules (issue 23): rules in force on the demo data, and a retired one, so the
#    rules screens and record forms with rules in force are crawled ---------------------------

def add_conditional_rules() -> None:
    """Through the checked operations, as the rules screen saves them: a field for a rule
    to show (on the Customer form), rules that hold for some demo records and not for
    others, on customers and on contacts, and a retired rule."""
    from admin_app.customising.conditional_rules import add_rule, retire_rule
    from admin_app.customising.fields import add_field

    first = LayoutDefinition.objects.get(entity="customer", level="Customer").sections[0]
    add_field("customer", "cost_centre", "Cost Centre", "text",
              sections={"Customer": first.title})
    add_rule({"name": "finance-needs-cost-centre", "entity": "customer",
              "description": "Finance books every customer to a cost centre.",
              "when": {"all": [{"field": "department", "equals": "Finance"},
                               {"not": {"field": "level", "equals": "Org"}}]},
              "then": {"show": ["cost_centre"], "mandatory": ["cost_centre"]}})
    add_rule({"name": "remote-email-from-the-directory", "entity": "customer",
              "when": {"field": "location", "one_of": ["Remote"]},
              "then": {"read_only": ["email"]}, "except_directory_sync": True})
    add_rule({"name": "managers-need-an-email", "entity": "contact",
              "when": {"field": "job_title", "equals": "IT Manager"},
              "then": {"mandatory": ["email"]}})
    add_rule({"name": "assistants-need-a-phone", "entity": "contact",
              "when": {"field": "job_title", "equals": "Assistant"},
              "then": {"mandatory": ["phone"]}})
    retire_rule("contact", "assistants-need-a-phone")


def rules_urls() -> list[str]:
    """Each entity's rules list (and its tabs), the builder, and every rule's page and its
    confirmation (retire, or put back in force); admins only."""
    urls = ["/admin/dictionary/rules/"]
    for entity in EntityDefinition.objects:
        base = f"/admin/dictionary/rules/{entity.name}/"
        urls += [base, f"{base}?show=retired", f"{base}new/"]
    for rule in RuleDefinition.objects:
        name = urlencode({"name": rule.name})
        action = "reinstate" if rule.retired else "retire"
        urls += [f"/admin/dictionary/rules/{rule.entity}/edit/?{name}",
                 f"/admin/dictionary/rules/{rule.entity}/{action}/?{name}"]
    return urls


def assert_rules_explained(result: Crawl) -> None:
    """Record pages of both entities showed the Rules panel (rules are in force)."""
    for view in RECORD_VIEWS:
        if not result.explained.get(view):
            pytest.fail(f"no {view} page showed the Rules panel", pytrace=False)


# -- the tests ------------------------------------------------------------------------------

@pytest.fixture(params=["mongomock", "embedded"])
def demo_app(request, tmp_path):
    app = set_up_like_make_run(tmp_path, request.param)
    with app.app_context():
        log_demo_tickets()
        add_record_changes()
        add_search_key_jobs()
        add_conditional_rules()
        add_bulk_changes()
    yield app
    mongoengine.disconnect()


def crawl_as(app: Flask, role: str, check_markup: bool = False) -> Crawl:
    """Sign in as `role` and crawl; the AJAX lookups, the ticket form's customer facts
    and, for an agent, the admin-only screens (which its menu does not link) are
    requested explicitly."""
    email, password = (ADMIN_EMAIL, ADMIN_PASSWORD) if role == "admin" \
        else (AGENT_EMAIL, AGENT_PASSWORD)
    with app.app_context():
        extra = lookup_urls() + customer_facts_urls() + history_urls() + bulk_urls() + \
            counting_urls() + (admin_only_urls() if role == "agent" else [])
    with app.test_client() as client:
        assert login(client, email, password).status_code == 302
        return crawl(client, role, extra, check_markup)


def crawl_as_webguest(app: Flask) -> Crawl:
    """Signed in on the portal, ask for every admin page the admin's crawl reaches: every
    list, record, form, lookup and admin-only screen. Each must answer 403."""
    admin = crawl_as(app, "admin")
    with app.test_client() as client:
        response = submit(client, "/portal/", {"email": WEBGUEST_EMAIL,
                                               "password": WEBGUEST_PASSWORD})
        assert response.status_code == 302, response.status_code
        assert client.get("/portal/details/").status_code == 200
        return crawl(client, "webguest", [key for key in admin.statuses if key != "/admin/"])


@pytest.mark.parametrize("role", ["admin", "agent"])
def test_every_page_reachable_after_make_run_setup_answers(demo_app, role):
    result = crawl_as(demo_app, role)
    with demo_app.app_context():
        ids, admin_only, history = record_ids(), admin_only_urls(), history_urls()
        bulk = bulk_urls()
    if result.failures:
        pytest.fail(result.report(), pytrace=False)
    assert_covered(result, ids, admin_only, history)
    assert {url: result.statuses.get(page_key(url)) for url in bulk} == \
        {url: 200 for url in bulk}  # agents change in bulk what their forms change
    counted_all = {key: status for key, status in result.statuses.items()
                   if ("count", "all") in parse_qsl(urlsplit(key).query)}
    if demo_app.config["MONGODB_URI"]:  # mongomock counts along its index: no button
        assert counted_all == {}
    else:  # each searched list's button followed (and the tabs and links from there)
        assert {page_key(f"{url}&count=all") for url in counting_urls()} <= set(counted_all), \
            sorted(counted_all)
        assert set(counted_all.values()) == {200}, counted_all
    assert_rules_explained(result)


def test_a_webguest_reaches_nothing_under_admin(demo_app):
    result = crawl_as_webguest(demo_app)
    if result.failures:
        pytest.fail(result.report(), pytrace=False)
    with demo_app.app_context():
        ids = record_ids()
        history = history_urls()
    assert len(result.statuses) > sum(len(each) for each in ids.values())
    assert set(result.statuses.values()) <= {403, 308}
    assert all(result.statuses.get(page_key(url)) == 403 for url in history)


@pytest.mark.parametrize("role", ["admin", "agent"])
def test_dictionary_markup_is_escaped_on_every_page(demo_app, role):
    with demo_app.app_context():
        mark_up_dictionary()
        ids, admin_only, history = record_ids(), admin_only_urls(), history_urls()
    result = crawl_as(demo_app, role, check_markup=True)
    if result.failures:
        pytest.fail(result.report(), pytrace=False)
    assert_covered(result, ids, admin_only, history)
    assert_rules_explained(result)
    # The markup really reached the screens, shown as text: every record form and list
    # (not the lookups' JSON, nor the lists' CSV / XLSX downloads, which are no HTML).
    dictionary_pages = {key for key in result.statuses if result.statuses[key] == 200
                        and urlsplit(key).path.split("/")[2] in RECORD_VIEWS
                        and "/ajax/" not in key and "/download/" not in key}
    plain = sorted(dictionary_pages - result.escaped_markup)
    assert dictionary_pages and not plain, f"pages not showing the dictionary's words: {plain}"
    if role == "admin":  # rule names and descriptions, shown as text
        rules_pages = {key for key in result.statuses if key.startswith("/admin/dictionary/rules/")
                       and result.statuses[key] == 200}
        assert rules_pages and not rules_pages - result.escaped_markup, \
            sorted(rules_pages - result.escaped_markup)
