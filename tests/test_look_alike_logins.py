"""A login whose address looks the same as another login's cannot be made, on any way in.

`аgent@example.com` (a Cyrillic "а"), `agent@exаmple.com` and a fullwidth
`ａgent@example.com` beside `agent@example.com` would let one login pass itself off as
another on every screen and in the audit log. Each is refused, with one sentence naming
the existing login, by the Logins screen, Make WebGuest Login, `flask user create` and
`flask setup`'s first admin, on both stores; sign-in finds a login whatever the case or
Unicode form of the typed address; and a store made before the check gets its logins
keyed once, after which it refuses look-alikes too.
"""

from __future__ import annotations

from html import unescape

import mongoengine
import pytest
from werkzeug.security import generate_password_hash

from admin_app import demo
from admin_app.models import Customer, User
from admin_app.security import accounts, audit, logins_upkeep

from .helpers import login, submit

EXISTING = "agent@example.com"
STRONG = "a long enough passphrase 42"
# Each look-alike of EXISTING, and the one sentence that refuses it.
LOOK_ALIKES = {
    "\u0430gent@example.com": "\u0430gent@example.com looks the same as the existing login "
                              "agent@example.com (it has \u0430, cyrillic small letter a), so "
                              "it cannot be a login of its own.",
    "agent@ex\u0430mple.com": "agent@ex\u0430mple.com looks the same as the existing login "
                              "agent@example.com (it has \u0430, cyrillic small letter a), so "
                              "it cannot be a login of its own.",
    # NFKC makes the fullwidth "ａ" a plain "a": the very address, in another form.
    "\uff41gent@example.com": "A login for agent@example.com already exists.",
}


def make_existing(app, password: str | None = STRONG) -> None:
    with app.app_context():
        accounts.create(EXISTING, "agent", password=password)


def logins(app) -> list[str]:
    with app.app_context():
        return sorted(User.objects.scalar("email"))


def page_text(response) -> str:
    return unescape(response.get_data(as_text=True))


# -- every way in ------------------------------------------------------------------------------

def test_the_logins_screen_refuses_each_look_alike_and_makes_a_distinct_login(store_app,
                                                                            store_client):
    make_existing(store_app)
    before = logins(store_app)
    for address, sentence in LOOK_ALIKES.items():
        refused = submit(store_client, "/admin/logins/new/", {"email": address, "role": "agent"})
        assert refused.status_code == 200
        assert sentence in page_text(refused), address
        assert 'id="set-password-link"' not in page_text(refused)
    assert logins(store_app) == before
    made = submit(store_client, "/admin/logins/new/", {"email": "agent2@example.com",
                                                       "role": "admin"})
    assert 'id="set-password-link"' in page_text(made)
    with store_app.app_context():
        assert User.objects.get(email="agent2@example.com").role == "admin"
        assert [e.subject for e in audit.events(event="login_created")] \
            == ["agent2@example.com", EXISTING]


def test_make_webguest_login_refuses_each_look_alike(store_app, store_client):
    with store_app.app_context():
        assert demo.load().ok
        alice = Customer.objects.get(name="Alice Carter")
    make_existing(store_app)
    url = f"/admin/webguest/?customer={alice.pk}"
    for address, sentence in LOOK_ALIKES.items():
        refused = submit(store_client, url, {"email": address})
        assert sentence in page_text(refused), address
    with store_app.app_context():
        assert User.objects(role="webguest").count() == 0
    made = submit(store_client, url, {"email": "Alice.Portal@Example.com"})
    assert 'id="set-password-link"' in page_text(made)
    with store_app.app_context():
        assert User.objects.get(role="webguest").email == "alice.portal@example.com"


def test_user_create_refuses_each_look_alike_before_asking_for_a_password(store_app):
    make_existing(store_app)
    runner = store_app.test_cli_runner()
    typed = f"{STRONG}\n{STRONG}\n"
    for address, sentence in LOOK_ALIKES.items():
        result = runner.invoke(args=["user", "create", address], input=typed)
        assert result.exit_code == 1, result.output
        assert sentence in result.output, result.output
        assert "Password:" not in result.output
    assert logins(store_app) == sorted(["admin@example.com", EXISTING])
    made = runner.invoke(args=["user", "create", "Agent.Two@Example.com"], input=typed)
    assert made.exit_code == 0, made.output
    assert "Created agent login agent.two@example.com." in made.output


def test_setup_refuses_a_first_admin_that_looks_like_a_login(store_app):
    runner = store_app.test_cli_runner()
    with store_app.app_context():
        User.objects.delete()  # a store with an agent and no admin yet
    make_existing(store_app)
    for address, sentence in LOOK_ALIKES.items():
        store_app.config["ADMIN_EMAIL"] = address
        result = runner.invoke(args=["setup", "--no-demo"])
        assert result.exit_code == 1, result.output
        assert f"ADMIN_EMAIL cannot be the first admin's login. {sentence}" in result.output
    assert logins(store_app) == [EXISTING]
    store_app.config["ADMIN_EMAIL"] = "Boss@Example.com"
    result = runner.invoke(args=["setup", "--no-demo"])
    assert result.exit_code == 0, result.output
    assert "Sign in as boss@example.com with the password in ADMIN_PASSWORD." in result.output
    with store_app.app_context():
        made = audit.AuditEvent.objects.get(event="login_created", subject="boss@example.com")
        assert (made.area, made.detail) == ("cli", "the first admin login, made by flask setup")


