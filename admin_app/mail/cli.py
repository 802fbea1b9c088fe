"""`flask mail retry` (for cron or by hand) and `flask mail test TO`."""

from __future__ import annotations

import uuid

import click
from bson import ObjectId
from flask.cli import AppGroup

from ..dictionary.rules import is_email
from ..models.kept import now
from . import outbox, smtp
from .delivery import as_email, deliver, settings

mail_cli = AppGroup("mail", help="The outbox of notices sent by mail.")


@mail_cli.command("retry")
def retry_command() -> None:
    """Deliver every queued message; exit 1 if any still fails."""
    messages = outbox.waiting()
    if not messages:
        click.echo("No message is waiting in the outbox.")
    failing = 0
    for message in messages:
        outcome = deliver(message)
        failing += outcome.failed
        click.echo(f"{message.to}: {message.subject!r}: {outcome.text}")
    unsendable = outbox.OutboxMessage.objects(status="failed").count()
    if unsendable:
        click.echo(f"{unsendable} notice(s) cannot be sent at all (see the Outbox screen).")
    if failing:
        click.echo(f"{failing} of {len(messages)} message(s) still fail; they stay queued.")
        click.get_current_context().exit(1)


@mail_cli.command("test")
@click.argument("to")
def test_command(to: str) -> None:
    """Send a test message to TO now, to check the SMTP settings (not kept in the outbox)."""
    config = settings()
    if not is_email(to):
        raise click.ClickException(f"{to!r} is not an email address.")
    if not config.configured:
        raise click.ClickException(smtp.NOT_CONFIGURED)
    message = outbox.OutboxMessage(key=f"test:{uuid.uuid4().hex}", kind="test", to=to,
                                   subject="Dictadmin test message", created_at=now(),
                                   body=f"This test message came through {config.server}.\n")
    message.pk = ObjectId()
    try:
        smtp.send(config, as_email(message, config))
    except smtp.DeliveryError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Sent a test message to {to} through {config.server}.")
