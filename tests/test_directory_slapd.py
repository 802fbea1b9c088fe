"""Directory sync end to end against a real OpenLDAP slapd shaped like Active Directory:
the issue's acceptance list (see tests/servers.py for the server). The sync binds as an
ordinary user, to whom slapd applies AD's 1,000-entry limit on unpaged searches."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import mongoengine

from admin_app.directory import reader
from admin_app.directory.runs import SyncRun
from admin_app.directory.sync import run
from admin_app.models import Customer

from .conftest import make_app
from .servers import LDAP_LIMITED_DN, LDAP_LIMITED_PASSWORD, LDAP_MOVED


def records(connector_name: str = "ad") -> dict[str, dict]:
    return {d["directory"]["key"]: d for d in Customer._get_collection().find(
        {"directory.connector": connector_name})}


def stamps() -> dict:
    return {d["_id"]: (d.get("revision"), d.get("updated_at"), d.get("archived"))
            for d in Customer._get_collection().find()}


def cli(app, *args: str):
    return app.test_cli_runner().invoke(args=["ldap", "sync", *args])


def test_2500_users_load_across_pages_and_a_second_run_is_all_unchanged_and_writes_nothing(
        big_directory, tmp_path):
    app = make_app(tmp_path, "embedded")
    try:
        with app.app_context():
            connector = big_directory.connector()
            first = run(connector)
            assert first.status == "complete", first.reason
            assert first.counts["created"] == 2500
            assert len(records()) == 2500
            assert {"Acme Ltd", "Globex Inc.", "Initech"} == {
                d["name"] for d in Customer._get_collection().find({"level": "Org"})}
            before = stamps()
            second = run(connector)
            assert second.status == "complete"
            assert second.counts["unchanged"] == 2500
            assert sum(n for what, n in second.counts.items() if what != "unchanged") == 0
            assert stamps() == before
    finally:
        mongoengine.disconnect()


def test_a_rename_and_move_keep_the_record_department_updates_and_an_agents_edit_survives(
        directory, app):
    users = directory.add_users(3)
    with app.app_context():
        connector = directory.connector()
        run(connector)
        first = records()[users[0].key]
        record = Customer.objects.get(pk=first["_id"])
        record.news = "Typed by an agent."
        record.save()
        moved = directory.rename(users[0].dn, "Renamed Person", LDAP_MOVED)
        connector.base_dns = [directory.connector().base_dns[0], LDAP_MOVED]
        directory.modify(moved, department="Legal", displayName="Renamed Person")
        result = run(connector)
        assert result.status == "complete", result.reason
        assert result.counts["updated"] == 1 and result.counts["created"] == 0
        assert result.counts["archived"] == 0
        record.reload()
        assert (record.name, record.department) == ("Renamed Person", "Legal")
        assert record.news == "Typed by an agent."
        assert Customer.objects(level="Customer").count() == 3


def test_disabled_is_archived_reenabled_restored_and_deleted_archived_only_after_a_complete_run(
        directory, app):
    users = directory.add_users(20)
    with app.app_context():
        connector = directory.connector()
        run(connector)
        directory.disable(users[0].dn)
        assert run(connector).counts["archived"] == 1
        assert records()[users[0].key]["archived"] is True
        directory.enable(users[0].dn)
        assert run(connector).counts["restored"] == 1
        assert records()[users[0].key]["archived"] is False
        directory.delete(users[1].dn)
        stopped = connector.servers
        connector.servers = ["ldap://127.0.0.1:1"]  # nothing listens: the read fails
        failed = run(connector)
        assert failed.status == "failed" and "not read completely" in failed.reason
        assert records()[users[1].key]["archived"] is False
        connector.servers = stopped
        complete = run(connector)
        assert complete.counts["archived"] == 1
        assert records()[users[1].key]["archived"] is True


def test_slapd_stopped_mid_run_archives_nobody_and_the_command_exits_non_zero(directory, app):
    directory.add_users(250)
    with app.app_context():
        connector = directory.connector()
        connector.save()
        run(connector)
        before = stamps()

        def stop_after_first_page(pages: int) -> None:
            if pages == 1:
                directory.stop()

        result = run(connector, read=lambda c: reader.read(c, page_size=100,
                                                           on_page=stop_after_first_page))
        assert result.status == "failed"
        assert "stopped answering" in result.reason
        assert stamps() == before
    output = cli(app)
    assert output.exit_code == 1
    assert "ad: failed" in output.output and "nobody was archived" in output.output


def test_a_size_limit_hit_archives_nobody_and_fails(big_directory, app):
    with app.app_context():
        run(big_directory.connector())
        before = stamps()
        limited = big_directory.connector(bind_user=LDAP_LIMITED_DN,
                                          password=LDAP_LIMITED_PASSWORD)
        result = run(limited)
        assert result.status == "failed" and "size limit exceeded" in result.reason
        assert stamps() == before


def test_zero_entries_holds_archives_nobody_and_exits_non_zero(directory, app):
    directory.add_users(5)
    with app.app_context():
        connector = directory.connector()
        connector.save()
        run(connector)
        connector.filter = "(cn=nobody-is-called-this)"
        connector.save()
        before = stamps()
    output = cli(app)
    assert output.exit_code == 1
    assert "held" in output.output and "no entries" in output.output
    with app.app_context():
        assert stamps() == before


def test_removing_35_percent_holds_and_force_applies_it(directory, app):
    users = directory.add_users(40)
    with app.app_context():
        connector = directory.connector()
        connector.save()
        run(connector)
    for user in users[:14]:
        directory.delete(user.dn)
    output = cli(app)
    assert output.exit_code == 1 and "held" in output.output
    with app.app_context():
        assert not any(d["archived"] for d in records().values())
    output = cli(app, "--force")
    assert output.exit_code == 0, output.output
    assert "14 archived" in output.output
    with app.app_context():
        assert sum(d["archived"] for d in records().values()) == 14


def test_a_hand_made_customer_with_the_same_email_is_a_conflict_and_untouched(directory, app):
    users = directory.add_users(3)
    with app.app_context():
        hand = Customer(name="Typed In", email=users[1].mail, department="Legal").save()
        result = run(directory.connector())
        assert result.counts["conflicts"] == 1 and result.counts["created"] == 2
        hand.reload()
        assert (hand.name, hand.department, hand.revision) == ("Typed In", "Legal", 1)
        assert getattr(hand, "directory", None) is None


def test_company_creates_or_links_orgs_by_normalised_name_and_empty_keeps_the_org(
        directory, app):
    users = directory.add_users(6)
    with app.app_context():
        acme = Customer(name="ACME Limited", level="Org").save()
        connector = directory.connector()
        preview = run(connector, dry_run=True)
        assert preview.orgs_to_create == ["Globex Inc.", "Initech"]
        run(connector)
        assert records()[users[0].key]["org"] == acme.pk  # "Acme Ltd"
        assert Customer.objects(level="Org").count() == 3
        directory.modify(users[0].dn, company=None)
        result = run(connector)
        assert result.counts["unchanged"] == 6
        assert records()[users[0].key]["org"] == acme.pk


def test_a_preview_writes_nothing_and_its_plan_equals_what_the_load_does(directory, app):
    users = directory.add_users(20)
    with app.app_context():
        connector = directory.connector()
        run(connector)
        directory.disable(users[0].dn)
        directory.delete(users[1].dn)
        directory.modify(users[2].dn, department="Legal")
        directory.add_users(2)
        before = stamps()
        preview = run(connector, dry_run=True)
        assert stamps() == before
        load = run(connector, expect=preview.fingerprint)
        assert load.status == "complete", load.reason
        assert load.counts == preview.counts and load.actions == preview.actions
        assert (load.counts["archived"], load.counts["updated"], load.counts["created"]) \
            == (2, 1, 2)


def test_a_wrong_password_fails_with_a_clear_message_and_exit_code(directory, app, client):
    directory.add_users(1)
    with app.app_context():
        directory.connector(password="wrong").save()
    output = cli(app)
    assert output.exit_code == 1
    with app.app_context():
        failed = SyncRun.objects.get()
        assert failed.status == "failed"
        reason = failed.reason
    assert reason in output.output
    assert reason in client.get("/admin/directory_runs/").get_data(as_text=True)


def test_two_sync_processes_at_once_run_once(directory, tmp_path):
    users = directory.add_users(1500)
    app = make_app(tmp_path, "embedded")
    try:
        with app.app_context():
            directory.connector().save()
        env = {**os.environ, "INSTANCE_PATH": app.instance_path, "SECRET_KEY": "test"}
        env.pop("MONGODB_URI", None)
        processes = [subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "admin_app", "ldap", "sync"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for _ in range(2)]
        outputs = [p.communicate(timeout=300)[0] for p in processes]
        with app.app_context():
            assert Customer.objects(level="Customer").count() == len(users), outputs
            creating = [r for r in SyncRun.objects if (r.counts or {}).get("created")]
            assert len(creating) == 1, outputs
        assert any("1500 created" in out for out in outputs), outputs
    finally:
        mongoengine.disconnect()


def test_two_schedulers_started_together_run_a_connector_once_and_stop_on_sigterm(
        directory, tmp_path):
    directory.add_users(300)
    app = make_app(tmp_path, "embedded")
    try:
        with app.app_context():
            connector = directory.connector(schedule="00:00")
            connector.save()
            assert run(connector).status == "complete"  # loaded once: scheduled runs apply
        env = {**os.environ, "INSTANCE_PATH": app.instance_path, "SECRET_KEY": "test"}
        env.pop("MONGODB_URI", None)
        schedulers = [subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "admin_app", "ldap", "schedule"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for _ in range(2)]
        try:
            deadline = time.monotonic() + 60
            with app.app_context():
                while time.monotonic() < deadline and not SyncRun.objects(
                        scheduled=True, ended__ne=None).count():
                    time.sleep(0.2)
            time.sleep(2)  # the other scheduler has had its chance to run it too
        finally:
            for process in schedulers:
                process.send_signal(signal.SIGTERM)
        outputs = [p.communicate(timeout=60)[0] for p in schedulers]
        assert [p.returncode for p in schedulers] == [0, 0], outputs
        assert all("scheduler stopped" in out for out in outputs), outputs
        with app.app_context():
            scheduled = list(SyncRun.objects(scheduled=True))
            assert len(scheduled) == 1, outputs
            assert scheduled[0].status == "complete", scheduled[0].reason
    finally:
        mongoengine.disconnect()
