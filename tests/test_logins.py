"""The Logins screen and one-time set-password links, as an admin uses them."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from urllib.parse import urlsplit

import pytest

from admin_app.models import User
from admin_app.models.kept import now
from admin_app.security import audit, links
from admin_app.security.links import SetPasswordLink

from .helpers import ADMIN_EMAIL, ADMIN_PASSWORD, login, submit

STRONG = "a long enough passphrase 42"
OTHER = "another long passphrase 77"
_LINK = re.compile(r'id="set-password-link" type="text" readonly value="([^"]+)"')


def shown_link(response) -> str:
    """The path of the one-time link a page shows."""
    match = _LINK.search(response.get_data(as_text=True))
    assert match, "the page shows no set-password link"
    return urlsplit(unescape(match.group(1))).path


def events(event: str) -> list[audit.AuditEvent]:
    return list(audit.events(event=event))


def create_login(client, email: str, role: str = "agent") -> str:
    response = submit(client, "/admin/logins/new/", {"email": email, "role": role})
    assert response.status_code == 200
    return shown_link(response)


def set_password(app, path: str, password: str = STRONG, confirm: str | None = None):
    return submit(app.test_client(), path,
                  {"password": password, "confirm": password if confirm is None else confirm})


def login_page(client, email: str) -> str:
    with client.application.app_context():
        user = User.objects.get(email=email)
    return f"/admin/logins/login/{user.pk}/"


def confirm(client, email: str, action: str, **args):
    """Open the confirmation page of `action` and press its button."""
    url = login_page(client, email) + f"{action}/"
    if args:
        url += "?" + "&".join(f"{k}={v}" for k, v in args.items())
    page = client.get(url)
    assert page.status_code == 200, page.status_code
    return submit(client, url, {**args})


def signed_in_as(app, email: str, password: str = STRONG):
    client = app.test_client()
    assert login(client, email, password).status_code == 302
    return client


@pytest.fixture
def client(app):
    """The admin, signed in. Not kept in a `with` block: its preserved request context
    would lend its `g` (and CSRF token) to the other visitors these tests open."""
    return signed_in_as(app, ADMIN_EMAIL, ADMIN_PASSWORD)


def test_admin_creates_an_agent_who_sets_a_password_with_the_link_once(app, client):
    path = create_login(client, "New.Agent@Example.com")
    with app.app_context():
        user = User.objects.get(email="new.agent@example.com")
        assert user.role == "agent" and user.password_hash == ""
        stored = SetPasswordLink.objects.get(user=user.pk)
        token = path.rsplit("/", 1)[1]
        assert token not in str(stored.to_mongo())  # only its hash is kept
        assert [e.subject for e in events("login_created")] == ["new.agent@example.com"]
    listing = client.get("/admin/logins/").get_data(as_text=True)
    assert re.search(r"new\.agent@example\.com</a></td>\s*<td>agent</td>\s*"
                     r'<td class="login-state">awaiting password', listing)
    # Nobody can sign in before the password is set.
    assert login(app.test_client(), "new.agent@example.com", "").status_code != 302

    form = app.test_client().get(path)
    assert form.status_code == 200 and "new.agent@example.com" in form.get_data(as_text=True)
    response = set_password(app, path)
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    signed_in_as(app, "new.agent@example.com")
    with app.app_context():
        assert [e.subject for e in events("password_set")] == ["new.agent@example.com"]

    again = app.test_client().get(path)
    assert again.status_code == 410
    assert "This link has already been used" in again.get_data(as_text=True)


def test_the_set_password_page_refuses_weak_and_mismatched_passwords_and_keeps_the_link(
        app, client):
    path = create_login(client, "weak@example.com")
    short = set_password(app, path, "short")
    assert short.status_code == 400
    assert "A password must have at least 12 characters." in short.get_data(as_text=True)
    common = set_password(app, path, "password1234")
    assert "That is one of the most common passwords." in common.get_data(as_text=True)
    mismatch = set_password(app, path, STRONG, OTHER)
    assert mismatch.status_code == 400
    assert "The two passwords are not the same." in mismatch.get_data(as_text=True)
    assert set_password(app, path).status_code == 302


def test_unknown_expired_and_replaced_links_get_a_page_that_says_so(app, client):
    unknown = app.test_client().get("/set-password/not-a-real-token")
    assert unknown.status_code == 404
    assert "This link is not valid" in unknown.get_data(as_text=True)
    assert "Traceback" not in unknown.get_data(as_text=True)

    first = create_login(client, "late@example.com")
    with app.app_context():
        SetPasswordLink.objects(email="late@example.com").update(
            set__expires_at=now() - timedelta(minutes=1))
    expired = app.test_client().get(first)
    assert expired.status_code == 410 and "This link has expired" in expired.get_data(
        as_text=True)
    posted = app.test_client().post(first, data={"password": STRONG, "confirm": STRONG})
    assert posted.status_code == 410

    second = shown_link(confirm(client, "late@example.com", "reset"))
    third = shown_link(confirm(client, "late@example.com", "reset"))
    replaced = app.test_client().get(second)
    assert replaced.status_code == 410 and "A newer link" in replaced.get_data(as_text=True)
    assert set_password(app, third).status_code == 302


def test_a_link_works_once_even_when_posted_twice(app, client):
    path = create_login(client, "twice@example.com")
    one, two = app.test_client(), app.test_client()
    pages = [visitor.get(path).get_data(as_text=True) for visitor in (one, two)]
    tokens = [re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
              for page in pages]
    first = one.post(path, data={"csrf_token": tokens[0], "password": STRONG,
                                 "confirm": STRONG})
    second = two.post(path, data={"csrf_token": tokens[1], "password": OTHER,
                                  "confirm": OTHER})
    assert (first.status_code, second.status_code) == (302, 410)
    signed_in_as(app, "twice@example.com", STRONG)


def test_of_two_links_issued_at_once_only_the_newer_works(app, client, monkeypatch):
    """Two admins resetting one login at the same instant: each reset cancels the older
    links, then stores its own, so both cancels can run before either link is stored and
    nothing cancels the first. It still does not work: a newer link stands beside it."""
    create_login(client, "raced@example.com")
    monkeypatch.setattr(links, "cancel", lambda user, moment=None: 0)  # both ran first
    first = shown_link(confirm(client, "raced@example.com", "reset"))
    second = shown_link(confirm(client, "raced@example.com", "reset"))
    with app.app_context():
        assert SetPasswordLink.objects(email="raced@example.com", cancelled_at=None,
                                       used_at=None).count() == 3
    older = app.test_client().get(first)
    assert older.status_code == 410 and "A newer link" in older.get_data(as_text=True)
    posted = app.test_client().post(first, data={"password": OTHER, "confirm": OTHER})
    assert posted.status_code == 410
    assert set_password(app, second).status_code == 302
    signed_in_as(app, "raced@example.com")


def test_disable_asks_first_then_ends_the_sessions_and_re_enable_restores(app, client):
    set_password(app, create_login(client, "dis@example.com"))
    agent = signed_in_as(app, "dis@example.com")
    page = client.get(login_page(client, "dis@example.com") + "disable/")
    assert "Disable dis@example.com?" in page.get_data(as_text=True)
    assert agent.get("/admin/customer/").status_code == 200  # asking changed nothing

    done = confirm(client, "dis@example.com", "disable")
    assert done.status_code == 302
    shown = client.get(done.headers["Location"]).get_data(as_text=True)
    assert 'id="login-state">disabled<' in shown
    assert agent.get("/admin/customer/").status_code == 302  # its session ended
    assert login(app.test_client(), "dis@example.com", STRONG).status_code != 302

    url = login_page(client, "dis@example.com") + "enable"
    assert client.post(url, data={}).status_code == 400  # no CSRF token: nothing happens
    with app.app_context():
        assert not User.objects.get(email="dis@example.com").active
    page = client.get(login_page(client, "dis@example.com")).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert client.post(url, data={"csrf_token": token}).status_code == 302
    signed_in_as(app, "dis@example.com")
    with app.app_context():
        assert [e.subject for e in events("login_disabled")] == ["dis@example.com"]
        assert [e.subject for e in events("login_enabled")] == ["dis@example.com"]
        assert events("login_disabled")[0].actor == ADMIN_EMAIL


def test_reset_stops_the_old_password_ends_sessions_and_shows_a_new_link(app, client):
    set_password(app, create_login(client, "reset@example.com"))
    agent = signed_in_as(app, "reset@example.com")
    path = shown_link(confirm(client, "reset@example.com", "reset"))
    assert agent.get("/admin/customer/").status_code == 302
    assert login(app.test_client(), "reset@example.com", STRONG).status_code != 302
    set_password(app, path, OTHER)
    signed_in_as(app, "reset@example.com", OTHER)
    with app.app_context():
        assert [e.subject for e in events("password_reset")] == ["reset@example.com"]


def test_role_change_ends_sessions_and_the_new_role_applies(app, client):
    set_password(app, create_login(client, "promo@example.com"))
    agent = signed_in_as(app, "promo@example.com")
    assert agent.get("/admin/dictionary/").status_code == 403
    page = client.get(login_page(client, "promo@example.com") + "role/?role=admin")
    assert "Change the role of promo@example.com to admin?" in page.get_data(as_text=True)
    confirm(client, "promo@example.com", "role", role="admin")
    assert agent.get("/admin/customer/").status_code == 302
    assert signed_in_as(app, "promo@example.com").get("/admin/dictionary/").status_code == 200
    with app.app_context():
        assert User.objects.get(email="promo@example.com").role == "admin"
        assert [e.detail for e in events("role_changed")] == ["agent → admin"]


@pytest.mark.parametrize("action,args", [("disable", {}), ("reset", {}),
                                         ("role", {"role": "agent"})])
def test_the_last_admin_cannot_be_removed(app, client, action, args):
    url = login_page(client, ADMIN_EMAIL) + f"{action}/"
    asked = client.get(url, query_string=args)
    assert asked.status_code == 302
    message = client.get(asked.headers["Location"]).get_data(as_text=True)
    assert "is the last admin who can sign in" in message
    # Posting anyway (a form kept from before) changes nothing either.
    page = client.get(login_page(client, ADMIN_EMAIL)).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    client.post(url, data={"csrf_token": token, **args})
    with app.app_context():
        admin = User.objects.get(email=ADMIN_EMAIL)
        assert admin.active and admin.role == "admin" and admin.password_hash
    assert signed_in_as(app, ADMIN_EMAIL, ADMIN_PASSWORD).get("/admin/logins/").status_code \
        == 200


def test_with_a_second_admin_the_first_can_be_made_an_agent(app, client):
    set_password(app, create_login(client, "second@example.com", "admin"))
    confirm(client, ADMIN_EMAIL, "role", role="agent")
    with app.app_context():
        assert User.objects.get(email=ADMIN_EMAIL).role == "agent"
    second = signed_in_as(app, "second@example.com")
    assert second.get("/admin/logins/").status_code == 200
    refused = second.get(login_page(second, "second@example.com") + "disable/")
    assert refused.status_code == 302  # now the last admin itself


def test_a_login_is_made_once_and_its_email_must_be_valid(app, client):
    create_login(client, "once@example.com")
    again = submit(client, "/admin/logins/new/", {"email": "ONCE@example.com", "role": "agent"})
    assert "A login for once@example.com already exists." in again.get_data(as_text=True)
    bad = submit(client, "/admin/logins/new/", {"email": "not an email", "role": "agent"})
    assert "Enter a valid email address." in bad.get_data(as_text=True)
    webguest = submit(client, "/admin/logins/new/", {"email": "x@example.com",
                                                     "role": "webguest"})
    assert "Not a valid choice" in webguest.get_data(as_text=True)
    with app.app_context():
        assert User.objects(email__in=["x@example.com", "not an email"]).count() == 0


def test_the_logins_list_pages_and_filters_by_role(app, client):
    with app.app_context():
        for number in range(25):
            User(email=f"agent{number:02}@example.com", role="agent").save()
    first = client.get("/admin/logins/").get_data(as_text=True)
    assert "Page 1 of 2" in first and "admin@example.com" in first
    second = client.get("/admin/logins/?page=1").get_data(as_text=True)
    assert "agent24@example.com" in second and "agent00@example.com" not in second
    admins = client.get("/admin/logins/?role=admin").get_data(as_text=True)
    assert "admin@example.com" in admins and "agent00@example.com" not in admins


def test_agents_cannot_open_or_use_the_logins_screen(app, client):
    set_password(app, create_login(client, "plain@example.com"))
    agent = signed_in_as(app, "plain@example.com")
    assert agent.get("/admin/logins/").status_code == 403
    assert agent.post(login_page(client, ADMIN_EMAIL) + "disable/", data={}).status_code == 403
    assert "/admin/logins/" not in agent.get("/admin/").get_data(as_text=True)
