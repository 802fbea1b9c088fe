"""`flask setup`, `flask demo load` and `flask user create`."""

from __future__ import annotations

import os

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from . import db, demo
from .dictionary import defaults
from .models import User
from .models.users import ROLES, ensure_first_admin


@click.command("setup")
@with_appcontext
@click.option("--no-demo", is_flag=True, help="Do not load the demo data set.")
def setup_command(no_demo: bool) -> None:
    """Prepare a store for first use: dictionary, demo data (empty store only), first admin."""
    config = current_app.config
    click.echo(f"Store: {db.describe(config['MONGODB_URI'], config['STORE_PATH'])}")
    added = defaults.install()
    click.echo(f"Dictionary: {'added ' + str(added) + ' definitions' if added else 'up to date'}.")
    if not no_demo and demo.is_empty():
        report = demo.load()
        click.echo(f"Demo data: {report.summary()}")
        if not report.ok:
            raise click.ClickException("The demo data did not load: "
                                       + "; ".join(report.failure_lines(5)))
    admin, password = ensure_first_admin(config["ADMIN_EMAIL"], config["ADMIN_PASSWORD"])
    port = os.environ.get("PORT", "5000")
    click.echo(f"\nDictadmin: http://127.0.0.1:{port}/admin/")
    if password:
        click.echo(f"Sign in as {admin.email} with password {password}")
        click.echo("(shown once; it is stored hashed. Set ADMIN_PASSWORD to choose your own.)")
    elif config["ADMIN_PASSWORD"] and admin.email == config["ADMIN_EMAIL"].lower():
        click.echo(f"Sign in as {admin.email} with the password in ADMIN_PASSWORD.")
    else:
        click.echo(f"Sign in as {admin.email} (the admin created on first run).")


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
@click.option("--role", type=click.Choice(ROLES), default="agent", show_default=True)
@click.password_option()
def user_create_command(email: str, role: str, password: str) -> None:
    """Create a login for EMAIL."""
    email = email.strip().lower()
    if User.objects(email=email).first():
        raise click.ClickException(f"A login for {email} already exists.")
    user = User(email=email, role=role)
    user.set_password(password)
    user.save()
    click.echo(f"Created {role} login {email}.")


def init_app(app: Flask) -> None:
    for command in (setup_command, demo_cli, user_cli):
        app.cli.add_command(command)
