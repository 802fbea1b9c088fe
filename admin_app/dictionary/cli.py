"""`flask dictionary …` commands."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from . import defaults

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
