"""API tokens: the admin's screen, `flask token create`, what a token may do, what gets one
401, the rate limit, on both stores.

The screen is used as an admin uses it in a browser (pages, forms with their CSRF token);
the API as a script uses it (a bearer token, JSON); what is checked is what each sees
(status, headers, the page, the problem document) and what is stored (the digest, the
audit log, last use).
"""

from __future__ import annotations

import hashlib
import json
import re
import typing as t
from datetime import datetime, timedelta
from html import unescape

import mongoengine
import pytest
from bson import ObjectId

from admin_app.models import Customer, User
from admin_app.models.api_tokens import ApiToken
from admin_app.models.kept import now
from admin_app.security import accounts, api_rate, api_tokens, sessions
from admin_app.security.audit import AuditEvent

from . import processes
from .conftest import make_app
from .helpers import ADMIN_EMAIL, ADMIN_PASSWORD, AGENT_PASSWORD, csrf_token, login

API = "/api/v1"
SCREEN = "/admin/api_tokens/"
AGENT_EMAIL = "agent@example.com"
_SECRET = re.compile(r'id="api-token-secret" type="text" readonly value="([^"]*)"')
_ONCE = re.compile(r'name="once" type="hidden" value="([^"]*)"')
_ROW = re.compile(r'<tr class="api-token token-(\w+)" id="token-(\w+)">(.*?)</tr>', re.S)


# -- helpers ------------------------------------------------------------------------------

def signed_in(app: t.Any, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD) -> t.Any:
    """A browser signed in as `email` (not in a `with` block: its request context would
    lend its CSRF token to the other clients of a test)."""
    client = app.test_client()
    assert login(client, email, password).status_code == 302
    return client


def add_agent(app: t.Any, email: str = AGENT_EMAIL) -> User:
    with app.app_context():
        agent = User(email=email, role="agent")
        agent.set_password(AGENT_PASSWORD)
        return agent.save()


