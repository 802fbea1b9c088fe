"""A store with every collection filled by the app's own flows, for the store's
backup, restore and copy tests: what an operator's store holds after some use."""

from __future__ import annotations

import typing as t

from flask import Flask

from .conftest import app_config
from .helpers import ADMIN_EMAIL, ADMIN_PASSWORD, login

AGENT_EMAIL = "agent.backup@example.com"
AGENT_PASSWORD = "agent backup pass phrase"
MOVED_CUSTOMER = "Chen Wei"


def filled_app(tmp_path: t.Any, store: str) -> Flask:
    """`flask setup` (dictionary, demo data, first admin), then a login made, a ticket
    logged and closed (its notice waits in the outbox), a dictionary change, a record
    changed twice (one by an import job), a directory connector with a preview run, a
    wrong password (the throttle and the audit log)."""
    from admin_app import create_app, records
    from admin_app.customising.fields import update_field
    from admin_app.directory.connectors import Connector
    from admin_app.directory.reader import Entry, Extract
    from admin_app.directory.sync import run
    from admin_app.importer.jobs import SeedJob
    from admin_app.models import Customer, User
    from admin_app.records import trace
    from admin_app.security import audit
    from admin_app.tickets import log_ticket

    app = create_app(app_config(tmp_path, store))
    result = app.test_cli_runner().invoke(args=["setup"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        agent = User(email=AGENT_EMAIL, role="agent")
        agent.set_password(AGENT_PASSWORD)
        agent.save()
        audit.record("login_created", subject=AGENT_EMAIL, area="cli", actor="tests")
        log_ticket(Customer.objects.get(name="Alice Carter"), "Password reset",
                   status="closed")
        log_ticket(Customer.objects.get(name=MOVED_CUSTOMER), "Laptop will not start")
        update_field("customer", "department", label="Cost Centre")
        chen = Customer.objects.get(name=MOVED_CUSTOMER)
        records.update("customer", chen.pk, {"department": "Support", "location": "Leeds"},
                       trace.Trace(trace.COMMAND_LINE, trace.FORM))
        job = SeedJob(path="/nowhere.json", filename="people.json", status="done",
                      options={"dry_run": False}).save()
        records.update("customer", chen.pk, {"location": "York"},
                       trace.Trace(trace.import_job(job.pk), trace.IMPORT).in_batch(job.pk))
        connector = Connector(name="corp", servers=["ldap://127.0.0.1:1"], bind_user="cn=sync",
                              password="sync-secret", base_dns=["dc=example,dc=com"]).save()
        entry = Entry("guid-1", "cn=Dana,dc=example,dc=com",
                      {"displayName": ["Dana Fox"], "mail": ["dana@example.com"]}, False)
        run(connector, dry_run=True, read=lambda _c: Extract([entry], True, None, 1))
    with app.test_client() as client:
        assert login(client, ADMIN_EMAIL, "not the password").status_code == 401
    return app


def signs_in_and_opens_records(app: Flask) -> None:
    """Both logins sign in with their passwords; a record's page and History open."""
    from admin_app.models import Customer

    with app.app_context():
        chen = Customer.objects.get(name=MOVED_CUSTOMER)
    for email, password in ((ADMIN_EMAIL, ADMIN_PASSWORD), (AGENT_EMAIL, AGENT_PASSWORD)):
        with app.test_client() as client:
            assert login(client, email, password).status_code == 302, email
            listing = client.get("/admin/customer/").get_data(as_text=True)
            assert MOVED_CUSTOMER in listing
            page = client.get(f"/admin/customer/edit/?id={chen.pk}")
            assert page.status_code == 200 and "York" in page.get_data(as_text=True)
            history = client.get(f"/admin/history/customer/{chen.pk}/")
            assert history.status_code == 200 and "Leeds" in history.get_data(as_text=True)
