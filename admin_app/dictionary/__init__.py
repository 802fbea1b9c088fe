"""The data dictionary: the single source of truth for labels, mandatory flags and layouts.

`current()` gives the snapshot for this request: the first call in a request reads the
stored version (one small read) and reloads the definitions only when it has moved.
"""

from __future__ import annotations

from flask import Flask, current_app, g, has_app_context

from .snapshot import Entity, Field, Level, Section, Snapshot, SnapshotCache

__all__ = ["Entity", "Field", "Level", "Section", "Snapshot", "current", "current_or_default",
           "init_app"]

_EXTENSION = "dictadmin.dictionary"


def init_app(app: Flask) -> None:
    # `flask dictionary` (`admin_app/customising/cli.py`) is added by `admin_app/cli.py`:
    # its commands change the dictionary and rewrite records, layers above this package.
    app.extensions[_EXTENSION] = SnapshotCache()


def current() -> Snapshot:
    """The dictionary as of the start of this request (or a fresh read outside one)."""
    cache: SnapshotCache = current_app.extensions[_EXTENSION]
    try:
        snapshot = g.get("dictionary_snapshot")
    except RuntimeError:  # no request or app context carries g
        return cache.fresh()
    if snapshot is None:
        snapshot = g.dictionary_snapshot = cache.fresh()
    return snapshot


def latest() -> Snapshot:
    """The dictionary as stored now, even inside a request that has taken its snapshot:
    for work that must follow a change the request itself just made. Outside an app (a
    script with only a store connection), read straight from the store."""
    if not has_app_context():
        from .snapshot import load

        return load()
    return current_app.extensions[_EXTENSION].fresh()


def current_or_default() -> Snapshot:
    """The dictionary for a page; a store with none gets the shipped one first.

    A web process may be started without `flask setup` (the Procfile runs gunicorn
    directly; an operator points MONGODB_URI at a new server): its pages must work, not
    fail for want of definitions. Installing only adds what is missing, and two workers
    doing it at once add each definition once.
    """
    snapshot = current()
    if snapshot.entities:
        return snapshot
    from .defaults import install

    install()
    g.pop("dictionary_snapshot", None)
    return current()
