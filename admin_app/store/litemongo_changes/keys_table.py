"""**Search keys are kept in SQLite, not in each worker.** A record's `search_keys` (every
prefix of every word of its searchable fields) are ~60 keys; litemongo's in-process hash
index kept each (key, document) pair in every web worker: 6.6 million pairs, ~310 MB and
6 of a fresh worker's 9 seconds of indexing at 110,000 records like a real desk's. Here
each collection file keeps them in a table of its own, `(key, document)` in a B-tree,
kept by SQLite triggers in the transaction of the write that changes the document (as
`change_log` keeps its log), and a query's condition on `search_keys` asks that table:
no worker holds them, and none has to build them before it answers.

- The triggers read a document's keys with a function each connection registers when it
  opens the file (`dictadmin_keys_of`); a connection without it (the `sqlite3` shell)
  is refused a write that would leave the table behind, rather than making it wrong.
- Documents are numbered in the table by an INTEGER PRIMARY KEY of their own
  (`dictadmin_keyed`), which VACUUM keeps (it may renumber the documents' rowids).
- A file opened for the first time with this change fills the table from its documents,
  once (`flask setup` does it before `make run` starts the workers).
- The table keeps a document's longest keys only: a key that starts another key of the
  same document (`ali` of `alice`, as the app's prefixes are) is left out, and a wanted
  key is looked up as the range of keys it starts. That is 8 rows a record instead of
  60, which is what a write pays for, and the same documents (more, where a document's
  keys are not every prefix: mongomock's filter then leaves those out).
- A condition on the path that is an equality with a string, or `$in` strings, is
  answered from the table; any other (a number, `$all`, a regex) is not planned, and the
  query's other conditions, or a scan, find its candidates, as upstream does for a
  condition it cannot plan. Either way the candidates are a superset and mongomock's
  filter decides, so the answers are upstream's.
"""

from __future__ import annotations

import json
import typing as t

import bson

from .patching import replace

PATH = "search_keys"  # the multikey path kept in SQLite
# A query with up to FEW candidates in the table reads them at once; with more, the
# table is asked BATCH store keys at a time (a sorted page stops after a few batches),
# or read whole when it is the smallest of the query's holders.
FEW = 2_000
BATCH = 256
# The documents held by a query's sets, once read whole, are remembered on the store
# (REMEMBERED answers of up to REMEMBERED_MOST keys, at most about 4 MB) for as long as
# the file is unchanged: a list page reads them, then its count asks the same again.
REMEMBERED = 8
REMEMBERED_MOST = 5_000

