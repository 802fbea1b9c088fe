"""Read a connector's people from the directory, and say whether that was all of them.

`read(connector)` signs in (never anonymously), runs one RFC 2696 paged search per base
DN and returns an `Extract`: the entries, and `complete`, which is True only when every
base DN's search ended with result `success` and an empty paging cookie. Anything else
(a bind refused, no server reachable, a certificate not trusted, a size or time limit,
a referral, the connection lost between pages, a base DN that does not exist) leaves
`complete` False with the `reason` in words. `read` never raises for the directory's
problems: the sync decides from `complete` whether anybody may be archived.

Why not ldap3's `extend.standard.paged_search`: unless the connection raises on errors,
its generator stops at the first page that has no cookie, and a page that failed has
none, so a size limit or an error reads as "that was everyone"
(`test_ldap3_paged_search_ends_silently_on_a_size_limit` shows it against slapd). Here
each page's result code and the paging control are checked.

**Identity.** `Entry.key` is the entry's stable id: `objectGUID` as canonical UUID text
(lower case, 8-4-4-4-12, Active Directory's byte order), else `entryUUID` (OpenLDAP and
most other directories), else `"dn:" + DN`. A rename or a move keeps the key.
"""

from __future__ import annotations

import contextlib
import logging
import math
import re
import ssl
import time
import typing as t
import urllib.parse
import uuid
import warnings
from dataclasses import dataclass, field

from ldap3 import NONE, SIMPLE, SUBTREE, Connection, Server, Tls
from ldap3.core import exceptions as ldap_errors

if t.TYPE_CHECKING:
    from .connectors import Connector

log = logging.getLogger(__name__)

PAGED_RESULTS = "1.2.840.113556.1.4.319"  # RFC 2696's control
MAX_PAGE_SIZE = 1000  # Active Directory's default MaxPageSize
ACCOUNT_DISABLED = 0x2  # userAccountControl's ACCOUNTDISABLE bit
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_SSL_REASON = re.compile(r"\[SSL: [A-Z_]+\] ([^(]+)")
_HEX = re.compile(r"^[0-9a-f]{32}$")
_ESCAPED = re.compile(r"^(\\[0-9a-f]{2}){16}$")

# LDAP result codes with words people can act on.
_RESULTS = {
    3: "time limit exceeded",
    4: "size limit exceeded",
    10: "referral",
    11: "administrative limit exceeded",
    32: "the base DN does not exist",
    50: "not allowed to read",
    51: "the server is busy",
    52: "the server is unavailable",
    53: "the server is unwilling to perform the search",
    80: "server error",
}


@dataclass(frozen=True)
class Entry:
    key: str  # objectGUID as canonical UUID text, else entryUUID, else "dn:" + DN
    dn: str
    # The connector's mapped attributes, its Org attribute and userAccountControl, named
    # as the connector names them; values as text; an empty list when absent.
    attributes: dict[str, list[str]]
    disabled: bool  # Active Directory's userAccountControl bit 2 (ACCOUNTDISABLE) is set


@dataclass
class Extract:
    entries: list[Entry]
    complete: bool  # every base DN's paged search ended with success and an empty cookie
    reason: str | None  # why not complete, in words
    pages: int
    # Continuation references (searchResRef: other naming contexts, e.g. Active
    # Directory's DomainDnsZones under a domain root) met and not followed.
    references: list[str] = field(default_factory=list)


class _Failed(Exception):
    """Ends a read with `reason`."""


def read(connector: Connector, *, page_size: int = MAX_PAGE_SIZE,
         on_page: t.Callable[[int], None] | None = None) -> Extract:
    """Every entry the connector selects, and whether that is provably all of them.

    `page_size` is capped at 1,000 (AD's limit). `on_page(pages_read)` is called after
    each page that succeeded (tests stop the server there)."""
    page_size = max(1, min(int(page_size), MAX_PAGE_SIZE))
    extract = Extract(entries=[], complete=False, reason=None, pages=0)
    connection = None
    try:
        connection = _connect(connector)
        wanted = _wanted_attributes(connector)
        for base_dn in connector.base_dns:
            _search(connection, connector, base_dn, wanted, page_size, extract, on_page)
        extract.complete = True
    except _Failed as failure:
        extract.reason = str(failure)
    finally:
        if connection is not None:
            _close(connection)
    if not extract.complete:
        log.warning("directory read for connector %r incomplete: %s", connector.name,
                    extract.reason)
    return extract


# -- signing in -----------------------------------------------------------------------------