def test_the_store_refuses_a_second_login_with_the_same_skeleton(store_app, monkeypatch):
    """Two look-alikes made at the same moment both pass the check; the unique index
    keeps the second out, and `create` says so in the same sentence."""
    make_existing(store_app)
    with store_app.app_context():
        with pytest.raises(mongoengine.NotUniqueError):
            User(email="\u0430gent@example.com", role="agent").save()
        # The check passes, as for a request that checked before the other one saved.
        monkeypatch.setattr(accounts, "checked_address", lambda email: email)
        with pytest.raises(accounts.LoginRefused) as refused:
            accounts.create("\u0430gent@example.com", "agent")
        assert str(refused.value) == LOOK_ALIKES["\u0430gent@example.com"]
        assert sorted(User.objects.scalar("email")) == ["admin@example.com", EXISTING]


# -- sign-in ----------------------------------------------------------------------------------

def fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" and c != "@" else c for c in text)


def typed_forms(address: str) -> list[str]:
    """How a person may type `address`: in other case, in fullwidth letters."""
    name, domain = address.split("@")
    return [f"{name.capitalize()}@{domain.upper()}", fullwidth(address),
            f"{fullwidth(name.upper())}@{domain.capitalize()}"]


def test_sign_in_finds_the_login_whatever_the_case_or_form_of_the_address(store_app):
    make_existing(store_app)
    with store_app.app_context():
        customer = Customer(name="Gus Guest", level="Customer").save()
        accounts.create("guest@example.com", "webguest", customer=customer, password=STRONG)
    for typed in typed_forms(EXISTING):
        client = store_app.test_client()
        assert login(client, typed, STRONG).status_code == 302, typed
        assert client.get("/admin/").status_code == 200
    for typed in typed_forms("guest@example.com"):
        portal = submit(store_app.test_client(), "/portal/", {"email": typed,
                                                              "password": STRONG})
        assert portal.status_code == 302, typed
    # A look-alike is another address: it signs in as nobody.
    assert login(store_app.test_client(), "\u0430gent@example.com", STRONG).status_code == 401
    with store_app.app_context():
        assert {e.subject for e in audit.events(event="sign_in")} \
            == {EXISTING, "guest@example.com"}


# -- a store made before the check ---------------------------------------------------------------

def legacy_store(app) -> None:
    """The users collection as an older version left it: no skeletons, no marker, a
    fullwidth address only lowered, and two logins that look the same."""
    with app.app_context():
        users = User._get_collection()
        users.update_many({}, {"$unset": {"skeleton": ""}})
        hashed = generate_password_hash(STRONG)
        for email in (EXISTING, "\uff42ob@example.com", "carol@example.com",
                      "c\u0430rol@example.com"):
            users.insert_one({"email": email, "role": "agent", "active": True,
                              "password_hash": hashed, "session_version": 0})
        app_db = users.database
        app_db[logins_upkeep.MARKER].delete_many({})
        assert users.count_documents({"skeleton": {"$exists": True}}) == 0


def test_setup_keys_the_logins_of_an_older_store_and_then_refuses_look_alikes(store_app):
    legacy_store(store_app)
    runner = store_app.test_cli_runner()
    result = runner.invoke(args=["setup", "--no-demo"])
    assert result.exit_code == 0, result.output
    assert "Logins: 4 given the key that refuses look-alike addresses." in result.output
    assert "Login \uff42ob@example.com is now bob@example.com (its address in normal form)." \
        in result.output
    assert ("Login c\u0430rol@example.com looks the same as the older login "
            "carol@example.com: disable the one that should not be there.") in result.output
    with store_app.app_context():
        keys = {doc["email"]: doc.get("skeleton") for doc in User._get_collection().find()}
    assert keys == {"admin@example.com": "admin@example.com", EXISTING: EXISTING,
                    "bob@example.com": "bob@example.com",
                    "carol@example.com": "carol@example.com", "c\u0430rol@example.com": None}
    again = runner.invoke(args=["setup", "--no-demo"])  # once done, never again
    assert again.exit_code == 0, again.output
    assert not any(words in again.output for words in ("given the key", "is now",
                                                        "looks the same")), again.output

    admin = store_app.test_client()
    assert login(admin).status_code == 302
    for address, sentence in LOOK_ALIKES.items():
        refused = submit(admin, "/admin/logins/new/", {"email": address, "role": "agent"})
        assert sentence in page_text(refused), address
    refused = submit(admin, "/admin/logins/new/", {"email": "b\u03bfb@example.com",
                                                          "role": "agent"})  # Greek omicron
    assert ("b\u03bfb@example.com looks the same as the existing login bob@example.com (it "
            "has \u03bf, greek small letter omicron), so it cannot be a login of its own."
            ) in page_text(refused)
    # The renamed login signs in by its plain address.
    assert login(store_app.test_client(), "bob@example.com", STRONG).status_code == 302


def test_without_setup_the_first_login_made_keys_the_older_logins_first(store_app):
    legacy_store(store_app)
    with store_app.app_context():
        assert not logins_upkeep.done()
        with pytest.raises(accounts.LoginRefused) as refused:
            accounts.create("agent@ex\u0430mple.com", "agent")
        assert str(refused.value) == LOOK_ALIKES["agent@ex\u0430mple.com"]
        assert logins_upkeep.done()
        assert User.objects.get(email=EXISTING).skeleton == EXISTING
        assert accounts.create("dave@example.com", "agent").skeleton == "dave@example.com"
