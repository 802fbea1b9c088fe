"""`flask dictionary …` commands."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from ..dictionary import defaults
from . import filing, profiles, retype
from .checked import DictionaryError

dictionary_cli = AppGroup(
    "dictionary", help="Manage the data dictionary (field labels, mandatory flags, layouts).")


@dictionary_cli.command("init")
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=defaults.DEFAULT_FILE, show_default=True)
def init_command(path: Path) -> None:
    """Install the default dictionary; definitions already present are left as they are."""
    added = defaults.install(path)
    if added:
        click.echo(f"Dictionary: added {added} definitions from {path}.")
    else:
        click.echo("Dictionary: already installed; nothing changed.")


@dictionary_cli.command("export")
@click.argument("file", type=click.Path(dir_okay=False, writable=True, path_type=Path))
def export_command(file: Path) -> None:
    """Write the whole dictionary to FILE as stable, sorted JSON."""
    count = filing.export(file)
    click.echo(f"Exported {count} definitions to {file}.")


@dictionary_cli.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Print the plan; change nothing.")
def import_command(file: Path, dry_run: bool) -> None:
    """Make the dictionary match FILE (fields and rules missing from it are retired, not
    deleted; a file without a rules list leaves the rules as they are).

    Exits 2 if FILE cannot be read as a dictionary file, 1 if the dictionary's rules
    refuse any of it (nothing is changed then) or a write fails.
    """
    try:
        result = filing.plan(file)
    except filing.DictionaryFileError as exc:
        raise _failure(str(exc), exit_code=2) from exc
    except DictionaryError as exc:
        raise _failure(str(exc)) from exc
    if result.problems:
        click.echo(f"{file.name} was not imported and nothing was changed. Correct these "
                   f"definitions in the file, then import it again:", err=True)
        for problem in result.problems:
            click.echo(f"  {problem}", err=True)
        sys.exit(1)
    for line in result.changes + result.notes:
        click.echo(f"  {line}")
    if result.empty:
        click.echo("The dictionary already matches the file; nothing to change.")
    elif dry_run:
        click.echo(f"Dry run: {len(result.changes)} changes planned; nothing was changed.")
    else:
        try:
            filing.execute(result)
        except filing.PartlyApplied as exc:
            raise _failure(str(exc)) from exc
        click.echo(f"Applied {len(result.changes)} changes.")


def _failure(message: str, exit_code: int = 1) -> click.ClickException:
    failure = click.ClickException(message)
    failure.exit_code = exit_code
    return failure


@dictionary_cli.command("profile")
@click.argument("name", required=False)
def profile_command(name: str | None) -> None:
    """Apply a solution profile's terms and rules (itsm, csm, cafm); without NAME, list
    them."""
    if not name:
        for key, description in profiles.available().items():
            click.echo(f"{key:6} {description}")
        return
    try:
        changed = profiles.apply(name)
    except DictionaryError as exc:
        raise click.ClickException(str(exc)) from exc
    for line in changed:
        click.echo(f"  {line}")
    click.echo(f"Profile {name} applied." if changed else f"Profile {name} was already in use.")


@dictionary_cli.command("recover")
def recover_command() -> None:
    """Finish or undo type changes that a stopped process left half-done."""
    said = retype.recover()
    for line in said:
        click.echo(line)
    if not said:
        click.echo("No type change was interrupted; nothing to do.")


@dictionary_cli.command("search-keys-job", hidden=True)
@click.argument("job_id")
def search_keys_job_command(job_id: str) -> None:
    """Rewrite search keys after a dictionary change (the dictionary screen starts this)."""
    from .search_key_jobs import run

    run(job_id)
