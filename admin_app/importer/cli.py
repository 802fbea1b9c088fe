"""`flask seed load` and `flask seed export`."""

from __future__ import annotations

import sys
import typing as t
from pathlib import Path

import click
from flask.cli import AppGroup

from ..store import disk_full
from .engine import Options, count_records, load
from .export import export
from .full_disk import stopped
from .kinds import KINDS
from .source import SeedFileError

seed_cli = AppGroup("seed", help="Load and export records as JSON seed files.")


@seed_cli.command("load")
@click.argument("files", nargs=-1, required=True,
                type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check and report; write nothing.")
@click.option("--atomic", is_flag=True, help="Write nothing if any record fails.")
@click.option("--on-existing", type=click.Choice(["update", "skip"]), default="update",
              show_default=True, help="What to do with records that already exist.")
@click.option("--ignore-unknown", is_flag=True, help="Skip fields the dictionary lacks.")
@click.option("--create-missing-orgs", is_flag=True,
              help="Create an Org named by a customer when none exists.")
def load_command(files: tuple[Path, ...], dry_run: bool, atomic: bool, on_existing: str,
                 ignore_unknown: bool, create_missing_orgs: bool) -> None:
    """Create or update records from FILES (.json objects keyed by entity, or .jsonl)."""
    options = Options(dry_run=dry_run, atomic=atomic, on_existing=on_existing,
                      ignore_unknown=ignore_unknown, create_missing_orgs=create_missing_orgs)
    try:
        report = _with_progress(files, options)
    except Exception as exc:
        if not disk_full(exc):
            raise
        click.echo(f"The {'check' if dry_run else 'load'} stopped: {stopped(exc, files)}.",
                   err=True)
        sys.exit(1)
    for line in report.failure_lines():
        click.echo(line, err=True)
    click.echo(report.summary())
    if report.file_error:
        sys.exit(2)
    if not report.ok:
        sys.exit(1)


def _with_progress(files: tuple[Path, ...], options: Options) -> t.Any:
    if not sys.stderr.isatty():
        return load(files, options)
    try:
        total = count_records(files) * (2 if options.atomic and not options.dry_run else 1)
    except SeedFileError:
        return load(files, options)  # the load reports the file error itself
    with click.progressbar(length=total, label="Loading", file=sys.stderr,
                           show_pos=True, show_percent=True) as bar:
        return load(files, options, progress=bar.update)


@seed_cli.command("job", hidden=True)
@click.argument("job_id")
def job_command(job_id: str) -> None:
    """Run a load started from the upload page (the page starts this itself)."""
    from .jobs import run

    run(job_id)


@seed_cli.command("export")
@click.argument("file", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@click.option("--entity", "entities", multiple=True,
              type=click.Choice([k.name for k in KINDS]),
              help="Only this entity (repeat for more).")
@click.option("--include-archived", is_flag=True, help="Export archived records too.")
def export_command(file: Path, entities: tuple[str, ...], include_archived: bool) -> None:
    """Write records to FILE (.json, or .jsonl for one record a line)."""
    counts = export(file, entities, include_archived)
    click.echo(f"Exported {sum(counts.values())} records to {file}: "
               + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) + ".")
