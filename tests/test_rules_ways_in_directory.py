"""Conditional rules on the directory sync, against a real slapd (tests/servers.py), on
both stores: an entry a rule refuses is skipped and reported in the run as an entry
lacking a mandatory value is, and the others sync; a field a rule makes read-only may
still be changed by the sync when the rule says `except_directory_sync` (while the form
and the API are refused), and not otherwise."""

from __future__ import annotations

import typing as t

from admin_app.customising.conditional_rules import add_rule
from admin_app.customising.fields import add_field
from admin_app.directory.sync import run
from admin_app.models import Customer

from .api_client import errors_of, problem, token_for
from .helpers import FormValues, login

FINANCE = {"name": "finance-needs-cost-centre", "entity": "customer",
           "when": {"field": "department", "equals": "Finance"},
           "then": {"mandatory": ["cost_centre"]}}


def locking_department(*, except_directory_sync: bool) -> dict[str, t.Any]:
    return {"name": "leeds-keeps-department", "entity": "customer",
            "when": {"field": "location", "equals": "Leeds"},
            "then": {"read_only": ["department"]},
            "except_directory_sync": except_directory_sync}


LOCKED = ("Department is read-only when Location is Leeds (rule leeds-keeps-department); it "
          "was not changed.")


def synced(connector_name: str = "ad") -> dict[str, dict[str, t.Any]]:
    return {d["directory"]["key"]: d for d in Customer._get_collection().find(
        {"directory.connector": connector_name})}


def test_an_entry_a_rule_makes_lack_a_value_is_skipped_and_reported_the_others_sync(
        directory, store_app):
    users = directory.add_users(8)  # user 2 and user 6 are in Finance
    with store_app.app_context():
        add_field("customer", "cost_centre", "Cost Centre", "text",
                  sections={"Customer": "Customer"})
        add_rule(FINANCE)
        result = run(directory.connector())
        assert result.status == "complete", result.reason
        assert result.counts["created"] == 6 and result.counts["skipped"] == 2
        records = synced()
        assert set(records) == {u.key for n, u in enumerate(users) if n % 4 != 2}
        needs = ("Cost Centre is mandatory when Department is Finance (rule "
                 "finance-needs-cost-centre).")
        assert sorted(result.errors) == sorted(f"{users[n].dn}: {needs}" for n in (2, 6))
        # As an entry lacking a value its Level makes mandatory is reported.
        skipped = {a["key"]: a for a in result.actions if a["kind"] == "skip"}
        assert set(skipped) == {users[2].key, users[6].key}
        assert skipped[users[2].key]["messages"] == [needs]
        assert skipped[users[2].key]["reason"].startswith(
            "The entry lacks a value the dictionary makes mandatory")
        # A default value for the field lets the next run create them.
        connector = directory.connector(field_defaults={"cost_centre": "CC-0"})
        again = run(connector)
        assert again.status == "complete", again.reason
        assert again.counts["created"] == 2 and not again.errors
        assert {d["cost_centre"] for k, d in synced().items()
                if k in {users[2].key, users[6].key}} == {"CC-0"}


def test_a_rule_excepting_the_sync_lets_it_change_a_locked_field_the_form_and_api_may_not(
        directory, store_app):
    users = directory.add_users(3)  # user 0 is in Leeds, in Sales
    with store_app.app_context():
        add_rule(locking_department(except_directory_sync=True))
        first = run(directory.connector())
        assert first.status == "complete" and first.counts["created"] == 3, first.errors
        directory.modify(users[0].dn, department="Legal")
        second = run(directory.connector())
        assert second.status == "complete", second.reason
        assert second.counts["updated"] == 1 and not second.errors
        record = synced()[users[0].key]
        assert record["department"] == "Legal"
    api = token_for(store_app)
    oid = str(record["_id"])
    read = api.send("GET", f"customers/{oid}")
    body = problem(api.send("PATCH", f"customers/{oid}", {"department": "Audit"},
                            **{"If-Match": read.headers["ETag"]}), 422)
    assert errors_of(body) == {"department": ("Department", "read_only", LOCKED)}
    assert body["errors"][0]["rule"] == "leeds-keeps-department"
    with store_app.test_client() as client:
        login(client)
        url = f"/admin/customer/edit/?id={oid}"
        page = client.get(url).get_data(as_text=True)
        start = page.index('class="admin-form dictadmin-record"')
        form = FormValues(page[page.rindex("<form", 0, start):page.index("</form>", start)])
        saved = client.post(url, data={**form.values, "department": "Audit",
                                       "_continue_editing": "Save"})
        assert LOCKED in saved.get_data(as_text=True)
    with store_app.app_context():
        assert synced()[users[0].key]["department"] == "Legal"


def test_without_the_exception_the_sync_is_refused_a_locked_field_too(directory, store_app):
    users = directory.add_users(3)  # user 0 is in Leeds, in Sales; user 1 in London
    with store_app.app_context():
        assert run(directory.connector()).counts["created"] == 3
        add_rule(locking_department(except_directory_sync=False))
    with store_app.app_context():  # the next run reads the dictionary as it is now
        directory.modify(users[0].dn, department="Legal")
        directory.modify(users[1].dn, department="Legal")  # in London: not locked
        newcomer = directory.add_users(1)[0]  # in Leeds: its department would be locked
        result = run(directory.connector())
        assert result.status == "complete", result.reason
        assert result.counts["updated"] == 1 and result.counts["skipped"] == 2
        assert sorted(result.errors) == sorted([f"{users[0].dn}: {LOCKED}",
                                                f"{newcomer.dn}: {LOCKED}"])
        assert newcomer.key not in synced()
        records = synced()
        assert records[users[0].key]["department"] == "Sales"
        assert records[users[0].key]["revision"] == 1
        assert records[users[1].key]["department"] == "Legal"
