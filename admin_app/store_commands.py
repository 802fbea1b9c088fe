"""`flask store backup FILE`, `flask store restore FILE`, `flask store copy --to TARGET`:
the operator's commands on a whole store.

The work is the store layer's (`store/backup.py`, `store/copy.py`, `store/snapshot.py`);
the commands sit above the record layer because after a restore or a copy the record
layer's history repair (`records.history.repair`) logs any change set a writer had made
but not yet logged at the moment the store was read, so the history is complete with
the records (see `store/snapshot.py`).
"""

from __future__ import annotations

import contextlib
import os
import typing as t

import click
from flask import current_app
from flask.cli import AppGroup

from .security import audit
from .store.backup import Backup, BackupError, contents, restore, take
from .store.connection import ALIAS, database, describe, disk_full
from .store.copy import CopyError, Target, copy, open_target, same_store
from .store.digest import counted

store_cli = AppGroup("store", help="The whole store: back up, restore, copy to another store.")


class Unreadable(click.ClickException):
    """A file that cannot be restored: one sentence, exit status 2, the store untouched."""

    exit_code = 2


def _say(line: str) -> None:
    click.echo(f"  {line}")


def _this_store() -> str:
    config = current_app.config
    return describe(config["MONGODB_URI"], config["STORE_PATH"])


@store_cli.command("backup")
@click.argument("file", type=click.Path(dir_okay=False))
def backup_command(file: str) -> None:
    """Write every collection of the store, read at one moment, to FILE (a zip of BSON
    files with a manifest). Safe while the app serves and writes."""
    if os.path.exists(file):
        raise click.ClickException(f"{file} already exists; give a new file name.")
    click.echo(f"Backing up the {_this_store()} to {file}:")
    try:
        manifest, held = take(database(), file, store=_this_store(), progress=_say)
    except OSError as exc:
        if disk_full(exc):
            raise click.ClickException(f"The disk holding {file} is full: the backup was "
                                       f"not written; free some space and run it again.") \
                from exc
        raise click.ClickException(f"Cannot write {file}: {exc.strerror or exc}.") from exc
    waited = f"; writers waited {held:.0f} ms" if held is not None else ""
    click.echo(f"Backed up {counted(manifest.documents)} in "
               f"{len(manifest.collections)} collections, read {manifest.moment}{waited}.")


@store_cli.command("restore")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--replace", is_flag=True,
              help="Empty a store that holds data and put the backup in its place.")
@click.option("--yes", is_flag=True, help="Do not ask before replacing.")
def restore_command(file: str, replace: bool, yes: bool) -> None:
    """Put a backup taken by `flask store backup` into this store (which must be empty,
    unless --replace), check every collection, and complete the record history."""
    from .records import MODELS, history

    try:
        backup = Backup(file)
    except BackupError as exc:
        raise Unreadable(str(exc)) from exc
    with backup:
        held = contents(database())
        if held and not replace:
            raise click.ClickException(
                f"The store already holds data ({sum(held.values()):,} documents in "
                f"{len(held)} collections); restore into an empty store, or add --replace "
                f"to replace its contents with the backup.")
        manifest = backup.manifest
        click.echo(f"Checking {file}: taken {manifest.taken_at} from the {manifest.store}.")
        try:
            backup.check()
        except BackupError as exc:
            raise Unreadable(str(exc)) from exc
        if held and not yes:
            click.confirm(f"Replace the {sum(held.values()):,} documents of the "
                          f"{_this_store()} with the backup's {manifest.documents:,}?",
                          abort=True)
        click.echo(f"Restoring into the {_this_store()}:")
        try:
            restore(backup, database(), replace=replace, progress=_say)
        except BackupError as exc:
            raise click.ClickException(str(exc)) from exc
        except Exception as exc:
            if disk_full(exc):
                raise click.ClickException("The disk holding the store is full: the restore "
                                           "stopped part-way; free some space and run it "
                                           "again with --replace.") from exc
            raise
    logged = history.repair(MODELS, everything=True)
    # After the restore, which replaced the audit log with the backup's.
    audit.record("store_restored", area="cli", actor=audit.command_line_actor(),
                 detail=f"from {os.path.abspath(file)}, taken {manifest.taken_at} from the "
                        f"{manifest.store}")
    click.echo(f"Restored {counted(manifest.documents)} in {len(manifest.collections)} "
               f"collections, each verified by count and checksum.")
    click.echo(f"Record history: {logged} change set{'s' if logged != 1 else ''} a writer "
               f"had not yet logged when the backup was read "
               f"{'was' if logged == 1 else 'were'} logged.")