_FUNCTION = "dictadmin_keys_of"
# The triggers. In a trigger an outer upsert's conflict policy overrides `OR IGNORE`, so
# each insert says what it leaves out instead. An update writes only the keys it changed
# (a save changes a field or two).
_KEYS_SQL = (
    "CREATE TABLE IF NOT EXISTS dictadmin_keyed(n INTEGER PRIMARY KEY, id UNIQUE NOT NULL)",
    "CREATE TABLE IF NOT EXISTS dictadmin_keys(key NOT NULL, n INTEGER NOT NULL,"
    " PRIMARY KEY(key, n)) WITHOUT ROWID",
    # Is this document's key in a range: asked one document at a time on a sorted walk.
    "CREATE INDEX IF NOT EXISTS dictadmin_keys_of_n ON dictadmin_keys(n, key)",
    # A new document: its number is made (or found: nothing should be left of a document
    # deleted, but a number left behind must not refuse the write), whatever that number
    # holds is cleared, and its keys go in, the number looked up once.
    "CREATE TRIGGER IF NOT EXISTS dictadmin_keys_insert AFTER INSERT ON documents"
    " WHEN dictadmin_keys_of(NEW.doc) IS NOT NULL BEGIN"
    " INSERT INTO dictadmin_keyed(id) SELECT NEW._id"
    " WHERE NOT EXISTS (SELECT 1 FROM dictadmin_keyed WHERE id = NEW._id);"
    " DELETE FROM dictadmin_keys WHERE n = (SELECT n FROM dictadmin_keyed WHERE id = NEW._id);"
    " INSERT INTO dictadmin_keys(key, n) SELECT j.value, k.n"
    " FROM dictadmin_keyed AS k, json_each(dictadmin_keys_of(NEW.doc)) AS j"
    " WHERE k.id = NEW._id; END",
    "CREATE TRIGGER IF NOT EXISTS dictadmin_keys_update AFTER UPDATE ON documents BEGIN"
    " DELETE FROM dictadmin_keys WHERE n = (SELECT n FROM dictadmin_keyed WHERE id = OLD._id)"
    " AND key IN (SELECT value FROM json_each(dictadmin_keys_of(OLD.doc)))"
    " AND (OLD._id IS NOT NEW._id"
    " OR key NOT IN (SELECT value FROM json_each(dictadmin_keys_of(NEW.doc))));"
    " DELETE FROM dictadmin_keyed WHERE id = OLD._id AND OLD._id IS NOT NEW._id;"
    " INSERT INTO dictadmin_keyed(id) SELECT NEW._id WHERE dictadmin_keys_of(NEW.doc)"
    " IS NOT NULL AND NOT EXISTS (SELECT 1 FROM dictadmin_keyed WHERE id = NEW._id);"
    " INSERT INTO dictadmin_keys(key, n)"
    " SELECT j.value, (SELECT n FROM dictadmin_keyed WHERE id = NEW._id)"
    " FROM json_each(dictadmin_keys_of(NEW.doc)) AS j WHERE NOT EXISTS (SELECT 1 FROM"
    " dictadmin_keys AS k WHERE k.key = j.value"
    " AND k.n = (SELECT n FROM dictadmin_keyed WHERE id = NEW._id)); END",
    "CREATE TRIGGER IF NOT EXISTS dictadmin_keys_delete AFTER DELETE ON documents BEGIN"
    " DELETE FROM dictadmin_keys WHERE n = (SELECT n FROM dictadmin_keyed WHERE id = OLD._id)"
    " AND key IN (SELECT value FROM json_each(dictadmin_keys_of(OLD.doc)));"
    " DELETE FROM dictadmin_keyed WHERE id = OLD._id; END",
)
_NAMES = ("dictadmin_keyed", "dictadmin_keys", "dictadmin_keys_of_n", "dictadmin_keys_insert",
          "dictadmin_keys_update", "dictadmin_keys_delete")
# Filled from the documents when the table is made (a file written before this change).
_FILL_SQL = (
    "INSERT OR IGNORE INTO dictadmin_keyed(id)"
    " SELECT _id FROM documents WHERE dictadmin_keys_of(doc) IS NOT NULL ORDER BY rowid",
    "INSERT OR IGNORE INTO dictadmin_keys(key, n) SELECT j.value, k.n"
    " FROM documents AS d JOIN dictadmin_keyed AS k ON k.id = d._id,"
    " json_each(dictadmin_keys_of(d.doc)) AS j",
)
_MARKER = PATH.encode() + b"\x00"


def _keys_reader() -> t.Callable[[bytes | None], str | None]:
    """`dictadmin_keys_of(doc)`: a stored document's longest string keys at PATH (none
    that starts another), as a JSON array (NULL: none). A trigger asks it of the same
    one or two documents several times, so the last two answers are kept."""
    kept: list[tuple[bytes, str | None]] = []

    def keys_of(blob: bytes | None) -> str | None:
        if not blob or _MARKER not in blob:  # a cheap look before a decode
            return None
        for seen, answer in kept:
            if seen == blob:
                return answer
        value = bson.decode(blob).get(PATH)
        strings = {value} if type(value) is str else \
            {v for v in value if type(v) is str} if type(value) is list else set()
        answer = json.dumps(longest(strings)) if strings else None
        kept[:] = [(blob, answer), *kept[:1]]
        return answer

    return keys_of


