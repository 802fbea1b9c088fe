"""`flask history prune` and `flask history repair`: keeping record history in bounds
and complete.

History is kept forever unless `HISTORY_DAYS` is set; then `prune` (from cron, or by
hand) deletes change sets older than that. `repair` logs the change sets that a writer
killed between a record and its history left in the record (see `history.py`); the
reads and writes of a record do it for that record anyway.
"""

from __future__ import annotations

from datetime import timedelta

import click
from flask import current_app
from flask.cli import AppGroup

from ..models.kept import now
from . import history
from .write import MODELS

history_cli = AppGroup("history", help="Record history: prune old change sets, repair.")


@history_cli.command("prune")
@click.option("--days", type=click.IntRange(min=1), default=None,
              help="Delete change sets older than this many days (default: HISTORY_DAYS).")
def prune_command(days: int | None) -> None:
    """Delete change sets older than HISTORY_DAYS (or --days); records are untouched."""
    days = days or current_app.config.get("HISTORY_DAYS")
    if not days:
        click.echo("HISTORY_DAYS is not set and no --days was given: history is kept "
                   "forever; nothing was deleted.")
        return
    cutoff = now() - timedelta(days=days)
    deleted = history.prune(cutoff)
    click.echo(f"Deleted {deleted} change set{'s' if deleted != 1 else ''} made before "
               f"{cutoff:%Y-%m-%d %H:%M} UTC (older than {days} days).")


@history_cli.command("repair")
@click.option("--everything", is_flag=True,
              help="Read every record, not only those of batches that did not finish.")
def repair_command(everything: bool) -> None:
    """Log change sets left in records by a writer that was stopped half-way."""
    missing = history.repair(MODELS, everything=everything)
    click.echo(f"History is complete: {missing} change set{'s' if missing != 1 else ''} "
               f"{'was' if missing == 1 else 'were'} missing and now logged.")
