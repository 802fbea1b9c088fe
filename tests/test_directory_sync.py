"""The sync side of directory sync, with stand-in extracts (no directory server).

What a run plans for each entry and record, that the load writes exactly that plan, the
guards that keep a bad read from archiving people, the lease, and `flask ldap`.
slapd-backed end-to-end tests are in test_directory_slapd.py.
"""

from __future__ import annotations

import threading

import mongoengine
import pytest

from admin_app import records
from admin_app.customising.fields import update_field
from admin_app.directory import runs
from admin_app.directory.approvals import approve
from admin_app.directory.cli import due
from admin_app.directory.connectors import Connector
from admin_app.directory.mapping import check_map
from admin_app.directory.orgs import normalise
from admin_app.directory.plan import plan
from admin_app.directory.reader import Entry, Extract
from admin_app.directory.runs import SyncRun
from admin_app.directory.sync import apply, run
from admin_app.models import Customer
from admin_app.records import RecordChange

from .conftest import make_app
from .helpers import field_error, submit


def connector(name: str = "ad", **changes) -> Connector:
    values = {"name": name, "servers": ["ldap://127.0.0.1:1"], "bind_user": "cn=sync",
              "password": "secret", "base_dns": ["ou=people,dc=example,dc=com"], **changes}
    return Connector(**values).save()


def person(n: int, *, key: str | None = None, disabled: bool = False, **attributes) -> Entry:
    values = {"displayName": [f"Person {n}"], "mail": [f"p{n}@example.com"],
              "department": ["Sales"], **{k: ([v] if isinstance(v, str) else v)
                                          for k, v in attributes.items()}}
    return Entry(key or f"guid-{n}", f"cn=p{n},ou=people,dc=example,dc=com", values, disabled)


def extract(entries: list[Entry], complete: bool = True, reason: str | None = None) -> Extract:
    return Extract(entries, complete, reason, 1)


def sync(conn: Connector, entries: list[Entry] | Extract, **options) -> SyncRun:
    read = entries if isinstance(entries, Extract) else extract(entries)
    return run(conn, read=lambda _c: read, **options)


def mine(conn: Connector) -> list[dict]:
    return list(Customer._get_collection().find({"directory.connector": conn.name}))


def by_key(conn: Connector, key: str) -> dict:
    return Customer._get_collection().find_one({"directory.key": key,
                                                "directory.connector": conn.name})


# -- plan and apply ---------------------------------------------------------------------------

def test_a_first_run_creates_and_a_second_reports_all_unchanged_and_writes_nothing(store_app):
    with store_app.app_context():
        conn = connector()
        first = sync(conn, [person(n) for n in range(30)])
        assert first.status == "complete", first.reason
        assert first.counts["created"] == 30
        record = by_key(conn, "guid-3")
        assert record["name"] == "Person 3" and record["email"] == "p3@example.com"
        assert record["revision"] == 1 and record["level"] == "Customer"
        stamps = {d["_id"]: (d["revision"], d["updated_at"]) for d in mine(conn)}
        second = sync(conn, [person(n) for n in range(30)])
        assert second.status == "complete"
        assert second.counts["unchanged"] == 30
        assert sum(v for k, v in second.counts.items() if k != "unchanged") == 0
        assert {d["_id"]: (d["revision"], d["updated_at"]) for d in mine(conn)} == stamps


def test_a_rename_keeps_the_record_and_a_changed_department_updates_it(store_app):
    with store_app.app_context():
        conn = connector()
        sync(conn, [person(1)])
        before = by_key(conn, "guid-1")
        moved = Entry("guid-1", "cn=renamed,ou=elsewhere,dc=example,dc=com",
                      {"displayName": ["Person One"], "mail": ["p1@example.com"],
                       "department": ["Support"]}, False)
        result = sync(conn, [moved])
        assert result.counts["updated"] == 1 and result.counts["created"] == 0
        after = by_key(conn, "guid-1")
        assert after["_id"] == before["_id"]
        assert (after["name"], after["department"]) == ("Person One", "Support")
        assert after["revision"] == before["revision"] + 1
        changes = {c["field"]: (c["before"], c["after"]) for c in result.actions[0]["changes"]}
        assert changes == {"name": ("Person 1", "Person One"),
                           "department": ("Sales", "Support")}