def _connect(connector: Connector) -> Connection:
    """A bound connection to the first server that answers, trying the list in order
    `retries + 1` times. A refused bind ends at once (more tries would lock the account)."""
    if not connector.servers:
        raise _Failed("no server is configured")
    if not (connector.bind_user or "").strip():
        raise _Failed("no bind user is configured: Dictadmin never signs in anonymously")
    if not connector.password:
        raise _Failed("no password is configured for the bind user: Dictadmin never "
                      "signs in without one")
    tls = _tls(connector)
    failures: list[str] = []
    rounds = max(0, connector.retries or 0) + 1
    for round_ in range(rounds):
        if round_:
            time.sleep(min(1.0, 0.2 * round_))
        for url in connector.servers:
            try:
                return _bind(connector, url, tls)
            except _Unreachable as problem:
                failures.append(str(problem))
    unique = list(dict.fromkeys(failures))
    if all(failure.startswith("certificate not trusted") for failure in unique):
        raise _Failed("; ".join(unique) + ". Give the connector the CA file that signed "
                      "the server's certificate")
    raise _Failed(f"no server could be reached ({len(connector.servers)} server(s), "
                  f"{rounds} round(s) each): " + "; ".join(unique))


class _Unreachable(Exception):
    """This server, this time: try the next."""


def _tls(connector: Connector) -> Tls:
    if connector.verify_certificates:
        return Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=connector.ca_file or None)
    return Tls(validate=ssl.CERT_NONE)


def _bind(connector: Connector, url: str, tls: Tls) -> Connection:
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme.lower() not in ("ldap", "ldaps") or not parts.hostname:
        raise _Unreachable(f"{url!r} is not an ldap:// or ldaps:// address")
    server = Server(url.strip(), connect_timeout=connector.connect_timeout, tls=tls,
                    get_info=NONE)
    connection = Connection(
        server, user=connector.bind_user, password=connector.password,
        authentication=SIMPLE,
        receive_timeout=max(1, math.ceil(connector.receive_timeout or 30)),
        auto_referrals=False, raise_exceptions=False, read_only=True, check_names=False,
        return_empty_attributes=False)
    try:
        with warnings.catch_warnings():
            # ldap3 2.9.1 checks the certificate's names with ssl.match_hostname, which
            # Python 3.7+ calls deprecated (and 3.12 lacks: ldap3 then uses its own copy).
            warnings.filterwarnings("ignore", "ssl.match_hostname", DeprecationWarning)
            connection.open()
            if connector.starttls and not server.ssl and not connection.start_tls():
                _close(connection)
                raise _Unreachable(f"StartTLS refused by {url}: "
                                   f"{_describe(connection.result)}")
        if connection.bind():
            return connection
        result = connection.result or {}
    except ldap_errors.LDAPException as error:
        _close(connection)
        raise _Unreachable(_connection_problem(url, error)) from None
    except OSError as error:
        _close(connection)
        raise _Unreachable(f"cannot reach {url}: {error}") from None
    _close(connection)
    if result.get("result") == 49:  # invalidCredentials
        raise _Failed(f"bind refused by {url}: check the bind user and password")
    raise _Failed(f"bind refused by {url}: {_describe(result)}")


def _connection_problem(url: str, error: Exception) -> str:
    text = str(error)
    lowered = text.lower()
    if "certificate" in lowered or "ssl" in lowered and "verify" in lowered:
        found = _SSL_REASON.search(text)
        return f"certificate not trusted: {url}: {found.group(1).strip() if found else text}"
    if isinstance(error, ldap_errors.LDAPStartTLSError):
        return f"StartTLS failed on {url}: {text}"
    if "timed out" in lowered or "timeout" in lowered:
        return f"cannot reach {url}: no answer within the time allowed ({text})"
    return f"cannot reach {url}: {text}"