def new_token_form(client: t.Any, **values: str) -> tuple[dict[str, str], str]:
    """The New token form as the page gives it (CSRF token, one-time mark) with `values`
    filled in, and the page."""
    page = client.get(f"{SCREEN}new/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    once = _ONCE.search(html)
    assert once, "the form has no one-time mark"
    return {"csrf_token": csrf_token(html), "once": once.group(1), "login": ADMIN_EMAIL,
            "name": "HR sync", "scope": "read-write", "days": "30", **values}, html


def shown_secret(html: str) -> str | None:
    found = _SECRET.search(html)
    return unescape(found.group(1)) if found else None


def rows(client: t.Any, query: str = "") -> dict[str, tuple[str, str]]:
    """The list's rows: token id → (state, the row's text)."""
    page = client.get(SCREEN + query)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    return {pk: (state, unescape(re.sub(r"<[^>]+>", " ", body)))
            for state, pk, body in _ROW.findall(html)}


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def make(app: t.Any, email: str = ADMIN_EMAIL, scope: str = "read-write", **more: t.Any
         ) -> api_tokens.Issued:
    with app.app_context():
        return api_tokens.create(User.objects.get(email=email), scope, actor="test", **more)


def problem(answer: t.Any, status: int) -> dict[str, t.Any]:
    assert answer.status_code == status, answer.get_data(as_text=True)
    assert answer.mimetype == "application/problem+json"
    body = answer.get_json()
    assert body["status"] == status and body["detail"].endswith(".")
    return body


def everything_stored(app: t.Any) -> str:
    """Every document of every collection of the app's database, as text."""
    with app.app_context():
        database = mongoengine.get_db()
        return "\n".join(repr(document) for name in database.list_collection_names()
                         for document in database[name].find({}))


# -- the screen, as an admin ----------------------------------------------------------------

def test_an_admin_makes_a_token_whose_secret_is_shown_once_and_stored_only_as_a_digest(
        store_app):
    admin = signed_in(store_app)
    form, html = new_token_form(admin, name='HR <script>alert(1)</script> "sync"')
    assert ADMIN_EMAIL in html and shown_secret(html) is None
    made = admin.post(f"{SCREEN}new/", data=form)
    assert made.status_code == 200 and made.headers["Cache-Control"] == "no-store"
    page = made.get_data(as_text=True)
    secret = shown_secret(page)
    assert secret and secret.startswith("dat_") and len(secret) > 40
    assert "shown only now" in page
    # The name is the admin's text, shown as text.
    assert "<script>alert(1)</script>" not in page
    assert "HR &lt;script&gt;alert(1)&lt;/script&gt; &#34;sync&#34;" in page

    # Reloading the page sends the form again: no second token, no secret.
    again = admin.post(f"{SCREEN}new/", data=form)
    assert again.status_code == 303 and again.headers["Location"].endswith(SCREEN)
    listed = admin.get(SCREEN).get_data(as_text=True)
    assert "That form was sent already and its token is made" in listed
    assert secret not in listed and shown_secret(listed) is None
    assert secret not in admin.get(f"{SCREEN}new/").get_data(as_text=True)

    shown = rows(admin)
    assert len(shown) == 1
    [(pk, (state, text))] = shown.items()
    assert state == "active" and f"…{secret[-4:]}" in text and "read-write" in text
    assert "never" in text and ADMIN_EMAIL in text
    with store_app.app_context():
        token = ApiToken.objects.get(pk=ObjectId(pk))
        assert token.digest == hashlib.sha256(secret.encode()).hexdigest()
        assert token.created_by == ADMIN_EMAIL
        assert timedelta(days=29, hours=23) < token.expires - token.created <= timedelta(days=30)
        [entry] = AuditEvent.objects(event="api_token_created")
        assert (entry.subject, entry.actor, entry.area) == (ADMIN_EMAIL, ADMIN_EMAIL, "admin")
        assert entry.detail.startswith(f"read-write token …{secret[-4:]} (HR <script>")
    # The secret is nowhere in the database; its digest is.
    assert secret not in everything_stored(store_app)
    # The screen shows the audit entry, as text.
    assert "API token made" in listed and "(HR &lt;script&gt;" in listed

    # The secret works, and the list then shows when and from where it was last used.
    answer = store_app.test_client().get(f"{API}/customers", headers=bearer(secret),
                                         environ_base={"REMOTE_ADDR": "198.51.100.23"})
    assert answer.status_code == 200
    state, text = rows(admin)[pk]
    assert "never" not in text and "from 198.51.100.23" in text
    with store_app.app_context():
        used = ApiToken.objects.get(pk=ObjectId(pk)).last_used
    assert used is not None and now() - used < timedelta(minutes=1)


def test_the_form_says_what_is_wrong_and_makes_nothing(store_app):
    admin = signed_in(store_app)
    add_agent(store_app, "off@example.com")
    with store_app.app_context():
        User.objects(email="off@example.com").update_one(set__active=False)
    form, html = new_token_form(admin, login="", name="", days="0")
    assert "off@example.com" not in html  # a disabled login is not offered
    page = admin.post(f"{SCREEN}new/", data=form).get_data(as_text=True)
    for message in ("Choose the login the token acts for.",
                    "Say what the token is for, so it can be told apart later.",
                    f"A token lasts from 1 to {api_tokens.LONGEST_DAYS} days."):
        assert message in page
    assert shown_secret(page) is None
    # Without the form's CSRF token nothing is made either.
    page = admin.post(f"{SCREEN}new/", data={**form, "csrf_token": "", "login": ADMIN_EMAIL,
                                             "name": "x", "days": "5"}).get_data(as_text=True)
    assert 'id="csrf-error"' in page and shown_secret(page) is None
    with store_app.app_context():
        assert ApiToken.objects.count() == 0 and AuditEvent.objects(
            event="api_token_created").count() == 0


def test_a_token_is_made_for_an_agent_and_acts_with_its_login(store_app):
    add_agent(store_app)
    admin = signed_in(store_app)
    form, _html = new_token_form(admin, login=AGENT_EMAIL, scope="read", name="Reports")
    secret = shown_secret(admin.post(f"{SCREEN}new/", data=form).get_data(as_text=True))
    assert secret
    with store_app.app_context():
        token = ApiToken.objects.get()
        assert token.user.email == AGENT_EMAIL and token.scope == "read"
        assert token.expires - token.created > timedelta(days=29)
    assert store_app.test_client().get(f"{API}/customers", headers=bearer(secret)) \
        .status_code == 200
    # The list can be narrowed to one login's tokens, or one state.
    assert len(rows(admin, f"?login={AGENT_EMAIL.upper()}")) == 1
    assert rows(admin, f"?login={ADMIN_EMAIL}") == {}
    assert len(rows(admin, "?state=active")) == 1 and rows(admin, "?state=revoked") == {}


def test_revoke_asks_first_and_then_the_token_gets_401(store_app):
    issued = make(store_app, name="Old script")
    pk = str(issued.token.pk)
    client = store_app.test_client()
    admin = signed_in(store_app)
    assert client.get(f"{API}/customers", headers=bearer(issued.secret)).status_code == 200

    url = f"{SCREEN}token/{pk}/revoke/"
    asked = admin.get(url)
    assert asked.status_code == 200
    html = asked.get_data(as_text=True)
    assert f"Revoke the token …{issued.token.hint} of {ADMIN_EMAIL}?" in unescape(html)
    # Opening the page revoked nothing; a POST without the page's CSRF token neither.
    assert client.get(f"{API}/customers", headers=bearer(issued.secret)).status_code == 200
    assert admin.post(url, data={}).status_code == 400
    assert client.get(f"{API}/customers", headers=bearer(issued.secret)).status_code == 200

    done = admin.post(url, data={"csrf_token": csrf_token(html)})
    assert done.status_code == 302 and done.headers["Location"].endswith(SCREEN)
    listed = admin.get(SCREEN).get_data(as_text=True)
    assert f"The token …{issued.token.hint} of {ADMIN_EMAIL} is revoked: it gets 401 from " \
           f"now on." in unescape(listed)
    assert "API token revoked" in listed and 'href="/admin/api_tokens/token/' not in listed
    state, text = rows(admin)[pk]
    assert state == "revoked" and f"by {ADMIN_EMAIL}" in text
    problem(client.get(f"{API}/customers", headers=bearer(issued.secret)), 401)
    with store_app.app_context():
        [entry] = AuditEvent.objects(event="api_token_revoked")
        assert (entry.subject, entry.actor) == (ADMIN_EMAIL, ADMIN_EMAIL)
        assert entry.detail == f"read-write token …{issued.token.hint}"
    # Revoking again changes nothing and is not audited twice.
    again = admin.get(url)
    assert again.status_code == 302
    with store_app.app_context():
        assert AuditEvent.objects(event="api_token_revoked").count() == 1
    assert admin.get(f"{SCREEN}token/{ObjectId()}/revoke/").status_code == 404
    assert admin.get(f"{SCREEN}token/not-an-id/revoke/").status_code == 404


def test_the_access_menu_lists_api_tokens_for_an_admin_only(store_app):
    add_agent(store_app)
    admin_home = signed_in(store_app).get("/admin/").get_data(as_text=True)
    assert f'href="{SCREEN}"' in admin_home and "API tokens" in admin_home
    agent_home = signed_in(store_app, AGENT_EMAIL, AGENT_PASSWORD).get("/admin/") \
        .get_data(as_text=True)
    assert SCREEN not in agent_home


def test_an_agent_gets_the_apps_403_page(store_app):
    add_agent(store_app)
    issued = make(store_app)
    agent = signed_in(store_app, AGENT_EMAIL, AGENT_PASSWORD)
    for url in (SCREEN, f"{SCREEN}new/", f"{SCREEN}token/{issued.token.pk}/revoke/"):
        answer = agent.get(url)
        assert answer.status_code == 403, url
        assert "API tokens" not in answer.get_data(as_text=True)
    refused = agent.post(f"{SCREEN}new/", data={"login": AGENT_EMAIL, "name": "mine",
                                                "scope": "read-write", "days": "5"})
    assert refused.status_code == 403
    assert agent.post(f"{SCREEN}token/{issued.token.pk}/revoke/").status_code == 403
    with store_app.app_context():
        assert ApiToken.objects.count() == 1 and ApiToken.objects.get().revoked is None


def test_a_webguest_cannot_reach_the_screen_nor_have_a_token(store_app):
    with store_app.app_context():
        alice = Customer(name="Alice", level="Customer", email="alice@example.com").save()
        guest = User(email="alice@example.com", role="webguest", customer=alice)
        guest.set_password("a long enough passphrase 42")
        guest.save()
    browser = store_app.test_client()
    with browser.session_transaction() as session:  # as the portal's sign-in leaves it
        session["_user_id"] = str(guest.pk)
        session["_fresh"] = True
        session[sessions.VERSION_KEY] = guest.session_version
    for url in (SCREEN, f"{SCREEN}new/"):
        assert browser.get(url).status_code == 403
    assert browser.post(f"{SCREEN}new/", data={}).status_code == 403
    # Anonymous: sent to sign in.
    anonymous = store_app.test_client().get(SCREEN)
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    # Nor may an admin make one for a WebGuest, on the screen or with the library call.
    admin = signed_in(store_app)
    form, html = new_token_form(admin, login="alice@example.com")
    assert "alice@example.com" not in html
    page = admin.post(f"{SCREEN}new/", data=form).get_data(as_text=True)
    assert "Not a valid choice" in page and shown_secret(page) is None
    with store_app.app_context(), pytest.raises(api_tokens.TokenRefused, match="webguest"):
        api_tokens.create(User.objects.get(email="alice@example.com"), "read")


# -- what a token may do ----------------------------------------------------------------------

def test_unknown_expired_revoked_and_disabled_tokens_get_one_answer(store_app):
    add_agent(store_app)
    expired = make(store_app, days=1)
    revoked = make(store_app)
    disabled = make(store_app, AGENT_EMAIL)
    working = make(store_app)
    with store_app.app_context():
        ApiToken.objects(pk=expired.token.pk).update_one(set__expires=now() - timedelta(seconds=1))
        api_tokens.revoke(revoked.token, actor="test")
        accounts.disable(User.objects.get(email=AGENT_EMAIL))
    client = store_app.test_client()
    answers = []
    for secret in ("dat_" + "x" * 43, expired.secret, revoked.secret, disabled.secret,
                   working.secret[:-1] + ("A" if working.secret[-1] != "A" else "B")):
        answer = client.get(f"{API}/customers", headers=bearer(secret))
        problem(answer, 401)
        answers.append((answer.get_data(as_text=True),
                        answer.headers["WWW-Authenticate"]))
    assert len(set(answers)) == 1, answers
    body, challenge = answers[0]
    assert json.loads(body)["type"] == "urn:dictadmin:problem:unauthorised"
    assert challenge == 'Bearer realm="dictadmin", error="invalid_token"'
    # A write is answered the same.
    answer = client.post(f"{API}/customers", json={"name": "X"}, headers=bearer(revoked.secret))
    assert (answer.get_data(as_text=True), answer.headers["WWW-Authenticate"]) == answers[0]
    assert client.get(f"{API}/customers", headers=bearer(working.secret)).status_code == 200


def test_a_read_token_reads_but_may_not_write(store_app):
    read = make(store_app, scope="read").secret
    write = make(store_app).secret
    client = store_app.test_client()
    made = client.post(f"{API}/customers", json={"name": "Ada"}, headers=bearer(write))
    assert made.status_code == 201
    location, etag = made.headers["Location"], made.headers["ETag"]
    assert client.get(location, headers=bearer(read)).status_code == 200
    refusals = [
        client.post(f"{API}/customers", json={"name": "Bob"}, headers=bearer(read)),
        client.patch(location, json={"name": "Ada L"}, headers={**bearer(read), "If-Match": etag}),
        client.post(f"{location}/archive", headers=bearer(read)),
    ]
    for answer in refusals:
        body = problem(answer, 403)
        assert body["type"] == "urn:dictadmin:problem:read-only-token"
        assert body["detail"] == ("This token may only read: ask an admin for a read-write "
                                  "token to make changes.")
    with store_app.app_context():
        assert [c.name for c in Customer.objects] == ["Ada"]
        assert not Customer.objects.get().archived


def test_a_signed_in_session_without_a_token_cannot_write(store_app):
    """A page elsewhere can make a signed-in admin's browser send its cookie: the cookie
    alone must change nothing (nor read records)."""
    admin = signed_in(store_app)
    assert admin.get("/admin/").status_code == 200  # signed in indeed
    with store_app.app_context():
        record = Customer(name="Kept", level="Customer").save()
    attempts = [
        admin.post(f"{API}/customers", json={"name": "Forged"}),
        admin.post(f"{API}/customers", data='{"name": "Forged"}', content_type="text/plain"),
        admin.patch(f"{API}/customers/{record.pk}", json={"name": "Forged"},
                    headers={"If-Match": f'"{record.pk}-0"'}),
        admin.post(f"{API}/customers/{record.pk}/archive"),
        admin.get(f"{API}/customers"),
    ]
    for answer in attempts:
        assert problem(answer, 401)["type"] == "urn:dictadmin:problem:unauthorised"
        assert answer.headers["WWW-Authenticate"] == 'Bearer realm="dictadmin"'
    with store_app.app_context():
        assert [c.name for c in Customer.objects] == ["Kept"]
        assert not Customer.objects.get().archived


# -- flask token create -----------------------------------------------------------------------

def test_flask_token_create_prints_a_token_that_works(store_app):
    runner = store_app.test_cli_runner()
    result = runner.invoke(args=["token", "create", ADMIN_EMAIL.upper(), "--scope",
                                 "read-write", "--days", "7", "--name", "setup"])
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip()
    assert secret.startswith("dat_") and "\n" not in secret  # stdout: the token alone
    assert "It is shown only now" in result.output
    answer = store_app.test_client().post(f"{API}/customers", json={"name": "By script"},
                                          headers=bearer(secret))
    assert answer.status_code == 201
    with store_app.app_context():
        token = ApiToken.objects.get()
        assert token.name == "setup" and token.scope == "read-write"
        assert token.expires - token.created <= timedelta(days=7)
        entry = AuditEvent.objects.get(event="api_token_created")
        assert entry.area == "cli" and entry.subject == ADMIN_EMAIL
    assert secret not in everything_stored(store_app)


def test_flask_token_create_refuses_a_webguest_and_an_unknown_email_with_a_sentence(store_app):
    with store_app.app_context():
        alice = Customer(name="Alice", level="Customer", email="alice@example.com").save()
        User(email="alice@example.com", role="webguest", customer=alice).save()
    runner = store_app.test_cli_runner()
    guest = runner.invoke(args=["token", "create", "alice@example.com", "--scope", "read"])
    assert guest.exit_code == 1
    assert "Error: alice@example.com is a webguest login: API tokens are for admins and " \
           "agents only." in guest.output
    unknown = runner.invoke(args=["token", "create", "nobody@example.com", "--scope", "read"])
    assert unknown.exit_code == 1
    assert "Error: There is no login nobody@example.com." in unknown.output
    wrong = runner.invoke(args=["token", "create", ADMIN_EMAIL, "--scope", "write"])
    assert wrong.exit_code == 2 and "'write' is not one of 'read', 'read-write'" in wrong.output
    with store_app.app_context():
        assert ApiToken.objects.count() == 0


# -- the rate limit ---------------------------------------------------------------------------

class Clock:
    """A clock the test moves, instead of waiting for the next minute."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


@pytest.fixture
def clock(monkeypatch) -> Clock:
    moving = Clock(datetime(2030, 5, 1, 12, 0, 15))
    monkeypatch.setattr(api_rate, "clock", moving)
    return moving


def test_past_its_limit_a_token_gets_429_with_retry_after_then_works_the_next_minute(
        store_app, clock):
    store_app.config["API_REQUESTS_PER_MINUTE"] = 3
    busy, other = make(store_app).secret, make(store_app).secret
    client = store_app.test_client()
    assert [client.get(f"{API}/customers", headers=bearer(busy)).status_code
            for _ in range(3)] == [200, 200, 200]
    clock.moment += timedelta(seconds=20)  # 12:00:35
    limited = client.get(f"{API}/customers", headers=bearer(busy))
    body = problem(limited, 429)
    assert limited.headers["Retry-After"] == "25"
    assert body["type"] == "urn:dictadmin:problem:rate-limited"
    assert body["detail"] == ("This token has sent more than 3 requests this minute; send "
                              "again in 25 seconds.")
    # Writes are limited too (and nothing is written); another token is not.
    write = client.post(f"{API}/customers", json={"name": "Late"}, headers=bearer(busy))
    assert problem(write, 429) and write.headers["Retry-After"] == "25"
    assert client.get(f"{API}/customers", headers=bearer(other)).status_code == 200
    clock.moment = datetime(2030, 5, 1, 12, 0, 59, 500000)
    assert client.get(f"{API}/customers", headers=bearer(busy)).headers["Retry-After"] == "1"
    clock.moment = datetime(2030, 5, 1, 12, 1, 0)  # the next minute
    assert client.get(f"{API}/customers", headers=bearer(busy)).status_code == 200
    assert client.post(f"{API}/customers", json={"name": "On time"},
                       headers=bearer(busy)).status_code == 201
    with store_app.app_context():
        assert [c.name for c in Customer.objects] == ["On time"]
        kept = {entry.key.split("|")[1]: (entry.count, entry.expires) for entry in
                api_rate.ApiRequestCount.objects(key__startswith=str(
                    ApiToken.objects.get(digest=api_tokens.digest(busy)).pk))}
        # Every request was counted, refused ones too; the store drops each count (TTL
        # index) once its minute is long over.
        assert kept == {"2030-05-01T12:00:00": (6, datetime(2030, 5, 1, 12, 2)),
                        "2030-05-01T12:01:00": (2, datetime(2030, 5, 1, 12, 3))}


def test_far_from_its_limit_a_process_counts_ten_requests_a_write_and_near_it_each(
        store_app, clock):
    """A write per request was a third of a create's cost; so far from the limit the
    count is added ten at a time, and within fifty of it, at once."""
    store_app.config["API_REQUESTS_PER_MINUTE"] = 70
    secret = make(store_app).secret
    client = store_app.test_client()

    def stored() -> int:
        with store_app.app_context():
            entry = api_rate.ApiRequestCount.objects(key__startswith=str(
                ApiToken.objects.get(digest=api_tokens.digest(secret)).pk)).first()
            return entry.count if entry is not None else 0

    answers = [client.get(f"{API}/customers", headers=bearer(secret)).status_code
               for _ in range(15)]
    assert answers == [200] * 15 and stored() == 10  # one write, for the first ten
    answers = [client.get(f"{API}/customers", headers=bearer(secret)).status_code
               for _ in range(5)]
    assert stored() == 20  # 20 is within 50 of 70: now every request is counted at once
    answers += [client.get(f"{API}/customers", headers=bearer(secret)).status_code
                for _ in range(51)]
    assert stored() == 71 and answers.count(200) == 55 and answers[-1] == 429


def test_the_limit_is_read_from_the_environment(monkeypatch):
    from admin_app.config import from_environment

    monkeypatch.delenv("API_REQUESTS_PER_MINUTE", raising=False)
    assert from_environment()["API_REQUESTS_PER_MINUTE"] == 600
    monkeypatch.setenv("API_REQUESTS_PER_MINUTE", "120")
    assert from_environment()["API_REQUESTS_PER_MINUTE"] == 120
    monkeypatch.setenv("API_REQUESTS_PER_MINUTE", "none")
    with pytest.raises(SystemExit, match="API_REQUESTS_PER_MINUTE must be a positive number"):
        from_environment()


# Requests of one token from a web worker of its own, all in one (pinned) minute.
_REQUESTS = """
from datetime import datetime
from admin_app.security import api_rate

[secret] = ARGS
api_rate.clock = lambda: datetime(2030, 5, 1, 12, 0, 30)
client = app.test_client()
headers = {"Authorization": "Bearer " + secret}
client.get("/api/v1/customers")  # connected and warm before the start (401: uncounted)
start_together()
print(" ".join(str(client.get("/api/v1/customers", headers=headers).status_code)
               for _ in range(5)))
"""


def test_workers_on_the_embedded_store_share_one_count(tmp_path):
    """Four workers send five requests each with one token at the same instant, with no
    lock between them: each request is counted by one atomic upsert, so exactly the
    limit's worth are answered and the rest get 429."""
    app = make_app(tmp_path, "embedded")
    try:
        secret = make(app).secret
        outputs = processes.at_once(app, _REQUESTS, [[secret]] * 4,
                                    API_REQUESTS_PER_MINUTE="12")
        statuses = " ".join(outputs).split()
        assert sorted(set(statuses)) == ["200", "429"], outputs
        assert (statuses.count("200"), statuses.count("429")) == (12, 8), outputs
        with app.app_context():
            assert api_rate.ApiRequestCount.objects.get().count == 20
    finally:
        mongoengine.disconnect()
