"""One database connection per process, chosen by `MONGODB_URI`.

- `mongodb://` / `mongodb+srv://`: a real MongoDB server (checked with a ping at start-up).
- `mongomock://localhost/NAME`: in memory, for tests.
- unset: the embedded on-disk store (litemongo: collections in SQLite files) under the
  instance folder, so a new user needs no server.

litemongo's SQLite handles belong to the thread that opened them, so the embedded store
is served by process workers, each connecting after the fork (gunicorn without
`--preload` calls `create_app()` in every worker).
"""

from __future__ import annotations

import errno
import os
import re
import sqlite3
import threading
import typing as t
from urllib.parse import urlparse

import mongoengine
import mongomock
import pymongo
from pymongo.errors import ConfigurationError, InvalidURI, PyMongoError

ALIAS = "default"


# SQLite's words for SQLITE_FULL, for errors that do not carry the code.
_SQLITE_FULL = "database or disk is full"
_NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})


def disk_full(error: BaseException | None) -> bool:
    """True when `error`, or an error it was raised from or while handling, is the disk
    (or the store's file) being full: SQLite's SQLITE_FULL, or ENOSPC / a quota. Every
    way in asks this to say so in a sentence instead of a traceback."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, sqlite3.Error) and (
                getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
                or _SQLITE_FULL in str(error)):
            return True
        if isinstance(error, OSError) and error.errno in _NO_SPACE:
            return True
        error = error.__cause__ or error.__context__
    return False


class StoreError(RuntimeError):
    """The store named by the configuration cannot be used; the message says why and what to do."""


def describe(uri: str | None, store_path: str) -> str:
    """Say which store is in use, for start-up messages (never echoes a password)."""
    if not uri:
        return f"embedded store in {store_path}"
    parsed = urlparse(uri)
    return f"{parsed.scheme}://{parsed.hostname or ''}{parsed.path}"


def connect(uri: str | None, store_path: str, db_name: str, timeout_ms: int = 3000) -> None:
    """Connect MongoEngine's default alias to the configured store, replacing any previous one."""
    mongoengine.disconnect(ALIAS)
    if not uri:
        _connect_embedded(store_path, db_name)
        return
    scheme = urlparse(uri).scheme
    if scheme == "mongomock":
        _serialise_mongomock_writes()
        name = urlparse(uri).path.strip("/") or db_name
        mongoengine.connect(db=name, alias=ALIAS, host="mongodb://localhost",
                            mongo_client_class=mongomock.MongoClient,
                            uuidRepresentation="standard")
        return
    if scheme not in ("mongodb", "mongodb+srv"):
        raise StoreError(
            f"MONGODB_URI must start with mongodb://, mongodb+srv:// or mongomock://, "
            f"not {scheme or 'nothing'}://; unset it to use the embedded store."
        )
    _connect_server(uri, db_name, timeout_ms)


_MONGOMOCK_WRITES = threading.RLock()


def _serialise_mongomock_writes() -> None:
    """mongomock reads, changes and writes a document in separate steps; one lock for
    every write of the process makes each write call atomic between threads, as a
    MongoDB server makes it (the embedded store does it per file: `store.litemongo_changes`)."""
    collection = mongomock.collection.Collection
    if getattr(collection, "_dictadmin_serialised", False):
        return
    for name in ("_insert", "_update", "_find_and_modify", "_delete"):
        setattr(collection, name, _serialised(getattr(collection, name)))
    collection._dictadmin_serialised = True


def _serialised(write: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
    def serialised(self: t.Any, *args: t.Any, **kwargs: t.Any) -> t.Any:
        with _MONGOMOCK_WRITES:
            return write(self, *args, **kwargs)

    return serialised


# What every read and write on a MongoDB server asks for unless MONGODB_URI names the
# option itself (docs/scaling.md): a write is acknowledged once a majority of the replica
# set holds it, so a failover cannot roll back a save, a claim or a lease; reads go to the
# primary, so the next page, on any web process, reads what was just saved; a write or a
# read cut off by a failover is retried once on the new primary, and a retried write is
# applied once.
SERVER_DEFAULTS: dict[str, t.Any] = {"w": "majority", "readPreference": "primary",
                                     "retryWrites": True, "retryReads": True}


def server_options(uri: str) -> dict[str, t.Any]:
    """SERVER_DEFAULTS less the options `uri` names (the operator's word wins)."""
    named = {part.split("=", 1)[0].lower()
             for part in re.split(r"[&;]", urlparse(uri).query) if part}
    return {name: value for name, value in SERVER_DEFAULTS.items() if name.lower() not in named}


def _connect_server(uri: str, db_name: str, timeout_ms: int) -> None:
    try:
        mongoengine.connect(host=uri, alias=ALIAS, db=db_name,
                            serverSelectionTimeoutMS=timeout_ms, connect=False,
                            uuidRepresentation="standard", **server_options(uri))
        mongoengine.get_db(ALIAS).command("ping")
    except (InvalidURI, ConfigurationError, ValueError) as exc:
        mongoengine.disconnect(ALIAS)
        raise StoreError(f"MONGODB_URI is not a valid MongoDB address ({exc}).") from exc
    except PyMongoError as exc:
        mongoengine.disconnect(ALIAS)
        host = urlparse(uri).hostname or uri
        raise StoreError(
            f"Cannot reach MongoDB at {host} within {timeout_ms} ms; check that the server "
            f"runs and MONGODB_URI is right, or unset MONGODB_URI to use the embedded store."
        ) from exc


def _connect_embedded(store_path: str, db_name: str) -> None:
    import litemongo

    from . import litemongo_changes

    litemongo_changes.apply()

    try:
        # Created here with exist_ok: litemongo's own mkdir races when two workers start at once.
        os.makedirs(os.path.join(store_path, db_name), exist_ok=True)
    except OSError as exc:
        raise StoreError(f"Cannot create the embedded store folder {store_path}: {exc}.") from exc

    def client(**_settings: t.Any) -> litemongo.MongoClient:
        # MongoEngine passes pymongo-style settings (host, driver…) that a file store ignores.
        return litemongo.MongoClient(store_path, database=db_name)

    mongoengine.connect(db=db_name, alias=ALIAS, host="mongodb://localhost",
                        mongo_client_class=client, uuidRepresentation="standard")


def in_memory() -> bool:
    """True on mongomock: the store lives inside this process, so another process cannot
    see it, and it has no indexes (every query is a scan)."""
    return isinstance(database().client, mongomock.MongoClient)


def queries_in_process() -> bool:
    """True on the embedded store and mongomock: a query is worked out in this process,
    from the candidates an index gives, so a query that starts over (a page after a
    page) costs its candidates again, where a server walks its index from a key."""
    return not isinstance(database().client, pymongo.MongoClient)


def database() -> t.Any:
    """The pymongo-compatible database handle, for the few raw reads that must be cheap."""
    return mongoengine.get_db(ALIAS)