def test_an_agents_edit_of_an_unmapped_field_survives_and_an_empty_attribute_clears_nothing(
        app):
    with app.app_context():
        conn = connector()
        sync(conn, [person(1)])
        record = Customer.objects.get(email="p1@example.com")
        record.news = "Prefers phone calls."
        record.save()
        result = sync(conn, [person(1, department=[], displayName=["Person Renamed"])])
        assert result.counts["updated"] == 1
        record.reload()
        assert record.news == "Prefers phone calls."
        assert record.department == "Sales"  # the empty attribute left it
        assert record.name == "Person Renamed"


def test_disabled_is_archived_reenabled_restored_and_missing_archived_only_after_a_complete_read(
        store_app):
    with store_app.app_context():
        conn = connector()
        sync(conn, [person(n) for n in range(20)])
        result = sync(conn, [person(0, disabled=True), *[person(n) for n in range(1, 20)]])
        assert result.counts["archived"] == 1
        assert by_key(conn, "guid-0")["archived"] is True
        result = sync(conn, [person(n) for n in range(20)])
        assert result.counts["restored"] == 1
        assert by_key(conn, "guid-0")["archived"] is False
        partial = sync(conn, extract([person(n) for n in range(1, 20)], complete=False,
                                     reason="The connection was lost after page 1."))
        assert partial.status == "failed" and "connection was lost" in partial.reason
        assert by_key(conn, "guid-0")["archived"] is False
        complete = sync(conn, [person(n) for n in range(1, 20)])
        assert complete.status == "complete" and complete.counts["archived"] == 1
        assert by_key(conn, "guid-0")["archived"] is True


def test_a_record_archived_by_hand_is_not_restored_by_the_sync(app):
    with app.app_context():
        conn = connector()
        sync(conn, [person(1)])
        record = Customer.objects.get(email="p1@example.com")
        record.archived = True
        record.save()
        result = sync(conn, [person(1)])
        assert result.counts["unchanged"] == 1
        assert Customer.objects.get(email="p1@example.com").archived is True


def test_an_entry_failing_the_rulebook_is_skipped_reported_and_never_counted_as_missing(app):
    with app.app_context():
        conn = connector()
        sync(conn, [person(n) for n in range(5)])
        bad = person(2, telephoneNumber="call reception")
        result = sync(conn, [person(0), person(1), bad, person(3), person(4)])
        assert result.status == "complete"
        assert result.counts["skipped"] == 1 and result.counts["archived"] == 0
        assert any("Phone 1 must be a phone number" in e or "must be a phone number" in e
                   for e in result.errors), result.errors
        assert by_key(conn, "guid-2")["archived"] is False


def test_a_hand_made_customer_with_the_same_email_is_a_conflict_and_untouched_until_approved(
        store_app):
    with store_app.app_context():
        hand = Customer(name="Hand Made", email="p1@example.com", department="Legal").save()
        conn = connector()
        result = sync(conn, [person(1)])
        assert result.counts["conflicts"] == 1 and result.counts["created"] == 0
        hand.reload()
        assert (hand.name, hand.department, hand.revision) == ("Hand Made", "Legal", 1)
        assert "p1@example.com" in result.actions[0]["reason"]
        approve(conn.name, "guid-1", hand.pk)
        linked = sync(conn, [person(1)])
        assert linked.counts["updated"] == 1
        hand.reload()
        assert hand.directory == {"connector": "ad", "key": "guid-1"}
        assert hand.department == "Sales"
        assert sync(conn, [person(1)]).counts["unchanged"] == 1


