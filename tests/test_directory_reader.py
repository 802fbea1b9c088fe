"""The directory reader against a real OpenLDAP slapd shaped like Active Directory.

Every test reads as an ordinary directory user (`LDAP_SYNC_DN`), to whom slapd applies
AD's 1,000-entry limit on unpaged searches; see `tests/servers.py` for the server.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid

import ldap3
import pytest

from admin_app.directory.reader import Entry, canonical_guid, entry_key, read

from .servers import (
    LDAP_LIMITED_DN,
    LDAP_LIMITED_PASSWORD,
    LDAP_MOVED,
    LDAP_PEOPLE,
    LDAP_ROOT_DN,
    LDAP_ROOT_PASSWORD,
    LDAP_SYNC_DN,
    LDAP_SYNC_PASSWORD,
    free_port,
    ldap3_connection,
    slapd_server,
)


@pytest.fixture(scope="module")
def tls_directory(tmp_path_factory):
    with slapd_server(tmp_path_factory.mktemp("slapd-tls"), tls=True) as directory:
        directory.add_users(5)
        yield directory


def by_key(extract) -> dict[str, Entry]:
    return {entry.key: entry for entry in extract.entries}


# -- completeness ----------------------------------------------------------------------------

def test_2500_users_are_read_in_three_pages_and_the_read_is_complete(big_directory):
    extract = read(big_directory.connector())

    assert extract.complete, extract.reason
    assert extract.reason is None
    assert extract.pages == 3
    assert len(extract.entries) == 2500  # the computer account is filtered out
    assert set(by_key(extract)) == {user.key for user in big_directory.users}
    first = by_key(extract)[big_directory.users[0].key]
    assert first.dn == big_directory.users[0].dn
    assert first.attributes == {
        "displayName": ["User 00000"], "mail": ["user00000@example.test"],
        "department": ["Sales"], "physicalDeliveryOfficeName": ["Leeds"],
        "telephoneNumber": ["+44 113 0000000"], "company": ["Acme Ltd"],
        "userAccountControl": ["512"]}
    assert first.disabled is False


def test_the_server_is_shaped_like_ad_an_unpaged_search_stops_at_1000(big_directory):
    """The fixture's premise: an ordinary bind gets 1,000 entries and sizeLimitExceeded
    from an unpaged search; only the rootdn is unlimited."""
    with ldap3_connection(big_directory.url, LDAP_SYNC_DN, LDAP_SYNC_PASSWORD) as conn:
        conn.search(LDAP_PEOPLE, "(objectClass=user)", attributes=["cn"])
        assert conn.result["result"] == 4  # sizeLimitExceeded
        assert len(conn.entries) == 1000
    with ldap3_connection(big_directory.url, LDAP_ROOT_DN, LDAP_ROOT_PASSWORD) as conn:
        conn.search(LDAP_PEOPLE, "(objectClass=user)", attributes=["cn"])
        assert conn.result["result"] == 0
        assert len(conn.entries) == 2501  # the users and the computer


def test_a_size_limit_hit_mid_search_makes_the_read_incomplete(big_directory):
    # This account may read 1,500 entries in all, even paged: page 2 ends in a size limit.
    connector = big_directory.connector(bind_user=LDAP_LIMITED_DN,
                                        password=LDAP_LIMITED_PASSWORD)
    extract = read(connector)

    assert not extract.complete
    assert extract.reason.startswith("size limit exceeded while searching "
                                     f"'{LDAP_PEOPLE}' (after 1 complete page(s))")
    assert extract.pages == 1
    assert len(extract.entries) == 1500


def test_ldap3_paged_search_ends_silently_on_a_size_limit(big_directory):
    """Why the reader checks each page itself: ldap3's own paged search, unless the
    connection raises, ends at the failed page as if it were the last one."""
    with ldap3_connection(big_directory.url, LDAP_LIMITED_DN, LDAP_LIMITED_PASSWORD) as conn:
        found = list(conn.extend.standard.paged_search(
            LDAP_PEOPLE, "(objectClass=user)", attributes=["cn"], paged_size=1000,
            generator=True))
    assert len(found) == 1500  # no exception, no sign that 1,000 entries are missing


def test_slapd_stopped_between_pages_makes_the_read_incomplete(directory):
    directory.add_users(250)

    def stop_after_first_page(pages: int) -> None:
        if pages == 1:
            directory.stop()

    extract = read(directory.connector(), page_size=100, on_page=stop_after_first_page)

    assert not extract.complete
    assert extract.reason.startswith(
        f"the server stopped answering after 1 page(s) of '{LDAP_PEOPLE}'")
    assert len(extract.entries) == 100


def test_slapd_stopped_while_a_thread_reads_makes_the_read_incomplete(directory):
    """The same without a hook: the server goes away while tiny pages are being read."""
    directory.add_users(1000)
    results = []
    reader = threading.Thread(target=lambda: results.append(
        read(directory.connector(), page_size=1)), daemon=True)
    reader.start()
    time.sleep(0.3)
    directory.stop()
    reader.join(30)

    assert not reader.is_alive()
    [extract] = results
    assert not extract.complete
    assert "stopped answering" in extract.reason or "cannot reach" in extract.reason
    assert len(extract.entries) < 1000


def test_every_base_dn_is_read_and_a_missing_one_makes_the_read_incomplete(directory):
    directory.add_users(3)
    directory.add_users(2, ou=LDAP_MOVED)

    both = read(directory.connector(base_dns=[LDAP_PEOPLE, LDAP_MOVED]))
    assert both.complete and len(both.entries) == 5 and both.pages == 2

    typo = f"ou=peple,{LDAP_PEOPLE.split(',', 1)[1]}"
    extract = read(directory.connector(base_dns=[LDAP_PEOPLE, typo]))
    assert not extract.complete
    assert extract.reason.startswith(f"the base DN does not exist while searching '{typo}'")


def test_a_referral_for_the_base_dn_makes_the_read_incomplete(directory):
    directory.add_users(2)
    elsewhere = f"ou=elsewhere,{LDAP_PEOPLE}"
    directory.ldapadd(f"dn: {elsewhere}\nobjectClass: referral\nobjectClass: extensibleObject\n"
                      f"ou: elsewhere\nref: ldap://127.0.0.1:9/ou=elsewhere,dc=other,dc=test\n")

    # Under the base: a continuation reference, noted, not followed; the read completes.
    whole = read(directory.connector())
    assert whole.complete, whole.reason
    assert len(whole.entries) == 2
    assert whole.references == ["ldap://127.0.0.1:9/ou=elsewhere,dc=other,dc=test??sub"]

    # The base itself is elsewhere: this server cannot say who is there.
    extract = read(directory.connector(base_dns=[elsewhere]))
    assert not extract.complete
    assert extract.reason.startswith("referral while searching")
    assert "ldap://127.0.0.1:9/ou=elsewhere,dc=other,dc=test" in extract.reason


def test_a_filter_that_does_not_parse_makes_the_read_incomplete(big_directory):
    extract = read(big_directory.connector(filter="(&(objectClass=user)"))
    assert not extract.complete
    assert "is not a valid LDAP filter" in extract.reason


# -- signing in and reaching the server ------------------------------------------------------

def test_a_wrong_password_is_refused_with_a_reason(big_directory):
    extract = read(big_directory.connector(password="not-the-password", retries=2))
    assert not extract.complete
    assert extract.reason == (f"bind refused by {big_directory.url}: "
                              "check the bind user and password")
    assert extract.entries == [] and extract.pages == 0


@pytest.mark.parametrize(("fields", "words"), [
    ({"password": ""}, "no password is configured"),
    ({"password": None}, "no password is configured"),
    ({"bind_user": ""}, "never signs in anonymously"),
])
def test_no_anonymous_or_passwordless_bind_is_ever_tried(big_directory, fields, words):
    extract = read(big_directory.connector(**fields))
    assert not extract.complete
    assert words in extract.reason


def test_an_unreachable_server_gives_a_reason_within_the_timeouts(big_directory):
    closed = f"ldap://127.0.0.1:{free_port()}"
    started = time.monotonic()
    extract = read(big_directory.connector(servers=[closed], retries=2))

    assert time.monotonic() - started < 5
    assert not extract.complete
    assert extract.reason.startswith("no server could be reached (1 server(s), "
                                     "3 round(s) each): cannot reach " + closed)


def test_a_server_that_never_answers_times_out(big_directory):
    """Accepts the connection (the kernel's backlog) but never replies to the bind."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"ldap://127.0.0.1:{silent.getsockname()[1]}"
        started = time.monotonic()
        extract = read(big_directory.connector(servers=[url], receive_timeout=1, retries=1))
        elapsed = time.monotonic() - started

    assert not extract.complete
    assert extract.reason.startswith("no server could be reached")
    assert url in extract.reason
    assert elapsed < 6  # two attempts of 1 s each, and a short pause


def test_fail_over_to_the_second_server_reads_everything(big_directory):
    down = f"ldap://127.0.0.1:{free_port()}"
    extract = read(big_directory.connector(servers=[down, big_directory.url]))
    assert extract.complete, extract.reason
    assert len(extract.entries) == 2500


def test_ldaps_with_a_self_signed_certificate(tls_directory):
    untrusted = read(tls_directory.connector(servers=[tls_directory.ldaps_url]))
    assert not untrusted.complete
    assert untrusted.reason.startswith(f"certificate not trusted: {tls_directory.ldaps_url}: "
                                       "certificate verify failed")

    trusted = read(tls_directory.connector(servers=[tls_directory.ldaps_url],
                                           ca_file=str(tls_directory.ca_file)))
    assert trusted.complete, trusted.reason
    assert len(trusted.entries) == 5


def test_starttls_with_a_self_signed_certificate(tls_directory):
    untrusted = read(tls_directory.connector(starttls=True))
    assert not untrusted.complete
    assert untrusted.reason.startswith(f"certificate not trusted: {tls_directory.url}")

    trusted = read(tls_directory.connector(starttls=True, ca_file=str(tls_directory.ca_file)))
    assert trusted.complete, trusted.reason
    assert len(trusted.entries) == 5


def test_starttls_refused_by_a_server_without_tls(big_directory):
    extract = read(big_directory.connector(starttls=True))
    assert not extract.complete
    assert "StartTLS" in extract.reason or "certificate" in extract.reason


# -- identity and state ----------------------------------------------------------------------

def test_the_object_guid_key_survives_a_rename_and_a_move(directory):
    alice, bob = directory.add_users(2)
    renamed = directory.rename(alice.dn, "Alice Renamed")
    moved = directory.move(bob.dn, LDAP_MOVED)

    extract = read(directory.connector(base_dns=[LDAP_PEOPLE, LDAP_MOVED]))

    assert extract.complete
    entries = by_key(extract)
    assert set(entries) == {alice.key, bob.key}
    assert entries[alice.key].dn == renamed == f"cn=Alice Renamed,{LDAP_PEOPLE}"
    assert entries[bob.key].dn == moved == f"cn=User 00001,{LDAP_MOVED}"


def test_entry_uuid_is_the_key_without_an_object_guid_and_survives_a_move(directory):
    [carol] = directory.add_users(1, objectGUID=None)
    first = read(directory.connector(base_dns=[LDAP_PEOPLE, LDAP_MOVED]))
    [entry] = first.entries
    assert str(uuid.UUID(entry.key)) == entry.key  # canonical UUID text from entryUUID

    directory.move(carol.dn, LDAP_MOVED)
    [after] = read(directory.connector(base_dns=[LDAP_PEOPLE, LDAP_MOVED])).entries
    assert after.key == entry.key and after.dn != entry.dn


def test_the_object_guid_is_canonical_whatever_form_ldap3_gives(big_directory):
    """ldap3 gives raw bytes, or `{…}` text when it has read the schema; both (and the
    other forms people paste) become the same key."""
    user = big_directory.users[7]
    with ldap3_connection(big_directory.url, LDAP_SYNC_DN, LDAP_SYNC_PASSWORD,
                          get_info=ldap3.SCHEMA) as conn:
        conn.search(user.dn, "(objectClass=*)", ldap3.BASE, attributes=["objectGUID"])
        [found] = conn.response
    formatted = found["attributes"]["objectGUID"]
    assert isinstance(formatted, str) and formatted.startswith("{")
    raw = found["raw_attributes"]["objectGUID"][0]
    assert raw == user.guid

    assert canonical_guid(formatted) == canonical_guid(raw) == user.key
    assert canonical_guid(user.guid.hex()) == user.key
    assert canonical_guid("".join(f"\\{byte:02x}" for byte in user.guid)) == user.key
    assert canonical_guid(user.key.upper()) == user.key
    assert canonical_guid(b"\x00" * 5) is None
    assert canonical_guid("not a guid") is None
    # AD's byte order: the first three groups are little-endian.
    assert canonical_guid(bytes(range(16))) == "03020100-0504-0706-0809-0a0b0c0d0e0f"


def test_the_dn_is_the_key_when_there_is_no_stable_id():
    assert entry_key({}, "cn=X,dc=example,dc=test") == "dn:cn=X,dc=example,dc=test"
    assert entry_key({"entryuuid": [b"6F3A0A58-0000-1000-8000-000000000001"]}, "cn=X") == (
        "6f3a0a58-0000-1000-8000-000000000001")


def test_disabled_users_are_flagged(directory):
    alice, bob = directory.add_users(2)
    directory.disable(alice.dn)

    entries = by_key(read(directory.connector()))
    assert entries[alice.key].disabled is True
    assert entries[alice.key].attributes["userAccountControl"] == ["514"]
    assert entries[bob.key].disabled is False

    directory.enable(alice.dn)
    assert by_key(read(directory.connector()))[alice.key].disabled is False


def test_absent_attributes_are_empty_lists_and_deleted_users_are_gone(directory):
    alice, bob = directory.add_users(2, department=None, company=None)
    directory.delete(bob.dn)

    [entry] = read(directory.connector()).entries
    assert entry.key == alice.key
    assert entry.attributes["department"] == [] and entry.attributes["company"] == []


def test_the_attribute_map_decides_what_is_read(big_directory):
    connector = big_directory.connector(attribute_map={"sAMAccountName": "login"},
                                        org_attribute="")
    entry = by_key(read(connector))[big_directory.users[3].key]
    assert entry.attributes == {"sAMAccountName": ["user00003"], "userAccountControl": ["512"]}
