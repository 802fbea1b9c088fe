"""The natural keys a load has met so far, kept on disk so a load's memory stays flat.

A load must know every record it has already handled: a second record with the same
key is a duplicate, and a customer may name an org created a thousand lines earlier
(in a dry run, that org exists nowhere else). Held in a dict, that knowledge grows
with the file; held in a private temporary SQLite database (deleted when the load
ends, with a small page cache) it costs disk, not memory.
"""

from __future__ import annotations

import sqlite3
import typing as t

from bson import ObjectId

# SQLite accepts up to 32,766 parameters a statement; stay well under it.
_CHUNK = 900


class Entry(t.NamedTuple):
    """A record a key points to. `position` is set when this load met the record."""

    oid: ObjectId
    scope: str  # the customer of a contact (its key is customer + name); "" otherwise
    position: str | None


class LoadKeys:
    """(kind, field, key) → the records of this load carrying that key."""

    def __init__(self) -> None:
        # An empty file name is SQLite's private on-disk temporary database.
        self.db = sqlite3.connect("", isolation_level=None)
        self.db.execute("PRAGMA cache_size = -4096")  # at most ~4 MB of pages in memory
        self.db.execute("PRAGMA journal_mode = OFF")
        self.db.execute("PRAGMA synchronous = OFF")
        self.db.execute(
            "CREATE TABLE keys (kind TEXT, field TEXT, key TEXT, scope TEXT, oid BLOB, "
            "position TEXT, PRIMARY KEY (kind, field, key, scope, oid)) WITHOUT ROWID")

    def find(self, kind: str, field: str, keys: t.Iterable[str]) -> dict[str, list[Entry]]:
        found: dict[str, list[Entry]] = {}
        wanted = list(keys)
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start:start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(
                f"SELECT key, scope, oid, position FROM keys "  # noqa: S608 - only "?" marks
                f"WHERE kind = ? AND field = ? AND key IN ({marks})", (kind, field, *chunk))
            for key, scope, oid, position in rows:
                found.setdefault(key, []).append(Entry(ObjectId(oid), scope, position))
        return found

    def add(self, rows: t.Iterable[tuple[str, str, str, str, ObjectId, str]]) -> None:
        """Remember (kind, field, key, scope, oid, position) rows."""
        self.db.execute("BEGIN")
        self.db.executemany("INSERT OR IGNORE INTO keys VALUES (?, ?, ?, ?, ?, ?)",
                            ((k, f, key, s, oid.binary, p) for k, f, key, s, oid, p in rows))
        self.db.execute("COMMIT")

    def close(self) -> None:
        self.db.close()