def test_two_connectors_never_share_a_record(app):
    with app.app_context():
        first, second = connector("first"), connector("second")
        sync(first, [person(1)])
        result = sync(second, [person(1, key="other-guid")])
        assert result.counts["conflicts"] == 1
        assert "another directory entry" in result.actions[0]["reason"]
        assert Customer.objects(email="p1@example.com").count() == 1


def test_company_links_orgs_by_normalised_name_creates_unknown_ones_and_empty_keeps_the_org(
        store_app):
    with store_app.app_context():
        acme = Customer(name="Acme Manufacturing Ltd", level="Org").save()
        conn = connector(org_aliases={"ACME UK": "Acme Manufacturing"})
        preview = sync(conn, [person(1, company="acme manufacturing, limited"),
                              person(2, company="ACME UK"),
                              person(3, company="Globex Inc."),
                              person(4, company="globex")], dry_run=True)
        assert preview.orgs_to_create == ["Globex Inc."]
        assert Customer.objects(level="Org").count() == 1
        sync(conn, [person(1, company="acme manufacturing, limited"),
                    person(2, company="ACME UK"), person(3, company="Globex Inc."),
                    person(4, company="globex")])
        globex = Customer.objects.get(level="Org", name="Globex Inc.")
        assert by_key(conn, "guid-1")["org"] == acme.pk
        assert by_key(conn, "guid-2")["org"] == acme.pk
        assert by_key(conn, "guid-3")["org"] == globex.pk == by_key(conn, "guid-4")["org"]
        result = sync(conn, [person(1, company=[]), person(2, company="ACME UK"),
                             person(3, company="Globex Inc."), person(4, company="globex")])
        assert result.counts["unchanged"] == 4
        assert by_key(conn, "guid-1")["org"] == acme.pk


def test_unknown_companies_are_left_empty_or_mapped_to_the_default_as_configured(app):
    with app.app_context():
        Customer(name="Contoso", level="Org").save()
        empty = connector("empty", org_policy="leave_empty")
        sync(empty, [person(1, company="Initech")])
        assert by_key(empty, "guid-1").get("org") is None
        default = connector("default-org", org_policy="default", default_org="contoso")
        sync(default, [person(2, company="Initech")])
        assert by_key(default, "guid-2")["org"] == Customer.objects.get(name="Contoso").pk
        assert Customer.objects(level="Org").count() == 1


@pytest.mark.parametrize("name,expected", [
    ("Acme Ltd.", "acme"), ("ACME  limited", "acme"), ("Acme, Inc", "acme"),
    ("Müller GmbH", "müller"), ("Smith & Sons plc", "smith and sons"), ("Ltd", "ltd"),
])
def test_company_names_normalise(name, expected):
    assert normalise(name) == expected


def test_a_map_leaving_a_mandatory_field_unfilled_is_flagged_and_a_default_remedies_it(app):
    with app.app_context():
        conn = connector(attribute_map={"mail": "email"})
        warnings = check_map(conn)
        assert any("Name is mandatory" in w for w in warnings), warnings
        result = sync(conn, [person(1)], dry_run=True)
        assert result.map_warnings == warnings
        assert result.counts["skipped"] == 1
        conn.field_defaults = {"name": "Directory user"}
        conn.save()
        assert not any("mandatory" in w for w in check_map(conn))
        assert sync(conn, [person(1)]).counts["created"] == 1


def test_an_entry_lacking_a_mandatory_value_is_refused_in_the_forms_words(store_client):
    """The plan asks the write path what a new record lacks: the same sentence as the
    admin's form and `records.problems`, under the field's current label."""
    app = store_client.application
    with app.app_context():
        update_field("customer", "department", label="Cost Centre", mandatory=["Customer"])
    with app.app_context():  # a new dictionary snapshot
        conn = connector(attribute_map={"displayName": "name", "mail": "email"})
        result = sync(conn, [person(1)], dry_run=True)
        record = {"level": "Customer", "name": "Person 1", "email": "p1@example.com"}
        said = [p.message for p in records.problems("customer", record, record)]
    skipped = next(a for a in result.actions if a["key"] == "guid-1")
    assert said == ["Cost Centre is mandatory."]
    assert skipped["kind"] == "skip" and skipped["messages"] == said
    form = submit(store_client, "/admin/customer/new/", {**record, "department": ""})
    assert field_error(form.get_data(as_text=True), said[0])
    assert Customer.objects.count() == 0


