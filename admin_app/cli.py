"""`flask setup`, `flask demo load` and `flask user create`; adds the command groups of the
packages whose commands reach across layers (`flask dictionary`, `flask history`,
`flask store`)."""

from __future__ import annotations

import os

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from . import demo, store
from .customising.cli import dictionary_cli
from .dictionary import defaults
from .models import User
from .models.users import STAFF_ROLES, normal_email
from .records import MODELS, history, upkeep
from .records.cli import history_cli
from .security import accounts, audit, logins_upkeep, passwords
from .security.token_commands import token_group
from .store_commands import store_cli


@click.command("setup")
@with_appcontext
@click.option("--no-demo", is_flag=True, help="Do not load the demo data set.")
def setup_command(no_demo: bool) -> None:
    """Prepare a store for first use: dictionary, demo data (empty store only), first admin."""
    config = current_app.config
    _refuse_weak_admin_password(config["ADMIN_EMAIL"], config["ADMIN_PASSWORD"])
    click.echo(f"Store: {store.describe(config['MONGODB_URI'], config['STORE_PATH'])}")
    added = defaults.install()
    click.echo(f"Dictionary: {'added ' + str(added) + ' definitions' if added else 'up to date'}.")
    repaired = history.repair(MODELS)  # batches a stopped process left half-logged
    if repaired:
        click.echo(f"Record history: logged {repaired} change sets a stopped load left behind.")
    upgraded = upkeep.bring_up_to_date()
    if any(upgraded.values()):
        click.echo("Records brought up to date: "
                   + ", ".join(f"{n} {what}" for what, n in upgraded.items() if n) + ".")
    if not no_demo and demo.is_empty():
        report = demo.load()
        click.echo(f"Demo data: {report.summary()}")
        if not report.ok:
            raise click.ClickException("The demo data did not load: "
                                       + "; ".join(report.failure_lines(5)))
    _warn_when_outgrown(config)
    for sentence in logins_upkeep.bring_up_to_date().sentences():
        click.echo(sentence)
    try:
        admin, password = accounts.ensure_first_admin(
            config["ADMIN_EMAIL"], config["ADMIN_PASSWORD"], actor=_operator(),
            detail="the first admin login, made by flask setup")
    except accounts.LoginRefused as refused:
        raise click.ClickException(f"ADMIN_EMAIL cannot be the first admin's login. "
                                   f"{refused}") from None
    port = os.environ.get("PORT", "5000")
    click.echo(f"\nDictadmin: http://127.0.0.1:{port}/admin/")
    if password:
        click.echo(f"Sign in as {admin.email} with password {password}")
        click.echo("(shown once; it is stored hashed. Set ADMIN_PASSWORD to choose your own.)")
    elif config["ADMIN_PASSWORD"] and admin.email == normal_email(config["ADMIN_EMAIL"]):
        click.echo(f"Sign in as {admin.email} with the password in ADMIN_PASSWORD.")
    else:
        click.echo(f"Sign in as {admin.email} (the admin created on first run).")


# Pages and lookups were measured flat up to 110,000 records (README, "How big the
# embedded store goes"); what keeps growing is each worker's memory and the seconds it
# takes to build its index when it starts: past this many records, move to MongoDB.
EMBEDDED_COMFORT = 100_000


def _warn_when_outgrown(config: dict) -> None:
    if config["MONGODB_URI"]:
        return
    from .models import Contact, Customer

    comfort = int(config.get("EMBEDDED_COMFORT_RECORDS") or EMBEDDED_COMFORT)
    records = Customer.objects.count() + Contact.objects.count()
    if records <= comfort:
        return
    click.echo(
        f"\nThe embedded store holds {records:,} records, more than it serves comfortably "
        f"(about {comfort:,}): every web worker holds the store's indexes in memory "
        f"and builds them when it starts. Move to MongoDB (everything: records, logins, "
        f"tickets, history, the audit log):\n"
        f"  flask --app admin_app store copy --to mongodb://HOST/dictadmin\n"
        f"then run with MONGODB_URI=mongodb://HOST/dictadmin (see the README, \"How big the "
        f"embedded store goes\").",
        err=True)


demo_cli = AppGroup("demo", help="Demo data.")


@demo_cli.command("load")
def demo_load_command() -> None:
    """Load seed/demo.json into an empty store."""
    if not demo.is_empty():
        raise click.ClickException("The store already has records; demo data loads only "
                                   "into an empty store.")
    report = demo.load()
    click.echo(report.summary())
    if not report.ok:
        raise click.ClickException("; ".join(report.failure_lines(5)))


user_cli = AppGroup("user", help="Admin and agent logins.")


@user_cli.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(STAFF_ROLES), default="agent", show_default=True)
def user_create_command(email: str, role: str) -> None:
    """Create a login for EMAIL; the password is asked for (twice, not shown), never taken
    from the command line, where shell history and the process list would keep it."""
    try:
        email = accounts.checked_address(email)  # before the password is asked for
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        accounts.create(email, role, password=password, area="cli", actor=_operator(),
                        detail=f"{role} login, password set at the command line")
    except accounts.LoginRefused as refused:
        raise click.ClickException(str(refused)) from None
    click.echo(f"Created {role} login {email}.")


def _refuse_weak_admin_password(email: str, password: str | None) -> None:
    """ADMIN_PASSWORD becomes the first admin's password: the same policy as any other,
    checked before setup writes anything. With an admin already there it is not used."""
    if not password or User.objects(role="admin").first() is not None:
        return
    found = passwords.problems(password, email)
    if found:
        raise click.ClickException("ADMIN_PASSWORD cannot be used as the first admin's "
                                   "password. " + " ".join(found)
                                   + " Choose another, or unset it to have one generated.")


def _operator() -> str:
    return audit.command_line_actor()


@click.command("bulk-job", hidden=True)
@click.argument("change_id")
@with_appcontext
def bulk_job_command(change_id: str) -> None:
    """Write a confirmed bulk change (a record list's confirmation starts this)."""
    from .records import bulk

    bulk.run(change_id)


def init_app(app: Flask) -> None:
    for command in (setup_command, demo_cli, user_cli, dictionary_cli, history_cli, store_cli,
                    token_group, bulk_job_command):
        app.cli.add_command(command)