@store_cli.command("copy")
@click.option("--to", "to", required=True, metavar="TARGET",
              help="mongodb://HOST/NAME, or an embedded store's folder (its STORE_PATH).")
@click.option("--replace", is_flag=True, help="Empty a target that holds data first.")
@click.option("--yes", is_flag=True, help="Do not ask before replacing.")
def copy_command(to: str, replace: bool, yes: bool) -> None:
    """Copy every collection of this store to TARGET, verify each by count and checksum,
    and complete the record history there. Run it again to resume after an interruption."""
    from .records import MODELS, history

    config = current_app.config
    try:
        target = open_target(to, config["MONGODB_DB"], config["DB_TIMEOUT_MS"])
    except CopyError as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        source = database()
        if same_store(source, target):
            raise click.ClickException("The target is this store itself; give another.")
        held = sum(contents(target.database).values())
        if replace and held and not yes:
            click.confirm(f"Empty the {target.shown} ({counted(held)}) and copy "
                          f"this store into it?", abort=True)
        click.echo(f"Copying the {_this_store()} to the {target.shown}:")
        try:
            done = copy(source, target, source_shown=_this_store(), replace=replace,
                        progress=_say)
        except CopyError as exc:
            raise click.ClickException(str(exc)) from exc
        except Exception as exc:
            if disk_full(exc):
                raise click.ClickException(
                    f"The disk holding the {target.shown} is full: the copy stopped; free "
                    f"some space and run the same command again to resume.") from exc
            from pymongo.errors import PyMongoError

            if isinstance(exc, PyMongoError):
                raise click.ClickException(
                    f"The {target.shown} stopped the copy ({exc}); run the same command "
                    f"again to resume.") from exc
            raise
        with _models_on(target.database):
            logged = history.repair(MODELS, everything=True)
            audit.record("store_copied", area="cli", actor=audit.command_line_actor(),
                         detail=f"from the {_this_store()}, read {done.moment}")
    finally:
        target.close()
    _report(done, target, logged)


def _report(done: t.Any, target: Target, logged: int) -> None:
    copied = [c for c in done.collections if c[2] == "copied"]
    kept = [c for c in done.collections if c[2] == "kept"]
    documents = sum(n for _name, n, _how in done.collections)
    waited = f"; writers waited {done.held_ms:.0f} ms" if done.held_ms is not None else ""
    click.echo(f"Copied {counted(documents)} in {len(done.collections)} collections to "
               f"the {target.shown}, each verified by count and checksum; read "
               f"{done.moment}{waited}.")
    if done.resumed:
        click.echo(f"Resumed: {len(kept)} collections were kept from the interrupted run, "
                   f"{len(copied)} copied now.")
    if logged:
        click.echo(f"Record history: {logged} change set{'s' if logged != 1 else ''} a "
                   f"writer had not yet logged at that moment "
                   f"{'was' if logged == 1 else 'were'} logged on the target.")
    if target.folder is not None:
        instance = target.folder.parent.parent
        if target.folder.parent.name == "store":
            click.echo(f"To serve it: INSTANCE_PATH={instance} (its store is "
                       f"{target.folder.parent}).")
        else:
            click.echo(f"To serve it, move {target.folder.parent} to <instance>/store and "
                       f"set INSTANCE_PATH=<instance>.")
    else:
        click.echo(f"To serve it: MONGODB_URI set to the {target.shown}.")


@contextlib.contextmanager
def _models_on(target: t.Any) -> t.Iterator[None]:
    """The app's models and `store.database()` on `target` for a moment (the copy's
    history repair runs there). MongoEngine has no public way to lend its connection
    without closing the client it holds, so its three registries are swapped and put
    back, and the models' cached collections are dropped both ways."""
    from mongoengine import Document
    from mongoengine import connection as registry
    from mongoengine.base.common import _get_documents_by_db

    def detach() -> None:
        for model in _get_documents_by_db(ALIAS, ALIAS):
            if issubclass(model, Document):
                model._disconnect()

    tables = (registry._connection_settings, registry._connections, registry._dbs)
    saved = [table.get(ALIAS) for table in tables]
    detach()
    registry._connection_settings[ALIAS] = {**(saved[0] or {}), "name": target.name}
    registry._connections[ALIAS] = target.client
    registry._dbs[ALIAS] = target
    try:
        yield
    finally:
        detach()
        for table, value in zip(tables, saved, strict=True):
            if value is None:
                table.pop(ALIAS, None)
            else:
                table[ALIAS] = value