# -- guards -----------------------------------------------------------------------------------

def test_zero_entries_holds_the_run_and_archives_nobody(app):
    with app.app_context():
        conn = connector()
        sync(conn, [person(n) for n in range(5)])
        result = sync(conn, [])
        assert result.status == "held" and "no entries" in result.reason
        assert all(not d["archived"] for d in mine(conn))


def test_archiving_more_than_the_limit_holds_and_force_applies_it(store_app):
    with store_app.app_context():
        conn = connector()
        sync(conn, [person(n) for n in range(100)])
        kept = [person(n) for n in range(35, 100)]
        held = sync(conn, kept)
        assert held.status == "held" and "35" in held.reason
        assert all(not d["archived"] for d in mine(conn))
        forced = sync(conn, kept, force=True)
        assert forced.status == "complete" and forced.counts["archived"] == 35
        assert sum(d["archived"] for d in mine(conn)) == 35


def test_the_limit_is_the_larger_of_the_count_and_the_percentage(app):
    with app.app_context():
        conn = connector(max_archive_count=10, max_archive_percent=10)
        sync(conn, [person(n) for n in range(50)])
        assert sync(conn, [person(n) for n in range(10, 50)], dry_run=True).status == "preview"
        assert sync(conn, [person(n) for n in range(10, 50)]).status == "complete"
        assert sync(conn, [person(n) for n in range(21, 50)]).status == "held"  # 11 > 10


def test_a_preview_writes_nothing_and_its_plan_equals_what_the_load_does(store_app):
    with store_app.app_context():
        conn = connector()
        sync(conn, [person(n) for n in range(10)])
        entries = [person(0, department="Support"), *[person(n) for n in range(2, 12)],
                   person(3, disabled=True)]
        entries = [e for e in entries if not (e.key == "guid-3" and not e.disabled)]
        before = mine(conn)
        preview = sync(conn, entries, dry_run=True)
        assert preview.status == "preview"
        assert mine(conn) == before
        load = sync(conn, entries, expect=preview.fingerprint)
        assert load.status == "complete"
        assert load.fingerprint == preview.fingerprint
        assert load.counts == preview.counts
        assert load.actions == preview.actions
        assert preview.counts["created"] == 2 and preview.counts["archived"] == 2
        assert preview.counts["updated"] == 1


def test_a_load_refuses_when_the_plan_changed_since_the_preview(app):
    with app.app_context():
        conn = connector()
        preview = sync(conn, [person(1)], dry_run=True)
        load = sync(conn, [person(1), person(2)], expect=preview.fingerprint)
        assert load.status == "failed" and "changed since the preview" in load.reason
        assert mine(conn) == []


def test_a_scheduled_run_after_a_scope_change_only_previews(app):
    with app.app_context():
        conn = connector()
        assert sync(conn, [person(1)], scheduled=True).status == "preview"
        assert sync(conn, [person(1)]).status == "complete"
        assert sync(conn, [person(1), person(2)], scheduled=True).status == "complete"
        conn.filter = "(objectClass=person)"
        conn.save()
        scheduled = sync(conn, [person(3)], scheduled=True)
        assert scheduled.status == "preview" and "changed" in scheduled.reason
        assert by_key(conn, "guid-3") is None


def test_a_failed_read_writes_nothing_at_all(app):
    with app.app_context():
        conn = connector()
        result = sync(conn, extract([person(1)], complete=False,
                                    reason="The size limit was exceeded after 1,000 entries."))
        assert result.status == "failed" and "size limit" in result.reason
        assert mine(conn) == []


