"""`flask token create EMAIL --scope read|read-write [--days N]`: a token for scripts and
first setup, printed once (an admin makes them on the screen too: Access → API tokens)."""

from __future__ import annotations

import click

from ..models.users import User, normal_email
from . import api_tokens, audit


@click.group("token", help="Make API tokens for a staff login.")
def token_group() -> None:
    pass


@token_group.command("create")
@click.argument("email")
@click.option("--scope", type=click.Choice(["read", "read-write"]), required=True,
              help="read: may only read; read-write: may also create and change records.")
@click.option("--days", type=click.IntRange(1, api_tokens.LONGEST_DAYS),
              default=api_tokens.DEFAULT_DAYS, show_default=True, help="How long it lasts.")
@click.option("--name", default="", help="What the token is for (shown on the tokens screen).")
def create(email: str, scope: str, days: int, name: str) -> None:
    """Print a new token for the login EMAIL, once: it is stored only as a digest."""
    user = User.objects(email=normal_email(email)).first()
    if user is None:
        raise click.ClickException(f"There is no login {email}.")
    try:
        issued = api_tokens.create(user, scope, days=days, name=name,
                                   actor=audit.command_line_actor())
    except api_tokens.TokenRefused as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(issued.secret)
    click.echo(f"A {scope} token for {user.email}, until {issued.token.expires:%Y-%m-%d}. "
               f"It is shown only now: keep it somewhere safe.", err=True)
