"""Attacks found in a security review of sign-in, sessions, logins, links and the portal,
each tried here against the fix (the older tests of each area cover the rest)."""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import mongoengine
import pytest
from playwright.sync_api import expect, sync_playwright

from admin_app.models import User
from admin_app.security import accounts, links, throttle
from admin_app.security.audit import AuditEvent
from admin_app.security.throttle import SignInFailures

from . import processes
from .conftest import make_app
from .helpers import ADMIN_EMAIL, ADMIN_PASSWORD, csrf_token, submit
from .servers import CHROMIUM_ARGS, dictadmin_server

STRONG = "violet harbour lantern 42"


# -- the throttle ---------------------------------------------------------------------------

def test_an_attempt_arriving_while_another_worker_decides_is_counted_by_it(
        app_with, monkeypatch):
    """No lock orders two workers' guesses (on any store), so two workers can take a
    guess at the same instant. Here a second guess, from
    another address, arrives while the first worker is deciding whether its own may be
    heard. With one free failure only one of the two may be heard; if the decision rests
    on a count read before the other worker counted, both are."""
    app = app_with(SIGNIN_FREE_FAILURES=1)
    second = app.test_client()
    token = csrf_token(second.get("/login").get_data(as_text=True))
    answers, arrived = [], []
    deciding = throttle._wait

    def decide_while_another_guess_arrives(*args):
        if not arrived:
            arrived.append(True)
            answers.append(second.post("/login", data={
                "csrf_token": token, "email": ADMIN_EMAIL, "password": "second guess"},
                environ_base={"REMOTE_ADDR": "198.51.100.7"}).status_code)
        return deciding(*args)

    monkeypatch.setattr(throttle, "_wait", decide_while_another_guess_arrives)
    first = submit(app.test_client(), "/login", {"email": ADMIN_EMAIL,
                                                 "password": "first guess"})
    answers.append(first.status_code)
    assert sorted(answers) == [401, 429], answers
    assert AuditEvent.objects(event="sign_in_failed", detail="wrong password").count() == 1
    assert SignInFailures.objects.get(key=f"admin|account|{ADMIN_EMAIL}").pending == 0


def test_a_sign_in_name_longer_than_any_email_is_not_stored_whole(app):
    """The portal's form takes any text as the email: a 400,000-character one was stored
    whole, in the audit log and as the throttle's key, on every try (throttled ones too)."""
    client = app.test_client()
    huge = "x" * 400_000 + "@example.com"
    for _ in range(2):
        response = submit(client, "/portal/", {"email": huge, "password": "any password"})
        assert response.status_code == 401
    entries = list(AuditEvent.objects(event="sign_in_failed"))
    assert len(entries) == 2
    assert all(len(entry.subject) <= 320 for entry in entries)
    assert all(len(entry.key) <= 400 for entry in SignInFailures.objects)


def test_an_ipv6_client_cannot_dodge_the_address_lock_by_changing_address(app_with):
    """A subscriber gets a whole /64 of IPv6 addresses; counted per address, one client
    spraying a password across accounts never reached the address lock."""
    app = app_with(SIGNIN_FIRST_DELAY_SECONDS=0, SIGNIN_ADDRESS_FREE_FAILURES=100,
                   SIGNIN_ADDRESS_LOCK_FAILURES=3)
    attacker = app.test_client()
    for n in range(3):
        response = submit(attacker, "/login", {"email": f"user{n}@example.com",
                                               "password": "Winter2026!!"},
                          environ_base={"REMOTE_ADDR": f"2001:db8:1:2::{n + 1}"})
        assert response.status_code == 401
    response = submit(attacker, "/login", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
                      environ_base={"REMOTE_ADDR": "2001:db8:1:2:ffff::9"})
    assert response.status_code == 429
    assert AuditEvent.objects.get(event="lockout").detail \
        == "the address 2001:db8:1:2::/64 is locked for 15 minutes"
    neighbour = app.test_client()  # another subscriber's /64
    response = submit(neighbour, "/login", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
                      environ_base={"REMOTE_ADDR": "2001:db8:1:3::1"})
    assert response.status_code == 302


# -- logins --------------------------------------------------------------------------------------

@pytest.mark.parametrize("action, args", [("role", {"role": "agent"}), ("disable", {}),
                                          ("reset", {})])
def test_an_admin_whose_password_was_reset_is_not_counted_as_one_who_can_sign_in(
        client, action, args):
    """A reset removes the stored hash; the last-admin count took a login with no hash
    field at all for one with a password, so after resetting the only other admin an
    admin could remove themselves and leave nobody who can sign in."""
    second = User(email="second@example.com", role="admin")
    second.set_password("the second admin's passphrase")
    second.save()
    reset = submit(client, f"/admin/logins/login/{second.pk}/reset/", {})
    assert reset.status_code == 200 and "Password reset" in reset.get_data(as_text=True)
    me = User.objects.get(email=ADMIN_EMAIL)
    token = csrf_token(client.get("/admin/logins/new/").get_data(as_text=True))
    response = client.post(f"/admin/logins/login/{me.pk}/{action}/",
                           data={"csrf_token": token, **args}, follow_redirects=True)
    assert "is the last admin who can sign in" in response.get_data(as_text=True)
    me.reload()
    assert (me.role, me.active, me.has_password) == ("admin", True, True)
    assert client.get("/admin/logins/").status_code == 200, "still signed in, still admin"


