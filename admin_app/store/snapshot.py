"""Every collection of a store read as it was at one moment, while the app serves and
writes: what a backup and a copy read.

**The embedded store** keeps each collection in its own SQLite file (WAL), so reading
file A and then file B is two moments, and a record saved in between would be in one
and not the other. Instead: take every file's write lock (`BEGIN IMMEDIATE`, in name
order; the app's writes each lock one file, so this never deadlocks and waits at most
for the write in progress); with every write held, open a read transaction on each file
and make its first read, which fixes what it sees (a WAL reader's snapshot); release the
write locks. Writers waited only for that (`held_ms`, a few milliseconds); the reads then
take as long as they take, each seeing the files as they were at that one moment.

**mongomock** (tests, one process) holds the process's write lock while it is read.

**A MongoDB server** is read collection by collection through the driver: not one moment
(the README says to use `mongodump --oplog` on a replica set for that). `record_history`
is read first, so history is never ahead of the records it belongs to; records written
after it are completed by the restore's history repair.

A record and its history are two writes (see `records/history.py`): a moment can fall
between them. The record then carries its change set (`last_change`), and the restore,
or the copy, runs the history repair that logs it.
"""

from __future__ import annotations

import contextlib
import pathlib
import sqlite3
import time
import typing as t

import bson

# The copy's own bookkeeping on a target (see copy.py): never part of a store's contents.
COPY_STATE = "store_copy_progress"
# Read first on a store read collection by collection (see above).
HISTORY = "record_history"
# Files SQLite keeps beside a database file (as litemongo's sqlite_store has them).
_SIDECARS = ("-wal", "-shm", "-journal")
# How long taking a file's lock waits for a write in progress (the app's writes wait 30 s).
_LOCK_WAIT_SECONDS = 30


class Snapshot(t.Protocol):
    """A store's collections, read as of `moment` (a sentence for the operator)."""

    collections: list[str]
    moment: str
    held_ms: float | None

    def documents(self, name: str) -> t.Iterator[bytes]:
        """The collection's documents as BSON, in the store's natural order."""
        ...


def embedded_folder(database: t.Any) -> pathlib.Path | None:
    """The folder of an embedded store's database (one SQLite file per collection), or
    None for mongomock and MongoDB."""
    import litemongo

    if not isinstance(database.client, litemongo.MongoClient):
        return None
    return pathlib.Path(database.client._store._dirpath) / database.name


@contextlib.contextmanager
def taken(database: t.Any) -> t.Iterator[Snapshot]:
    """Every collection of `database` (a pymongo-style handle) at one moment where the
    store allows it (see the module's docstring)."""
    folder = embedded_folder(database)
    if folder is not None:
        with _embedded(folder) as snapshot:
            yield snapshot
        return
    import mongomock

    if isinstance(database.client, mongomock.MongoClient):
        from .connection import _MONGOMOCK_WRITES

        with _MONGOMOCK_WRITES:
            yield _Driver(database, "at one moment (every write of this process held)")
        return
    yield _Driver(database, "collection by collection (a MongoDB server: for one moment "
                            "use mongodump --oplog on a replica set)")


def collection_files(folder: pathlib.Path) -> list[str]:
    """The collection files of an embedded store's database folder, by name."""
    if not folder.is_dir():
        return []
    return sorted(path.name for path in folder.iterdir()
                  if path.is_file() and not path.name.endswith(_SIDECARS))


@contextlib.contextmanager
def _embedded(folder: pathlib.Path) -> t.Iterator[Snapshot]:
    locks: dict[str, sqlite3.Connection] = {}
    readers: dict[str, sqlite3.Connection] = {}
    try:
        started = None
        while True:  # a collection created meanwhile is locked too
            new = [name for name in collection_files(folder) if name not in locks]
            if not new:
                break
            for name in new:
                lock = _open(folder / name)
                locks[name] = lock
                lock.execute("BEGIN IMMEDIATE")
                started = started or time.monotonic()
        for name in locks:
            reader = _open(folder / name)
            readers[name] = reader
            reader.execute("BEGIN")
            reader.execute("SELECT count(*) FROM sqlite_master").fetchone()  # fixes the snapshot
        held = (time.monotonic() - started) * 1000 if started else 0.0
        for lock in locks.values():
            lock.execute("ROLLBACK")
        yield _Files(readers, held)
    finally:
        for connection in (*locks.values(), *readers.values()):
            connection.close()


def _open(path: pathlib.Path) -> sqlite3.Connection:
    return sqlite3.connect(path, timeout=_LOCK_WAIT_SECONDS, isolation_level=None,
                           check_same_thread=False)


class _Files:
    """An embedded store's collection files, each in a read transaction begun at one moment."""

    def __init__(self, readers: dict[str, sqlite3.Connection], held_ms: float) -> None:
        self._readers = readers
        self.held_ms: float | None = held_ms
        self.moment = "at one moment (every collection file's write lock held together)"
        self.collections = [name for name, reader in readers.items()
                            if name != COPY_STATE and _is_created(reader)]

    def documents(self, name: str) -> t.Iterator[bytes]:
        cursor = self._readers[name].execute("SELECT doc FROM documents ORDER BY rowid")
        for (raw,) in cursor:
            yield bytes(raw)


def _is_created(reader: sqlite3.Connection) -> bool:
    """As litemongo lists collections: documents, an index or an explicit create."""
    tables = {row[0] for row in reader.execute("SELECT name FROM sqlite_master "
                                                "WHERE type = 'table'")}
    if "documents" not in tables:
        return False
    if reader.execute("SELECT 1 FROM documents LIMIT 1").fetchone():
        return True
    if "indexes" in tables and reader.execute("SELECT 1 FROM indexes LIMIT 1").fetchone():
        return True
    return "info" in tables and bool(reader.execute(
        "SELECT 1 FROM info WHERE key = 'force_created' AND value").fetchone())


class _Driver:
    """A store read through its driver, one collection after another."""

    held_ms = None

    def __init__(self, database: t.Any, moment: str) -> None:
        self._database = database
        self.moment = moment
        names = [name for name in database.list_collection_names()
                 if not name.startswith("system.") and name != COPY_STATE]
        self.collections = sorted(names, key=lambda name: (name != HISTORY, name))

    def documents(self, name: str) -> t.Iterator[bytes]:
        for document in self._database[name].find({}):
            yield bson.encode(document)