def _close(connection: Connection) -> None:
    """Unbind, and close the socket whatever state it is in: ldap3 leaves the socket of
    a failed connect or TLS handshake open."""
    with contextlib.suppress(ldap_errors.LDAPException, OSError):
        connection.unbind()
    sock = getattr(connection, "socket", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.close()


# -- searching ------------------------------------------------------------------------------

def _wanted_attributes(connector: Connector) -> list[str]:
    names = [*(connector.attribute_map or {}), connector.org_attribute or "",
             "userAccountControl"]
    return [*dict.fromkeys(name for name in names if name), "objectGUID", "entryUUID"]


def _search(connection: Connection, connector: Connector, base_dn: str, wanted: list[str],
            page_size: int, extract: Extract, on_page: t.Callable[[int], None] | None) -> None:
    cookie: bytes | None = None
    base_pages = 0
    while True:
        try:
            connection.search(base_dn, connector.filter, SUBTREE, attributes=wanted,
                              paged_size=page_size, paged_criticality=True,
                              paged_cookie=cookie)
        except ldap_errors.LDAPInvalidFilterError as error:
            raise _Failed(f"the filter {connector.filter!r} is not a valid LDAP filter: "
                          f"{error}") from None
        except ldap_errors.LDAPInvalidDnError as error:
            raise _Failed(f"the base DN {base_dn!r} is not a valid DN: {error}") from None
        except (ldap_errors.LDAPException, OSError) as error:
            raise _Failed(_lost(base_dn, base_pages, error)) from None
        result = connection.result
        if not result:
            raise _Failed(_lost(base_dn, base_pages, "no result came back"))
        for item in connection.response or []:
            if item.get("type") == "searchResEntry":
                extract.entries.append(_entry(item, connector))
            elif item.get("type") == "searchResRef":
                extract.references.extend(item.get("uri") or [])
        code = result.get("result")
        if code != 0:
            raise _Failed(_search_problem(base_dn, base_pages, result))
        control = (result.get("controls") or {}).get(PAGED_RESULTS)
        if not control:
            raise _Failed(f"the server did not page the search of {base_dn!r} (no paged "
                          "results control in its answer), so its completeness is unproven")
        base_pages += 1
        extract.pages += 1
        if on_page is not None:
            on_page(extract.pages)
        cookie = (control.get("value") or {}).get("cookie")
        if not cookie:
            return


def _lost(base_dn: str, pages: int, error: t.Any) -> str:
    return (f"the server stopped answering after {pages} page(s) of {base_dn!r}: "
            f"{error}")


def _search_problem(base_dn: str, pages: int, result: dict[str, t.Any]) -> str:
    code = result.get("result")
    where = f"searching {base_dn!r} (after {pages} complete page(s))"
    if code == 10:
        referrals = ", ".join(result.get("referrals") or []) or "elsewhere"
        return (f"referral while {where}: the server sent the search to {referrals}; "
                "point the connector at a server that holds this base DN")
    return (f"{_RESULTS.get(code, 'the search failed')} while {where}: {_describe(result)}; "
            "nobody may be taken as missing")


def _describe(result: dict[str, t.Any] | None) -> str:
    result = result or {}
    words = [str(result.get("description") or ""), str(result.get("message") or "").strip()]
    return " - ".join(word for word in words if word) + f" (result {result.get('result')})"


# -- entries --------------------------------------------------------------------------------

def _entry(item: dict[str, t.Any], connector: Connector) -> Entry:
    raw = {name.lower(): values for name, values in (item.get("raw_attributes") or {}).items()}
    dn = item.get("dn") or ""
    names = [*(connector.attribute_map or {}), connector.org_attribute or "",
             "userAccountControl"]
    attributes = {name: [_text(value) for value in raw.get(name.lower(), [])]
                  for name in dict.fromkeys(names) if name}
    return Entry(key=entry_key(raw, dn), dn=dn, attributes=attributes,
                 disabled=is_disabled(attributes.get("userAccountControl") or []))


def entry_key(raw: t.Mapping[str, list[t.Any]], dn: str) -> str:
    """The stable id of an entry whose raw attributes (lower-cased names) are `raw`."""
    for value in raw.get("objectguid") or []:
        guid = canonical_guid(value)
        if guid:
            return guid
    for value in raw.get("entryuuid") or []:
        text = _text(value).strip().lower()
        if _UUID.match(text):
            return text
    return "dn:" + dn


def canonical_guid(value: t.Any) -> str | None:
    """An objectGUID as lower-case 8-4-4-4-12 text, whatever form it comes in: the 16
    raw bytes (Active Directory's little-endian order, as on the wire), ldap3's
    formatted `{…}` text, plain UUID text, 32 hex digits or `\\xx`-escaped bytes (both
    the raw bytes in wire order). None when it is none of these."""
    if isinstance(value, (bytes, bytearray)):
        if len(value) == 16:
            return str(uuid.UUID(bytes_le=bytes(value)))
        try:
            value = bytes(value).decode("ascii")
        except UnicodeDecodeError:
            return None
    if not isinstance(value, str):
        return None
    text = value.strip().lower()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1]
    if _UUID.match(text):
        return text
    if _ESCAPED.match(text):
        text = text.replace("\\", "")
    if _HEX.match(text):
        return str(uuid.UUID(bytes_le=bytes.fromhex(text)))
    return None


def is_disabled(values: list[str]) -> bool:
    for value in values:
        try:
            return bool(int(value.strip()) & ACCOUNT_DISABLED)
        except ValueError:
            continue
    return False


def _text(value: t.Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", errors="replace")
    return str(value)