def longest(keys: t.Iterable[str]) -> list[str]:
    """The keys that start no other key, in order: in sorted order the keys a key starts
    follow it at once, so a key is the longest of its line when the next does not start
    with it."""
    ordered = sorted(keys)
    return [key for key, after in zip(ordered, [*ordered[1:], None], strict=False)
            if after is None or not after.startswith(key)]


def _after(key: str) -> str | None:
    """The least string above every string `key` starts (SQLite compares text by its UTF-8
    bytes, in code point order); None: there is none."""
    while key:
        last = ord(key[-1]) + 1
        if last == 0xD800:  # surrogates are not text
            last = 0xE000
        if last <= 0x10FFFF:
            return key[:-1] + chr(last)
        key = key[:-1]
    return None


def _ranges(keys: t.Iterable[str], connection: t.Any = None) -> tuple[str, list[str]]:
    """SQL (`key` in any of the ranges the keys start) and its parameters. Given the
    file's connection, ranges with no stored key between them are made one: a list
    filter's date range is many prefixes (`2026`, `2027`, `203`…) whose keys make one run,
    which an index walks at once, where an `OR` of many ranges can make SQLite read each
    range whole to test one document."""
    spans: list[list[t.Any]] = []
    for key in sorted(keys):
        above = _after(key)
        if spans and spans[-1][1] is not None and (
                spans[-1][1] >= key or (connection is not None and _none_between(
                    connection, spans[-1][1], key))):
            if above is None or above > spans[-1][1]:
                spans[-1][1] = above
            continue
        spans.append([key, above])
    parts, params = [], []
    for low, above in spans:
        parts.append("(key >= ? AND key < ?)" if above is not None else "key >= ?")
        params += [low, above] if above is not None else [low]
    return " OR ".join(parts) or "0", params  # no keys (`$in: []`): no document


def _none_between(connection: t.Any, low: str, high: str) -> bool:
    return connection.execute("SELECT 1 FROM dictadmin_keys WHERE key >= ? AND key < ? LIMIT 1",
                              (low, high)).fetchone() is None


def _open_with_keys(upstream: t.Callable[[t.Any], None]) -> t.Callable[[t.Any], None]:
    """Open the file as before, then register the function and make sure the file keeps
    its keys table (filled once from the documents when it is made)."""

    def open(self: t.Any) -> None:  # noqa: A001 - the method's upstream name
        upstream(self)
        connection = self._connection
        connection.create_function(_FUNCTION, 1, _keys_reader(), deterministic=True)
        if _have(connection) != len(_NAMES):
            if connection.in_transaction:
                connection.commit()
            connection.execute("BEGIN IMMEDIATE")  # one process makes and fills it
            try:
                if _have(connection) != len(_NAMES):
                    made = _have(connection, "table") == 2
                    for statement in _KEYS_SQL:
                        connection.execute(statement)
                    if not made:
                        for statement in _FILL_SQL:
                            connection.execute(statement)
                connection.commit()
            except BaseException:
                connection.rollback()
                raise
        self._paths_in_sqlite = frozenset({PATH})

    return open


def _have(connection: t.Any, kind: str | None = None) -> int:
    marks = ",".join("?" * len(_NAMES))
    query = f"SELECT count(*) FROM sqlite_master WHERE name IN ({marks})"  # noqa: S608
    if kind:
        return connection.execute(query + " AND type = ?", (*_NAMES, kind)).fetchone()[0]
    return connection.execute(query, _NAMES).fetchone()[0]


def wanted_keys(condition: t.Any) -> set[str] | None:
    """The strings a document must hold one of at PATH to match `condition` (an equality
    or `$in`), or None when the condition is not one the table can answer."""
    from litemongo._vendor.mongomock.indexing import query_keys

    keys = query_keys(condition)
    if keys is None or any(type(key) is not tuple or key[0] != "s" for key in keys):
        return None
    return {key[1] for key in keys}


