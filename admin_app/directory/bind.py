"""Sign-in with the directory password, for customers a directory connector made.

Such a customer's record says which connector made it and the entry's stable key
(`directory = {connector, key}`, see `reader.entry_key`). To check a password, the
connector's own bind user searches for that entry by the stored key, never by anything
the visitor typed, so a sign-in name such as `*)(uid=*` cannot widen the search; the
entry must still be in the connector's base DNs and filter, and enabled. Then a fresh
connection binds as the entry's DN with the password given, through the connector's
servers and TLS settings (the reader's connection making). An empty password is never
sent: many directories take a simple bind with a DN and no password as an anonymous
bind, which succeeds whoever asks.
"""

from __future__ import annotations

import logging
import re
import typing as t
import uuid
from dataclasses import dataclass

from ldap3 import BASE, SUBTREE
from ldap3.core import exceptions as ldap_errors
from ldap3.utils.conv import escape_bytes, escape_filter_chars

from . import reader
from .connectors import all_connectors

if t.TYPE_CHECKING:
    from ldap3 import Connection

    from .connectors import Connector

log = logging.getLogger(__name__)

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
# OpenLDAP's schema for objectGUID has no equality rule (an `=` filter never matches);
# octetStringMatch, named in an extensible filter, compares the bytes. Active Directory
# matches objectGUID with `=`, which is tried first.
OCTET_STRING_MATCH = "2.5.13.17"
_ATTRIBUTES = ["objectGUID", "entryUUID", "userAccountControl"]


@dataclass(frozen=True)
class _EntryBind:
    """The connector's servers, TLS and timeouts, signing in as one entry."""

    servers: list[str]
    bind_user: str
    password: str
    retries: int
    connect_timeout: float
    receive_timeout: int
    starttls: bool
    verify_certificates: bool
    ca_file: str | None


def connector_named(name: t.Any) -> Connector | None:
    """The stored connector of that name, or the environment's `default`."""
    if not isinstance(name, str) or not name:
        return None
    return next((c for c in all_connectors() if c.name == name), None)


def directory_password_matches(mark: t.Any, password: t.Any) -> bool:
    """Whether `password` is the directory password of the entry a record's `directory`
    mark names. False (never an exception) for anything else: no such connector, the
    entry gone, disabled or out of the connector's scope, the directory unreachable."""
    if not isinstance(mark, dict):
        return False
    connector = connector_named(mark.get("connector"))
    if connector is None or not connector.enabled:
        return False
    return password_matches(connector, mark.get("key"), password)


def password_matches(connector: Connector, key: t.Any, password: t.Any) -> bool:
    """Bind as the entry with stable key `key` using `password`."""
    if not isinstance(password, str) or not password or not isinstance(key, str) or not key:
        return False  # an empty password would be an anonymous bind: never sent
    try:
        service = reader._connect(connector)
    except reader._Failed as failure:
        log.warning("directory sign-in through connector %r: %s", connector.name, failure)
        return False
    try:
        dn = _entry_dn(service, connector, key)
    finally:
        reader._close(service)
    if not dn:
        return False
    as_entry = _EntryBind(
        servers=list(connector.servers), bind_user=dn, password=password,
        retries=connector.retries or 0, connect_timeout=connector.connect_timeout,
        receive_timeout=connector.receive_timeout, starttls=bool(connector.starttls),
        verify_certificates=bool(connector.verify_certificates), ca_file=connector.ca_file)
    try:
        connection = reader._connect(as_entry)  # type: ignore[arg-type]
    except reader._Failed:
        return False  # refused (wrong password) or unreachable: either way, not signed in
    reader._close(connection)
    return True


def _entry_dn(service: Connection, connector: Connector, key: str) -> str | None:
    """The DN of the enabled entry whose stable key is `key`, searched as the connector's
    bind user within its base DNs and filter; None when there is not exactly one."""
    if key.startswith("dn:"):
        dn = key[3:]
        searches = [(dn, BASE, connector.filter)]
    elif _UUID.match(key):
        guid = escape_bytes(uuid.UUID(key).bytes_le)
        searches = [(base, SUBTREE, f"(&{connector.filter}{condition})")
                    for condition in (f"(objectGUID={guid})",
                                      f"(objectGUID:{OCTET_STRING_MATCH}:={guid})",
                                      f"(entryUUID={escape_filter_chars(key)})")
                    for base in connector.base_dns]
    else:
        return None
    for base, scope, search_filter in searches:
        if key.startswith("dn:") and not _within(base, connector.base_dns):
            return None
        found = _search(service, base, scope, search_filter)
        matching = [entry for entry in found
                    if reader.entry_key(entry[1], entry[0]) == key]
        if len(matching) > 1:
            log.warning("directory sign-in: %d entries have the key %s", len(matching), key)
            return None
        if matching:
            dn, raw = matching[0]
            if reader.is_disabled([reader._text(v) for v in raw.get("useraccountcontrol", [])]):
                return None
            return dn
    return None


def _within(dn: str, bases: t.Iterable[str]) -> bool:
    from ldap3.utils.dn import safe_dn

    try:
        normal = safe_dn(dn).lower()
        return any(normal == safe_dn(b).lower() or normal.endswith("," + safe_dn(b).lower())
                   for b in bases)
    except ldap_errors.LDAPException:
        return False


def _search(service: Connection, base: str, scope: str,
            search_filter: str) -> list[tuple[str, dict[str, list[t.Any]]]]:
    """(DN, raw attributes with lower-cased names) of each entry found; nothing when the
    search fails (a directory that does not know the matching rule, a DN gone)."""
    try:
        service.search(base, search_filter, scope, attributes=_ATTRIBUTES, size_limit=2)
    except (ldap_errors.LDAPException, OSError) as error:
        log.info("directory sign-in search under %r failed: %s", base, error)
        return []
    return [(item.get("dn") or "",
             {name.lower(): values for name, values in (item.get("raw_attributes")
                                                        or {}).items()})
            for item in service.response or [] if item.get("type") == "searchResEntry"]
