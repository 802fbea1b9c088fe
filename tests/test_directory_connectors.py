"""Connectors: what is stored, what is refused, the password kept out of sight, the scope
revision, and the read-only connector from the environment."""

from __future__ import annotations

import logging
import uuid

import mongoengine as me
import mongomock
import pytest

from admin_app.directory.connectors import (
    AD_ATTRIBUTE_MAP,
    DEFAULT_FILTER,
    Connector,
    all_connectors,
    connector_problems,
    default_connector_from_env,
)
from admin_app.directory.reader import read


@pytest.fixture
def store():
    me.connect(f"connectors_{uuid.uuid4().hex}", host="mongodb://localhost",
               mongo_client_class=mongomock.MongoClient, uuidRepresentation="standard")
    yield
    me.disconnect()


def connector(**fields) -> Connector:
    return Connector(**{"name": "ad", "servers": ["ldaps://dc1.example.com"],
                        "bind_user": "EXAMPLE\\svc-dictadmin", "password": "s3cret!",
                        "base_dns": ["OU=Staff,DC=example,DC=com"], **fields})


def test_a_new_connector_has_active_directory_defaults(store):
    saved = connector().save()
    again = Connector.objects.get(name="ad")
    assert again.id == saved.id
    assert again.filter == DEFAULT_FILTER
    assert again.attribute_map == AD_ATTRIBUTE_MAP
    assert again.org_attribute == "company" and again.org_policy == "create"
    assert (again.verify_certificates, again.connect_timeout, again.receive_timeout,
            again.retries) == (True, 5, 30, 2)
    assert (again.max_archive_count, again.max_archive_percent) == (10, 10)
    assert again.schedule is None and again.enabled and again.becomes == "customer"


def test_the_password_is_never_in_repr_str_or_logs(store, caplog):
    item = connector(password="s3cret!", servers=["ldap://127.0.0.1:9"], retries=0,
                     connect_timeout=0.5)
    assert "s3cret" not in repr(item) and "s3cret" not in str(item)
    caplog.set_level(logging.DEBUG)
    extract = read(item)
    assert not extract.complete
    assert "s3cret" not in extract.reason and "s3cret" not in caplog.text


def test_aliases_with_dots_are_stored(store):
    connector(org_aliases={"Acme Inc.": "Acme Manufacturing", "$weird": "X"}).save()
    item = Connector.objects.get(name="ad")
    assert item.org_aliases == {"Acme Inc.": "Acme Manufacturing", "$weird": "X"}
    item.org_aliases["A.B."] = "Y"  # in place: saved too
    item.save()
    assert Connector.objects.get(name="ad").org_aliases["A.B."] == "Y"


def test_a_change_of_scope_moves_the_config_revision(store):
    connector().save()
    item = Connector.objects.get(name="ad")
    assert item.config_revision == 1
    item.schedule = "02:30"
    item.password = "new"
    item.save()
    assert Connector.objects.get(name="ad").config_revision == 1  # not the scope
    for change in (lambda c: setattr(c, "filter", "(objectClass=user)"),
                   lambda c: setattr(c, "base_dns", ["OU=Other,DC=example,DC=com"]),
                   lambda c: c.attribute_map.__setitem__("title", "job_title"),
                   lambda c: setattr(c, "org_attribute", "o"),
                   lambda c: setattr(c, "becomes", "contact")):
        before = Connector.objects.get(name="ad").config_revision
        item = Connector.objects.get(name="ad")
        change(item)
        item.save()
        assert Connector.objects.get(name="ad").config_revision == before + 1
    assert item.bump_config_revision() == item.config_revision


@pytest.mark.parametrize(("fields", "words"), [
    ({"name": "default"}, "kept for the connector set by LDAP_URL"),
    ({"servers": []}, "at least one server"),
    ({"servers": ["http://dc1"]}, "is not a server address"),
    ({"servers": ["ldap://dc1:99999"]}, "port"),
    ({"servers": ["ldap://dc1/OU=x"]}, "base DN has its own box"),
    ({"bind_user": " "}, "never signs in anonymously"),
    ({"base_dns": []}, "at least one base DN"),
    ({"base_dns": ["not a dn"]}, "is not a DN"),
    ({"filter": "objectClass=user"}, "must be an LDAP filter"),
    ({"attribute_map": {"bad attr": "name"}}, "is not a directory attribute name"),
    ({"org_policy": "default"}, "Name the default Org"),
    ({"schedule": "2:30"}, "HH:MM"),
    ({"ca_file": "/x.pem", "verify_certificates": False}, "only used when"),
])
def test_a_connector_that_cannot_work_is_refused_in_words(store, fields, words):
    item = connector(**fields)
    assert any(words in problem for problem in connector_problems(item)), \
        connector_problems(item)
    with pytest.raises(me.ValidationError):
        item.save()


def test_the_environment_gives_a_read_only_default_connector(store):
    assert default_connector_from_env({}) is None
    config = {"LDAP_URL": "ldaps://dc1.example.com ldaps://dc2.example.com",
              "LDAP_BIND_DN": "svc@example.com", "LDAP_BIND_PASSWORD": "pw",
              "LDAP_BASE_DN": "OU=Staff,DC=example,DC=com; OU=Contractors,DC=example,DC=com"}
    item = default_connector_from_env(config)
    assert item.name == "default" and item.read_only and item.id is None
    assert item.servers == ["ldaps://dc1.example.com", "ldaps://dc2.example.com"]
    assert item.base_dns == ["OU=Staff,DC=example,DC=com", "OU=Contractors,DC=example,DC=com"]
    assert item.filter == DEFAULT_FILTER and item.attribute_map == AD_ATTRIBUTE_MAP
    assert connector_problems(item, stored=False) == []
    with pytest.raises(me.OperationError):
        item.save()

    connector(name="zeta").save()
    connector(name="alpha").save()
    assert [c.name for c in all_connectors(config)] == ["alpha", "zeta", "default"]
    assert [c.name for c in all_connectors({})] == ["alpha", "zeta"]
    assert not Connector.objects.get(name="alpha").read_only