class KeysHeld:
    """The store keys of the documents that hold, for each set in `wanted`, one of its
    keys: a container the planner intersects with the in-process index's. It is asked
    what costs about what the caller is prepared to pay, never more:

    - `holding(keys)`: which of a batch of store keys it holds, one statement a batch
      (a sorted page walks its candidates in order and asks a batch at a time);
    - `read_if_few(limit)`: all of them, read at once, when one of the sets is held by
      at most `limit` documents (each set's size is counted no further than that);
    - `len()`: the number when few (FEW), else the size of the smallest set, an upper
      bound, for the planner to choose what to read; iterated, they are read whole;
    - `streamed(first, most)`: them as the table finds them, for a count that may stop.

    Several sets (a search of several words, list filters) are read from the one fewest
    documents hold, each of its documents checked for the others along the table's
    (document, key) index (`numbers`): an `INTERSECT` would read every set whole.

    What was read whole is remembered on the store until the file changes: this
    connection's writes move its `total_changes`, another's commit its `data_version`;
    an answer is kept under the pair read before it was, so one read across a write is
    never given again."""

    def __init__(self, store: t.Any, wanted: list[set[str]]) -> None:
        self._store = store
        self._connection = store._connection
        self._ranges = [_ranges(keys, self._connection) for keys in wanted]
        self._asked = tuple(sorted((where, tuple(params)) for where, params in self._ranges))
        self._unchanged_since = _file_state(self._connection)
        memory = getattr(store, "_keys_read", None)
        self._found: frozenset[str] | None = (
            memory[1].get(self._asked) if memory and memory[0] == self._unchanged_since
            else None)
        self._more_than = -1  # every set is known to hold more documents than this
        self._bound: int | None = None

    def _read(self, first: int | None = None) -> frozenset[str]:
        self._found = frozenset(self._fetch(first))
        if len(self._found) <= REMEMBERED_MOST:
            memory = getattr(self._store, "_keys_read", None)
            if not memory or memory[0] != self._unchanged_since:
                memory = self._store._keys_read = (self._unchanged_since, {})
            if len(memory[1]) >= REMEMBERED:
                memory[1].pop(next(iter(memory[1])))
            memory[1][self._asked] = self._found
        return self._found

    def read_if_few(self, limit: int) -> frozenset[str] | None:
        """The store keys held, when they are at most `limit` (read at once when a set
        holds no more: reading them costs about `limit` index probes), else None."""
        if self._found is not None:
            return self._found if len(self._found) <= limit else None
        if limit <= self._more_than:
            return None
        for at, (where, params) in enumerate(self._ranges):
            if _rows(self._connection, where, params, limit + 1) <= limit:
                return self._read(at)
        self._more_than = limit
        return None

    def holding(self, keys: t.Sequence[str]) -> t.Collection[str]:
        """Those of `keys` (a batch, up to BATCH) that are held."""
        if self._found is not None:
            return self._found
        if not keys:
            return ()
        marks = ",".join("?" * len(keys))
        exists = " AND ".join(
            f"EXISTS (SELECT 1 FROM dictadmin_keys INDEXED BY dictadmin_keys_of_n"  # noqa: S608
            f" WHERE n = d.n AND ({where}))" for where, _ in self._ranges)
        return {key for (key,) in self._connection.execute(
            f"SELECT d.id FROM dictadmin_keyed AS d WHERE d.id IN ({marks}) AND {exists}",  # noqa: S608
            (*keys, *(p for _, params in self._ranges for p in params)))}

    def kept(self, keys: t.Iterable[str]) -> list[str]:
        """`keys` less those not held, in their order (asked a batch at a time)."""
        if self._found is not None:
            return [key for key in keys if key in self._found]
        kept: list[str] = []
        batch: list[str] = []
        for key in keys:
            batch.append(key)
            if len(batch) == BATCH:
                held = self.holding(batch)
                kept += (key for key in batch if key in held)
                batch = []
        held = self.holding(batch)
        return kept + [key for key in batch if key in held]

    def streamed(self, first: int | None = None, most: int | None = None) -> t.Iterator[str]:
        """The store keys held, as the table finds them (a count that stops early reads
        no more): set `first` read (else the smallest), no more than `most` of its rows."""
        held, params = numbers(self._connection, ranges=self._ranges, first=first, most=most)
        return (key for (key,) in self._connection.execute(ids_of(held), params))

    def _fetch(self, first: int | None = None) -> list[str]:
        return list(self.streamed(first))

    def __len__(self) -> int:
        found = self.read_if_few(FEW)
        if found is not None:
            return len(found)
        if self._bound is None:
            self._bound = _smallest(self._connection, self._ranges)[1]
        return self._bound

    def __contains__(self, store_key: object) -> bool:
        if self._found is None and type(store_key) is str:
            return store_key in self.holding([store_key])
        return store_key in (self._found or ())

    def __iter__(self) -> t.Iterator[str]:
        return iter(self._found if self._found is not None else self._read())


