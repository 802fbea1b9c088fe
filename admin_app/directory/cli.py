"""`flask ldap sync` (now, by hand or from cron) and `flask ldap schedule` (the clock process).

Exit codes let cron and monitoring tell a bad night: 0 complete or previewed, 1 failed
or held (nothing written), 2 the command was used wrongly.
"""

from __future__ import annotations

import signal
import time
import typing as t
from datetime import UTC, datetime

import click
from bson import ObjectId
from flask.cli import AppGroup

from . import approvals, runs
from .runs import SyncRun
from .sync import run

ldap_cli = AppGroup("ldap", help="Sync people from Active Directory / LDAP.")
TICK_SECONDS = 60


def _connectors(name: str | None) -> list[t.Any]:
    from .connectors import all_connectors

    found = [c for c in all_connectors() if name is None or c.name == name]
    if name is not None and not found:
        raise click.UsageError(f"There is no connector called {name!r}.")
    return found


def describe(record: SyncRun) -> str:
    counts = ", ".join(f"{n} {what}" for what, n in (record.counts or {}).items())
    line = f"{record.connector}: {record.status}" + (f" ({counts})" if counts else "")
    return line + (f". {record.reason}" if record.reason else ".")


@ldap_cli.command("sync")
@click.option("--connector", "name", help="Only this connector (default: every enabled one).")
@click.option("--dry-run", is_flag=True, help="Preview: read and plan, write nothing.")
@click.option("--force", is_flag=True, help="Apply a run the guards would hold.")
@click.option("--approve-conflict", "key", metavar="KEY",
              help="Allow the entry KEY to take over the record whose email it shares.")
def sync_command(name: str | None, dry_run: bool, force: bool, key: str | None) -> None:
    """Run the connectors now; exit 1 when any run failed or was held."""
    if key is not None:
        _approve(name, key)
        return
    connectors = [c for c in _connectors(name) if name is not None or c.enabled]
    if not connectors:
        click.echo("No enabled connector.")
    bad = 0
    for connector in connectors:
        record = run(connector, dry_run=dry_run, force=force, started_by="flask ldap sync")
        click.echo(describe(record))
        for error in (record.errors or [])[:20]:
            click.echo(f"  {error}")
        bad += not record.ok
    if bad:
        click.get_current_context().exit(1)


def _approve(name: str | None, key: str) -> None:
    if name is None:
        raise click.UsageError("Name the connector with --connector to approve a conflict.")
    _connectors(name)
    last = SyncRun.objects(connector=name, actions__key=key).order_by("-started").first()
    action = next((a for a in (last.actions if last else []) if a.get("key") == key
                   and a.get("kind") == "conflict"), None)
    if action is None or not action.get("record"):
        raise click.ClickException(f"The last run of {name!r} reported no conflict for "
                                   f"{key!r} that can be linked.")
    approvals.approve(name, key, ObjectId(action["record"]), by="flask ldap sync")
    click.echo(f"The entry {key} may now take over the record {action['name']!r}; "
               f"the next run links it.")


@ldap_cli.command("schedule")
def schedule_command() -> None:
    """Run each connector once a day at its time, until stopped (SIGTERM or Ctrl-C)."""
    stopping: list[bool] = []

    def stop(*_args: t.Any) -> None:
        stopping.append(True)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    click.echo("The directory scheduler is running.")
    while not stopping:
        for connector in due(_connectors(None), datetime.now()):
            if stopping:
                break
            record = run(connector, scheduled=True, started_by="flask ldap schedule",
                         once_since=_local_midnight_utc())
            if record.pk is not None:
                click.echo(describe(record))
        deadline = time.monotonic() + TICK_SECONDS
        while not stopping and time.monotonic() < deadline:
            time.sleep(0.5)
    click.echo("The directory scheduler stopped.")


def due(connectors: list[t.Any], local: datetime) -> list[t.Any]:
    """The enabled connectors whose daily time (local) has come and that have not run today."""
    since = _local_midnight_utc(local)
    out = []
    for connector in connectors:
        at = _time_of_day(connector.schedule)
        if not connector.enabled or at is None or (local.hour, local.minute) < at:
            continue
        if not runs.scheduled_since(connector.name, since):
            out.append(connector)
    return out


def _time_of_day(schedule: str | None) -> tuple[int, int] | None:
    try:
        hours, minutes = (int(p) for p in (schedule or "").split(":"))
    except ValueError:
        return None
    return (hours, minutes) if 0 <= hours < 24 and 0 <= minutes < 60 else None


def _local_midnight_utc(local: datetime | None = None) -> datetime:
    """Today's local midnight in the stores' UTC."""
    local = local or datetime.now()
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight.astimezone(UTC).replace(tzinfo=None)
