"""**Another process's write costs what it changed, not the whole collection.** litemongo
keeps an in-process hash index per collection and, when another connection has written
the file (SQLite's `data_version` moved), re-reads and re-indexes every document: 3 s
at 22,000 records, in every web worker after every save by another worker, import or
sync run. Here each collection file gets a change log: SQLite triggers
append the key of every inserted, updated or deleted document, so a stale index
re-indexes only the keys logged since it last looked. Positions in the index are the
documents' SQLite rowids, so the natural order is the one a full rebuild gives. When
the log no longer reaches back that far, or most documents changed, it rebuilds whole.

"""

from __future__ import annotations

import typing as t

from .patching import replace
from .transactions import BUSY_TIMEOUT_MS

# The change log: a table and triggers in each collection file. An index further behind
# than the 20,000 entries kept rebuilds whole.
KEEP_CHANGES = 20_000
_LOG_SQL = (
    "CREATE TABLE IF NOT EXISTS dictadmin_changes"
    "(seq INTEGER PRIMARY KEY AUTOINCREMENT, key)",
    "CREATE TRIGGER IF NOT EXISTS dictadmin_changes_insert AFTER INSERT ON documents"
    " BEGIN INSERT INTO dictadmin_changes(key) VALUES (NEW._id); END",
    "CREATE TRIGGER IF NOT EXISTS dictadmin_changes_update AFTER UPDATE ON documents"
    " BEGIN INSERT INTO dictadmin_changes(key) SELECT OLD._id WHERE OLD._id IS NOT NEW._id;"
    " INSERT INTO dictadmin_changes(key) VALUES (NEW._id); END",
    "CREATE TRIGGER IF NOT EXISTS dictadmin_changes_delete AFTER DELETE ON documents"
    " BEGIN INSERT INTO dictadmin_changes(key) VALUES (OLD._id); END",
    "CREATE TRIGGER IF NOT EXISTS dictadmin_changes_prune AFTER INSERT ON dictadmin_changes"
    " BEGIN DELETE FROM dictadmin_changes WHERE seq <= NEW.seq - 20000; END",
)


def _open_logged(upstream: t.Callable[[t.Any], None]) -> t.Callable[[t.Any], None]:
    """Open the file as upstream does, then make sure it logs its changes (before this
    connection reads or writes anything, so no write of a patched process goes unlogged)."""

    def open(self: t.Any) -> None:  # noqa: A001 - the method's upstream name
        upstream(self)
        connection = self._connection
        connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        have = connection.execute("SELECT count(*) FROM sqlite_master WHERE name LIKE ?",
                                  ("dictadmin_changes%",)).fetchone()[0]
        if have != len(_LOG_SQL):
            with connection:
                for statement in _LOG_SQL:
                    connection.execute(statement)
        self._changes_seen = None

    return open


def _query_index(_upstream: t.Any) -> t.Callable[[t.Any], t.Any]:
    """The collection's hash index, brought up to date with what other connections wrote
    by re-indexing only the logged keys, or else built whole (as upstream, from rowids)."""
    from litemongo._vendor.mongomock import indexing

    def _get_query_index(self: t.Any) -> t.Any:
        stale = self._query_index_is_stale()
        index = self._query_index
        # Less the paths whose keys the file keeps itself (`keys_table`).
        paths = indexing.index_paths(self.indexes.values()) - getattr(
            self, "_paths_in_sqlite", frozenset())
        if index is None or (stale and not _catch_up(self, index)):
            self._changes_seen = _last_change(self)  # before the documents are read
            index = indexing.CollectionIndexes()
            index.set_paths(paths, ())
            _reindex(self, index, "SELECT rowid, _id, doc FROM documents ORDER BY rowid", ())
            self._query_index = index
        else:
            index.set_paths(paths, self._iter_items())
        return index

    return _get_query_index


def _last_change(store: t.Any) -> int:
    return store._connection.execute("SELECT max(seq) FROM dictadmin_changes").fetchone()[0] or 0


def _catch_up(store: t.Any, index: t.Any) -> bool:
    """Re-index the keys logged since the index last looked; False when the log cannot
    tell (it was pruned past that point) or a full rebuild costs less."""
    seen = getattr(store, "_changes_seen", None)
    connection = store._connection
    first, last = connection.execute("SELECT min(seq), max(seq) FROM dictadmin_changes").fetchone()
    if seen is None or (last or 0) < seen or (first is not None and first > seen + 1):
        return False
    keys = [key for (key,) in connection.execute(
        "SELECT DISTINCT key FROM dictadmin_changes WHERE seq > ? AND seq <= ?",
        (seen, last or 0))]
    if len(keys) > max(1000, len(index._docs) // 2):
        return False
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        marks = ",".join("?" * len(chunk))
        query = f"SELECT rowid, _id, doc FROM documents WHERE _id IN ({marks})"  # noqa: S608
        found = _reindex(store, index, query, chunk)
        for key in set(chunk) - found:
            index.remove(key)
    store._changes_seen = last or 0
    return True


def _reindex(store: t.Any, index: t.Any, query: str, params: t.Sequence[t.Any]) -> set[t.Any]:
    """(Re)index the documents the query returns, each at its rowid: the natural order is
    rowid order, which a document keeps when it is updated in place."""
    decode, positions, found = store._documents._decode_doc, index._docs, set()
    for rowid, key, blob in store._connection.execute(query, params):
        index.add(key, decode(blob))
        positions[key] = rowid
        found.add(key)
        index._next_seq = max(index._next_seq, rowid + 1)  # this process's next insert
    return found


def install() -> None:
    from litemongo import sqlite_store

    replace(sqlite_store.CollectionStore, "open", _open_logged)
    replace(sqlite_store.CollectionStore, "_get_query_index", _query_index)
