"""Every admin page checks the role: walked from the app's own URL map, so a new view that
forgets its role mixin fails here.

Screens are classified by their Flask-Admin endpoint. A view not in either table fails
the walk until it is put in one (and given `StaffOnly` or `AdminOnly`).
"""

from __future__ import annotations

import pytest
from flask import Flask

from admin_app.models import Customer, User
from admin_app.security import sessions

from .helpers import login

# Agents keep records up to date: records, contacts, tickets, Contracts and SLAs, and
# bulk loads of records (Import / Export), and they make a customer's portal login.
AGENT_SCREENS = {"admin", "customer", "org", "contact", "ticket", "contract", "sla", "seed",
                 "webguest", "history", "api_page", "saved_views", "bulk"}
# Admins decide what records look like and who may sign in.
ADMIN_SCREENS = {"dictionary", "rules", "search_keys", "directory", "directory_runs", "outbox",
                 "logins", "audit", "api_tokens"}
SOME_ID = "0123456789abcdef01234567"
STRONG = "a long enough passphrase 42"


def admin_rules(app: Flask) -> list[tuple[str, str, str]]:
    """(screen, method, url) for every /admin rule but static files, its arguments filled."""
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin") or rule.endpoint.endswith("static"):
            continue
        url = rule.rule
        for argument in rule.arguments:
            url = url.replace(f"<{argument}>", SOME_ID)
            for converter in ("string", "path", "int"):
                url = url.replace(f"<{converter}:{argument}>", SOME_ID if converter != "int"
                                  else "1")
        method = "GET" if "GET" in (rule.methods or ()) else "POST"
        found.append((rule.endpoint.split(".")[0], method, url))
    return found


def add_user(email: str, role: str, customer: Customer | None = None) -> User:
    user = User(email=email, role=role, customer=customer)
    user.set_password(STRONG)
    return user.save()


def signed_in(app: Flask, user: User):
    """A client carrying `user`'s session, as sign-in leaves it (a WebGuest signs in on the
    portal; here the session is made the same way, so the walk does not depend on it)."""
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = str(user.pk)
        session["_fresh"] = True
        session[sessions.VERSION_KEY] = user.session_version
    return client


def request(client, method: str, url: str):
    response = client.get(url) if method == "GET" else client.post(url, data={})
    response.close()  # a download holds its file open until closed
    return response


def test_every_admin_screen_is_classified(app):
    screens = {screen for screen, _method, _url in admin_rules(app)}
    unknown = screens - AGENT_SCREENS - ADMIN_SCREENS
    assert not unknown, (f"new admin screens {sorted(unknown)}: give each StaffOnly or AdminOnly "
                         f"and add it to AGENT_SCREENS or ADMIN_SCREENS in tests/test_roles.py")
    assert {"logins", "dictionary", "customer"} <= screens


def test_a_webguest_gets_403_on_every_admin_url(app):
    with app.app_context():
        alice = Customer(name="Alice", level="Customer", email="alice@example.com").save()
        guest = add_user("alice@example.com", "webguest", alice)
        rules = admin_rules(app)
    client = signed_in(app, guest)
    wrong = [f"{method} {url}: {status}" for _screen, method, url in rules
             if (status := request(client, method, url).status_code) != 403]
    assert not wrong, "a WebGuest reached admin URLs:\n  " + "\n  ".join(wrong)
    assert len(rules) > 50


def test_an_agent_gets_403_on_admin_screens_only(app):
    with app.app_context():
        agent = add_user("agent@example.com", "agent")
        rules = admin_rules(app)
    client = app.test_client()
    assert login(client, agent.email, STRONG).status_code == 302
    wrong = []
    for screen, method, url in rules:
        status = request(client, method, url).status_code
        if screen in ADMIN_SCREENS and status != 403:
            wrong.append(f"{method} {url}: {status}, not 403 (admins only)")
        elif screen in AGENT_SCREENS and (status == 403 or status >= 500):
            wrong.append(f"{method} {url}: {status} (agents use it)")
    assert not wrong, "\n  ".join(wrong)


def test_an_anonymous_visitor_is_sent_to_sign_in_from_every_admin_url(app):
    client = app.test_client()
    wrong = []
    for _screen, method, url in admin_rules(app):
        response = request(client, method, url)
        if response.status_code != 302 or not response.headers["Location"].startswith("/login"):
            wrong.append(f"{method} {url}: {response.status_code}")
    assert not wrong, "\n  ".join(wrong)


@pytest.mark.parametrize("url", ["/admin/", "/admin/customer/", "/admin/dictionary/"])
def test_an_archived_customers_webguest_is_refused_like_any_webguest(app, url):
    with app.app_context():
        bob = Customer(name="Bob", level="Customer", email="bob@example.com",
                       archived=True).save()
        guest = add_user("bob@example.com", "webguest", bob)
    # Its session is not even a session: the admin sends it to sign in.
    response = signed_in(app, guest).get(url)
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_the_menu_shows_an_agent_no_admin_screen(app):
    with app.app_context():
        agent = add_user("agent@example.com", "agent")
    client = app.test_client()
    login(client, agent.email, STRONG)
    page = client.get("/admin/").get_data(as_text=True)
    assert "/admin/customer/" in page and "/admin/seed/" in page
    for url in ("/admin/dictionary/", "/admin/logins/", "/admin/outbox/", "/admin/directory/"):
        assert url not in page, url
