"""**One write is one SQLite transaction.** mongomock reads a document, changes it and
writes it back in separate steps, each write committed on its own: two processes
updating one record could both read it and the second write undo the first (a seed
load undid saves the form had confirmed), and `insert_many` committed record by
record. Here every write call of a collection (`insert_*`, `update_*`, `replace_one`,
`find_one_and_*`, `delete_*`) runs inside one `BEGIN IMMEDIATE` transaction on that
collection's file: its read, change and write happen while no other connection can
write the file, so a conditional single-document update is atomic across processes, as
on MongoDB, and a batch is written whole or not at all. A failed write (a full disk)
rolls back and drops the in-process index, which the next query rebuilds; the store's
own refusals (a duplicate key) keep what the call wrote before them, as MongoDB does.

"""

from __future__ import annotations

import contextlib
import typing as t

from pymongo.errors import OperationFailure

from .patching import replace

# The collection methods every write goes through (the public ones call these).
WRITES = ("_insert", "_update", "_find_and_modify", "_delete")
# How long a write waits for another connection's transaction on the same file: a seed
# load's batch holds it for a fraction of a second.
BUSY_TIMEOUT_MS = 30_000
# Connections (by id) inside a transaction of ours, and how deeply (insert_many nests).
_HELD: dict[int, int] = {}


@contextlib.contextmanager
def one_transaction(store: t.Any) -> t.Iterator[None]:
    """Run a write of `store` (a litemongo CollectionStore) in one IMMEDIATE transaction:
    the write lock is taken before anything is read, so what is read is current and
    nobody else writes the file until this commits."""
    connection = store._connection
    key = id(connection)
    if _HELD.get(key):
        _HELD[key] += 1
        try:
            yield
        finally:
            _HELD[key] -= 1
        return
    if connection.in_transaction:  # a statement of upstream's left open: not ours to keep
        connection.commit()
    connection.execute("BEGIN IMMEDIATE")
    _HELD[key] = 1
    try:
        yield
        _HELD.pop(key, None)
        connection.commit()
    except OperationFailure:
        # The store's own refusal (a duplicate key, a write error): what the call wrote
        # before it stays, as on MongoDB (an unordered insert keeps every other document).
        _HELD.pop(key, None)
        connection.commit()
        raise
    except BaseException:
        _HELD.pop(key, None)
        if connection.in_transaction:
            connection.rollback()
        # The in-process index may hold what was rolled back: the next query rebuilds it.
        store._query_index = None
        store._data_version = None
        raise


def _in_one_transaction(upstream: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
    def write(self: t.Any, *args: t.Any, **kwargs: t.Any) -> t.Any:
        store = self._store
        if getattr(store, "_connection", None) is None:
            return upstream(self, *args, **kwargs)
        with one_transaction(store):
            return upstream(self, *args, **kwargs)

    return write


def _inside_held_transaction(upstream: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
    """Upstream's document writes commit each on its own (`with connection:`); inside a
    transaction of ours they run as its statements instead, committed with it."""
    def write(self: t.Any, key: t.Any, *value: t.Any) -> None:
        connection = self._connection
        if not _HELD.get(id(connection)):
            return upstream(self, key, *value)
        encoded = self.encode_key(key)
        if value:
            document = value[0] if isinstance(value[0], bytes) else self._encode_doc(value[0])
            self._cur.execute(
                f"INSERT INTO {self._table_name} VALUES(?, ?) "  # noqa: S608 - upstream's names
                f"ON CONFLICT({self.ID}) DO UPDATE SET {self.DOC}=excluded.{self.DOC}",
                (encoded, document))
            return None
        cursor = self._cur.execute(
            f"DELETE FROM {self._table_name} WHERE {self.ID}=?", (encoded,))  # noqa: S608
        if cursor.rowcount <= 0:
            raise KeyError(encoded)
        return None

    return write


def install() -> None:
    from litemongo import sqlite_store
    from litemongo._vendor.mongomock import collection

    for method in WRITES:
        replace(collection.Collection, method, _in_one_transaction)
    replace(sqlite_store.TableDict, "__setitem__", _inside_held_transaction)
    replace(sqlite_store.TableDict, "__delitem__", _inside_held_transaction)