@pytest.mark.parametrize("action", ["role", "disable", "reset"])
def test_two_admins_removing_each_other_at_once_leave_one_who_can_sign_in(
        app, monkeypatch, action):
    """No lock joins the last-admin check and the write (none would, on a MongoDB
    server). Here the second admin acts on the first between the first admin's check and
    its write: both checks see another admin, and without a second look after the write
    no admin was left."""
    do = {"role": lambda user: accounts.change_role(user, "agent"),
          "disable": accounts.disable, "reset": accounts.reset}[action]
    second = User(email="second@example.com", role="admin")
    second.set_password("the second admin's passphrase")
    second.save()
    first = User.objects.get(email=ADMIN_EMAIL)
    counting, acted, refused = accounts._able_admins, [], []

    def the_other_admin_acts_meanwhile(excluding):
        able = counting(excluding)
        if not acted:
            acted.append(True)
            with contextlib.suppress(accounts.LoginRefused):
                do(User.objects.get(pk=first.pk))
        return able

    monkeypatch.setattr(accounts, "_able_admins", the_other_admin_acts_meanwhile)
    with app.test_request_context("/admin/logins/"):
        try:
            do(User.objects.get(pk=second.pk))
        except accounts.LoginRefused as refusal:
            refused.append(str(refusal))
    able = [user.email for user in User.objects(role="admin", active=True)
            if user.has_password]
    assert able == ["second@example.com"], [(u.email, u.role, u.active) for u in User.objects]
    doing = {"role": "made an agent", "disable": "disabled", "reset": "reset"}[action]
    assert refused == ["second@example.com is the last admin who can sign in, so it cannot be "
                       f"{doing}. Make another admin first."]


# Run by two processes at once: remove one admin's rights, pausing after the last-admin
# check so that the other process checks meanwhile (both then see another admin).
_REMOVE = """
from admin_app.models import User
from admin_app.security import accounts

email, action = ARGS
checking = accounts.check_allowed


def check_then_pause(*args):
    checking(*args)
    time.sleep(0.3)


accounts.check_allowed = check_then_pause
with app.test_request_context("/admin/logins/"):
    user = User.objects.get(email=email)
    start_together()
    try:
        if action == "role":
            accounts.change_role(user, "agent")
        else:
            accounts.disable(user)
        print("done")
    except accounts.LoginRefused as refusal:
        print("refused:", refusal)
"""


@pytest.mark.parametrize("action", ["role", "disable"])
def test_two_processes_removing_the_two_last_admins_at_once_leave_one(tmp_path, action):
    """The embedded store, as served by two workers: each demotes (or disables) the other
    of the two last admins at the same moment, with no lock between them. Both pass the
    check; the count after the write keeps at least one admin who can sign in."""
    app = make_app(tmp_path, "embedded")
    admins = [ADMIN_EMAIL, "second@example.com"]
    try:
        with app.app_context():
            second = User(email=admins[1], role="admin")
            second.set_password("the second admin's passphrase")
            second.save()
        outputs = processes.at_once(app, _REMOVE, [[email, action] for email in admins])
        with app.app_context():
            able = sorted(user.email for user in User.objects(role="admin", active=True)
                          if user.has_password)
        assert able, "no admin who can sign in is left"
        done = [email for email, out in zip(admins, outputs, strict=True) if out == "done\n"]
        assert len(done) <= 1, outputs
        assert sorted(set(admins) - set(done)) == able, outputs
        assert sum("is the last admin who can sign in" in out for out in outputs) \
            == 2 - len(done), outputs
        assert not list(Path(app.instance_path).rglob("*.lock")), "no lock files"
    finally:
        mongoengine.disconnect()


# -- the audit log -----------------------------------------------------------------------------

def test_the_first_admin_made_by_setup_is_in_the_audit_log(app_with):
    """Every other way a login is made is audited; the first admin, made by `flask setup`
    from ADMIN_EMAIL, was not."""
    app = app_with(ADMIN_EMAIL="boss@example.com", ADMIN_PASSWORD="a long admin passphrase")
    User.objects.delete()  # as on a brand-new store
    result = app.test_cli_runner().invoke(args=["setup", "--no-demo"])
    assert result.exit_code == 0, result.output
    made = AuditEvent.objects.get(event="login_created")
    assert (made.subject, made.area) == ("boss@example.com", "cli")
    assert made.actor.endswith("(command line)")
    assert made.detail == "the first admin login, made by flask setup"
    again = app.test_cli_runner().invoke(args=["setup", "--no-demo"])
    assert again.exit_code == 0, again.output
    assert AuditEvent.objects(event="login_created").count() == 1, "made once, told once"


# -- one-time links ----------------------------------------------------------------------------

def test_the_set_password_page_sends_its_token_to_nobody_in_a_referer(tmp_path):
    """The token is in the page's path. With the app's `same-origin` policy the page's own
    stylesheet request, the form's post and the sign-in page it leads to all carried the
    whole URL in Referer, into every log and proxy on the way. Chromium, as served."""
    app = make_app(tmp_path, "embedded")
    with app.test_request_context("/"):
        issued = links.issue(User(email="newcomer@example.com", role="agent").save())
    mongoengine.disconnect()
    token = urlsplit(issued.url).path.rsplit("/", 1)[-1]
    executable = shutil.which("chromium")
    assert executable, "Debian's chromium is required: run `make test`"
    sent = []
    with dictadmin_server(tmp_path / "instance") as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(base_url=base).new_page()
            page.on("requestfinished", lambda request: sent.append(request))
            page.goto(f"/set-password/{token}")
            page.fill("#password", STRONG)
            page.fill("#confirm", STRONG)
            page.click("button[type=submit]")
            expect(page.locator(".alert-info")).to_have_text("Your password is set. Sign in "
                                                             "with it.")
            referers = [(request.url, request.all_headers().get("referer", ""))
                        for request in sent]
        finally:
            browser.close()
    assert any(url.endswith(".css") for url, _ in referers), referers
    assert any(url.endswith("/login") for url, _ in referers), referers
    assert not [pair for pair in referers if token in pair[1]], referers