# -- the lease and the commands -----------------------------------------------------------------

def test_the_lease_lets_one_holder_at_a_time_and_expires(store_app):
    with store_app.app_context():
        assert runs.acquire("ad", "one")
        assert not runs.acquire("ad", "two")
        runs.release("ad", "two")  # not the holder: nothing happens
        assert not runs.acquire("ad", "two")
        runs.release("ad", "one")
        assert runs.acquire("ad", "two")
        from admin_app import store
        store.database()[runs.LEASES].update_one({"_id": "ad"}, {"$set": {
            "expires": runs.now() - runs.timedelta(minutes=1)}})
        assert runs.acquire("ad", "three")


def test_two_runs_at_once_run_once(app):
    with app.app_context():
        conn = connector()
        gate, results = threading.Event(), []

        def slow_read(_connector):
            gate.wait(5)
            return extract([person(1)])

        def one() -> None:
            with app.app_context():
                results.append(run(conn, read=slow_read))

        threads = [threading.Thread(target=one, daemon=True) for _ in range(2)]
        for thread in threads:
            thread.start()
        while not results:
            threading.Event().wait(0.01)
        gate.set()
        for thread in threads:
            thread.join()
        statuses = sorted(r.status for r in results)
        assert statuses == ["complete", "failed"], [r.reason for r in results]
        assert Customer.objects(email="p1@example.com").count() == 1


def test_ldap_sync_prints_counts_and_exits_1_when_held(app, monkeypatch):
    from admin_app.directory import reader

    with app.app_context():
        conn = connector()
        sync(conn, [person(n) for n in range(3)])
    monkeypatch.setattr(reader, "read", lambda _c: extract([]))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["ldap", "sync", "--connector", "ad"])
    assert result.exit_code == 1, result.output
    assert "ad: held" in result.output and "no entries" in result.output
    monkeypatch.setattr(reader, "read", lambda _c: extract([person(n) for n in range(3)]))
    result = runner.invoke(args=["ldap", "sync"])
    assert result.exit_code == 0, result.output
    assert "3 unchanged" in result.output
    result = runner.invoke(args=["ldap", "sync", "--connector", "nobody"])
    assert result.exit_code == 2