def forget(store: t.Any) -> None:
    """Forget what the store's keys table was read to hold (a benchmark measuring a
    first look)."""
    store._keys_read = None


def _file_state(connection: t.Any) -> tuple[int, int]:
    """What changes when the file does: this connection's writes, another's commits."""
    return connection.total_changes, connection.execute("PRAGMA data_version").fetchone()[0]


def _rows(connection: t.Any, where: str, params: list[str], limit: int | None = None) -> int:
    """How many (key, document) rows are in the ranges `where`, counted no further than
    `limit` (an upper bound on the documents holding one of their keys)."""
    return connection.execute(
        f"SELECT count(*) FROM (SELECT 1 FROM dictadmin_keys WHERE {where} LIMIT ?)",  # noqa: S608
        (*params, -1 if limit is None else limit)).fetchone()[0]


def _smallest(connection: t.Any, ranges: list[tuple[str, list[str]]]) -> tuple[int, int]:
    """Which of the ranges holds the fewest rows, and how many: each counted no further
    than the fewest so far (a set of most documents is not counted whole)."""
    best, fewest = 0, _rows(connection, *ranges[0])
    for at, (where, params) in enumerate(ranges[1:], 1):
        rows = _rows(connection, where, params, fewest)
        if rows < fewest:
            best, fewest = at, rows
    return best, fewest


def numbers(connection: t.Any, wanted: list[set[str]] | None = None, *,
            ranges: list[tuple[str, list[str]]] | None = None,
            first: int | None = None, most: int | None = None) -> tuple[str, list[t.Any]]:
    """SQL selecting the numbers (`dictadmin_keyed.n`) of the documents holding, for each
    set (`wanted`, or their `ranges`), one of its keys, and its parameters: one set is
    read (`first`, else the one of fewest rows), each of its documents checked for the
    others through the (document, key) index; no more than `most` rows of it."""
    if ranges is None:
        ranges = [_ranges(keys, connection) for keys in wanted or []]
    if first is None:
        first = _smallest(connection, ranges)[0] if len(ranges) > 1 else 0
    (where, params), others = ranges[first], ranges[:first] + ranges[first + 1:]
    exists = "".join(" AND EXISTS (SELECT 1 FROM dictadmin_keys AS b INDEXED BY"  # noqa: S608
                     f" dictadmin_keys_of_n WHERE b.n = a.n AND ({other}))"
                     for other, _ in others)
    checked = [p for _, more in others for p in more]
    if most is not None:
        return (f"SELECT DISTINCT a.n FROM (SELECT n FROM dictadmin_keys"  # noqa: S608
                f" WHERE ({where}) LIMIT ?) AS a WHERE 1{exists}", [*params, most, *checked])
    return (f"SELECT DISTINCT a.n FROM dictadmin_keys AS a WHERE ({where}){exists}",  # noqa: S608
            [*params, *checked])


def ids_of(numbers_sql: str) -> str:
    """SQL selecting the store keys of the documents `numbers_sql` selects, streamed as
    they are found (a join would have SQLite find them all first)."""
    return (f"SELECT (SELECT id FROM dictadmin_keyed WHERE n = h.n)"  # noqa: S608
            f" FROM ({numbers_sql}) AS h")


def install() -> None:
    from litemongo import sqlite_store

    replace(sqlite_store.CollectionStore, "open", _open_with_keys)
