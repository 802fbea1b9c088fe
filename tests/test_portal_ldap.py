"""Portal sign-in with the directory password, against a real slapd shaped like Active
Directory (tests/servers.py): a customer the connector made signs in by an LDAP bind
through that connector; a wrong or empty password, a disabled entry, another person's
password and LDAP filter syntax in the sign-in name or the stored key all fail, and no
bind is ever anonymous or without a password."""

from __future__ import annotations

import pytest

from admin_app.directory import bind, reader
from admin_app.directory.sync import run
from admin_app.models import Customer, User

from .helpers import submit

DIRECTORY_PASSWORD = "Directory-Secret-1"
OTHER_PASSWORD = "Someone-Elses-Secret-2"


@pytest.fixture
def synced(app, directory):
    """Two directory users made customers by a sync, each with a WebGuest login (which,
    as Make WebGuest Login makes it for a directory customer, has no local password)."""
    users = directory.add_users(1, userPassword=DIRECTORY_PASSWORD)
    users += directory.add_users(1, userPassword=OTHER_PASSWORD)
    with app.app_context():
        connector = directory.connector()
        connector.save()
        result = run(connector)
        assert result.status == "complete", result.reason
        for user in users:
            customer = Customer.objects.get(directory__key=user.key)
            User(email=user.mail, role="webguest", customer=customer).save()
        yield connector, users


@pytest.fixture
def binds(monkeypatch):
    """Every simple bind the app attempts: (user, password)."""
    seen: list[tuple[str, str]] = []
    real = reader._bind

    def recording(connector, url, tls):
        seen.append((connector.bind_user, connector.password))
        return real(connector, url, tls)

    monkeypatch.setattr(reader, "_bind", recording)
    return seen


def sign_in(client, email: str, password: str):
    return submit(client, "/portal/", {"email": email, "password": password})


def test_a_directory_customer_signs_in_with_the_directory_password(app, synced, binds):
    _, users = synced
    with app.test_client() as client:
        response = sign_in(client, users[0].mail, DIRECTORY_PASSWORD)
        assert response.status_code == 302, response.get_data(as_text=True)
        details = client.get("/portal/details/").get_data(as_text=True)
        assert "User 00000" in details and users[0].mail in details
    # The search as the connector's user, then a bind as the entry's DN.
    assert [user for user, _ in binds] == [synced[0].bind_user, users[0].dn]
    assert all(password for _, password in binds)


def test_a_wrong_password_or_someone_elses_does_not_sign_in(app, synced):
    _, users = synced
    with app.test_client() as client:
        assert sign_in(client, users[0].mail, "Not-The-Password-3").status_code == 401
        assert sign_in(client, users[0].mail, OTHER_PASSWORD).status_code == 401
        assert client.get("/portal/details/").status_code == 302


def test_an_empty_password_is_never_sent_to_the_directory(app, synced, binds):
    connector, users = synced
    with app.test_client() as client:
        assert sign_in(client, users[0].mail, "").status_code == 400
    with app.app_context():
        assert not bind.password_matches(connector, users[0].key, "")
        assert not bind.password_matches(connector, users[0].key, None)
    assert binds == []


def test_a_local_password_does_not_open_a_directory_customers_login(app, synced):
    _, users = synced
    with app.app_context():
        login = User.objects.get(email=users[0].mail)
        login.set_password("a local password nobody gave")
        login.save()
    with app.test_client() as client:
        assert sign_in(client, users[0].mail, "a local password nobody gave").status_code == 401


def test_a_disabled_directory_entry_cannot_sign_in(app, synced, directory):
    connector, users = synced
    directory.disable(users[0].dn)
    with app.app_context():
        assert not bind.password_matches(connector, users[0].key, DIRECTORY_PASSWORD)
    with app.test_client() as client:
        assert sign_in(client, users[0].mail, DIRECTORY_PASSWORD).status_code == 401


@pytest.mark.parametrize("name", ["*)(uid=*", "*", "user00000@example.test)(|(mail=*"])
def test_ldap_filter_syntax_in_the_sign_in_name_does_not_widen_anything(app, synced, binds,
                                                                         name):
    with app.test_client() as client:
        assert sign_in(client, name, DIRECTORY_PASSWORD).status_code == 401
        assert client.get("/portal/details/").status_code == 302
    assert binds == []  # no login has that name: the directory is not even asked


@pytest.mark.parametrize("key", ["*", "*)(objectClass=*", "dn:*",
                                 "dn:cn=*,ou=people,dc=example,dc=test",
                                 "00000000-0000-0000-0000-000000000000"])
def test_a_stored_key_with_filter_syntax_finds_nobody(app, synced, key):
    connector, _ = synced
    with app.app_context():
        assert not bind.password_matches(connector, key, DIRECTORY_PASSWORD)
        assert not bind.directory_password_matches({"connector": connector.name, "key": key},
                                                   DIRECTORY_PASSWORD)


def test_the_entry_found_must_be_the_one_whose_key_is_stored(app, synced):
    connector, users = synced
    with app.app_context():
        assert bind.password_matches(connector, users[1].key, OTHER_PASSWORD)
        assert not bind.password_matches(connector, users[1].key, DIRECTORY_PASSWORD)
        # Its DN is not its key (it has an objectGUID): a "dn:" key does not reach it.
        assert not bind.password_matches(connector, "dn:" + users[0].dn, DIRECTORY_PASSWORD)


def test_an_unknown_or_disabled_connector_signs_nobody_in(app, synced):
    connector, users = synced
    with app.app_context():
        mark = {"connector": "nonesuch", "key": users[0].key}
        assert not bind.directory_password_matches(mark, DIRECTORY_PASSWORD)
        connector.enabled = False
        connector.save()
        mark = {"connector": connector.name, "key": users[0].key}
        assert not bind.directory_password_matches(mark, DIRECTORY_PASSWORD)