def test_ldap_sync_approve_conflict_links_on_the_next_run(app, monkeypatch):
    from admin_app.directory import reader

    with app.app_context():
        Customer(name="Hand Made", email="p1@example.com").save()
        connector()
    monkeypatch.setattr(reader, "read", lambda _c: extract([person(1)]))
    runner = app.test_cli_runner()
    assert runner.invoke(args=["ldap", "sync"]).exit_code == 0
    result = runner.invoke(args=["ldap", "sync", "--connector", "ad",
                                 "--approve-conflict", "guid-1"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["ldap", "sync"])
    assert "1 updated" in result.output, result.output
    with app.app_context():
        assert Customer.objects.get(email="p1@example.com").directory["key"] == "guid-1"


def test_the_schedule_picks_connectors_whose_time_has_come_once_a_day(app):
    from datetime import datetime

    with app.app_context():
        early = connector("early", schedule="02:30")
        connector("late", schedule="23:59")
        connector("off")
        at = datetime.now().replace(hour=3, minute=0)
        assert [c.name for c in due(list(Connector.objects), at)] == ["early"]
        sync(early, [person(1)], scheduled=True)
        assert due(list(Connector.objects), at) == []


def test_the_plan_only_sets_mapped_fields(app):
    with app.app_context():
        conn = connector()
        result = plan(conn, extract([person(1, info="not mapped")]))
        assert set(result.actions[0].values) == {"name", "email", "department"}
        apply(result)
        assert "info" not in by_key(conn, "guid-1")


# -- through the record write path: history, and the rulebook's second look -----------------

def history_of(record_id) -> list[RecordChange]:
    return list(RecordChange.objects(record=record_id).order_by("revision"))


def test_a_runs_changes_name_the_connector_the_sync_and_the_run_and_a_resync_records_nothing(
        store_app):
    with store_app.app_context():
        conn = connector()
        first = sync(conn, [person(n, company="Globex") for n in range(3)])
        assert first.status == "complete", first.reason
        globex = Customer.objects.get(level="Org", name="Globex")
        for doc in [*mine(conn), Customer._get_collection().find_one({"_id": globex.pk})]:
            (created,) = history_of(doc["_id"])
            assert created.created and created.revision == doc["revision"] == 1
            assert (created.who["name"], created.who["kind"], created.way, created.batch) == (
                "directory connector ad", "connector", "sync", str(first.pk))
        assert "person" in by_key(conn, "guid-1")["search_keys"]
        logged = RecordChange.objects.count()
        again = sync(conn, [person(n, company="Globex") for n in range(3)])
        assert again.counts["unchanged"] == 3
        assert RecordChange.objects.count() == logged, "nothing changed: no history"
        moved = sync(conn, [person(0, company="Globex", department="Support"),
                            person(1, company="Globex")])
        assert (moved.counts["updated"], moved.counts["archived"]) == (1, 1)
        updated = history_of(by_key(conn, "guid-0")["_id"])[-1]
        assert [(f["name"], f["old"], f["new"]) for f in updated.fields] == [
            ("department", "Sales", "Support")]
        assert (updated.batch, updated.revision) == (str(moved.pk), 2)
        assert "support" in by_key(conn, "guid-0")["search_keys"]
        archived = history_of(by_key(conn, "guid-2")["_id"])[-1]
        assert [(f["name"], f["old"], f["new"]) for f in archived.fields] == [
            ("archived", False, True)]
        assert by_key(conn, "guid-2")["directory"] == {"connector": "ad", "key": "guid-2",
                                                       "archived": True}
        back = sync(conn, [person(n, company="Globex") for n in range(3)])
        assert back.counts["restored"] == 1 and by_key(conn, "guid-2")["archived"] is False
        assert RecordChange.objects(batch=str(back.pk)).count() == 2  # restored, department


def test_a_record_the_write_path_refuses_is_a_skipped_action_not_a_failed_run(store_app):
    with store_app.app_context():
        conn = connector()
        sync(conn, [person(n) for n in range(3)])
        update_field("customer", "news", mandatory=["Customer"])  # stored records lack it
    with store_app.app_context():  # a new dictionary snapshot
        result = sync(conn, [person(0, department="Support"), person(1), person(2)])
        assert result.status == "complete", result.reason
        assert result.counts["skipped"] == 1 and result.counts["updated"] == 0
        assert any("News is mandatory." in e for e in result.errors), result.errors
        skipped = next(a for a in result.actions if a["key"] == "guid-0")
        assert skipped["kind"] == "skip" and skipped["messages"] == ["News is mandatory."]
        assert by_key(conn, "guid-0")["department"] == "Sales"
        assert len(history_of(by_key(conn, "guid-0")["_id"])) == 1
        gone = sync(conn, [person(1), person(2)])  # someone who left is archived regardless
        assert gone.counts["archived"] == 1 and by_key(conn, "guid-0")["archived"] is True


def test_an_org_the_write_path_refuses_skips_the_entries_naming_it(app):
    with app.app_context():
        update_field("customer", "email", mandatory=["Org"])
    with app.app_context():  # a new dictionary snapshot
        conn = connector()
        result = sync(conn, [person(1, company="Globex"), person(2)])
        assert result.status == "complete", result.reason
        assert (result.counts["created"], result.counts["skipped"]) == (1, 1)
        assert any("The Org 'Globex' cannot be created: Email is mandatory." in e
                   for e in result.errors), result.errors
        assert Customer.objects(level="Org").count() == 0
        assert by_key(conn, "guid-1") is None and by_key(conn, "guid-2") is not None


@pytest.fixture(autouse=True)
def _no_leftover_connections():
    yield
    mongoengine.disconnect()


_ = make_app
