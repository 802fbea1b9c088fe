"""Changes to how the embedded store (litemongo 0.2.0, which vendors mongomock) answers
queries: every change to litemongo's own behaviour lives here, pinned to that version.
Each keeps the answers exactly as upstream gives them; `tests/test_litemongo_changes.py`
shows the upstream behaviour each one changes and that the answers are unchanged.

**A page of results copies only that page.** mongomock's cursor builds the whole result
list — each matching document copied for the projection — before it applies skip and
limit, so page 1 of 20,000 customers copied 20,000 documents to show 20. Here a cursor
with a limit that has not yet computed its full results takes only `skip + limit`
documents from the (already sorted) result generator, and `cursor[i]` (MongoEngine's
`first()`) takes only the documents up to `i` where upstream decoded every match (all
100,000 Orgs for the first one by name). Everything that needs every result (a count,
`alive`, a cursor without a limit) still takes the original path. And iterating a
cursor takes its results once: upstream sliced the whole result list again for every
document (`_compute_results(with_limit_and_skip=True)` per `next`), so reading 110,000
records one by one cost 40 s.

**Another process's write costs what it changed, not the whole collection.** litemongo
keeps an in-process hash index per collection and, when another connection has written
the file (SQLite's `data_version` moved), re-reads and re-indexes every document: 3 s
at 22,000 records, in every web worker after every save by another worker, import or
sync run. Here each collection file gets a change log: SQLite triggers
append the key of every inserted, updated or deleted document, so a stale index
re-indexes only the keys logged since it last looked. Positions in the index are the
documents' SQLite rowids, so the natural order is the one a full rebuild gives. When
the log no longer reaches back that far, or most documents changed, it rebuilds whole.

**A sort computes each document's key once.** mongomock sorts with a Python comparison
object per pair of documents (n log n calls to `bson_compare`); here one native key per
document gives the same order for the common values (missing, None, numbers, strings,
ObjectIds, booleans, naive datetimes, and arrays of them), and any other value sorts the
upstream way.

**A page sorted by a text field reads only that page.** A lookup ("Org" typed into the
Org box) matches every Org; mongomock decodes every match and sorts them all to return
ten, 1.2 s at 100,000 Orgs. litemongo's hash index on the sorted path already holds each
document's value; when every value there is a string (or nothing), the index keeps its
documents in value order too, and a sorted query walks that order, decoding only the
documents it yields. Ties keep the natural order and documents without a value come
first (last when descending), as upstream sorts them; any other value, a sort on several
keys or a short list of candidates takes the sort above.

**A query's candidates are read from the index in place.** The planner intersects one
set per indexed condition, each a copy: the customer list's Level and Archive flag
copied 110,000 keys to find 10,000. Here the documents under the fewest-held key are
checked against the others where they are kept, then put in natural order as upstream.

**A write copies plain values without a call each.** Every write passes its document
through mongomock's date patching, one Python call per value; plain values (strings,
numbers, ids) are now passed through directly and containers copied the same way.

**The hash index holds what it needs, once.** litemongo's per-path index keeps, for every
document and every indexed path, a set of that document's keys (an empty set when the
field is missing) and its own copy of each key: 630 MB at 110,000 records with the
thirteen indexed paths and the search keys. Here a path keeps nothing for a document
that has no value there, one shared key object per distinct value (a string as itself),
a plain reference instead of a one-element set, a tuple instead of a small set, and the
same candidates come out.

**One write is one SQLite transaction.** mongomock reads a document, changes it and
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

**A batch of new documents is encoded once and inserted in one statement.** mongomock
inserts a list one document at a time: it encodes each to BSON to validate it, asks
the file whether its id exists (a query per document), then encodes it again to write
it. Here a list whose ids are all new (one query for the batch) and that no unique
index but `_id` governs is checked by the same key rules, encoded once and written with
one `executemany`; anything else (a duplicate id, a unique index) takes upstream's path,
with upstream's errors.

**`$in` asks a set.** mongomock checks `{"_id": {"$in": ids}}` against each candidate by
scanning the list (and listing which of its values are patterns), so reading 1,000
records by id cost a million comparisons (90 ms; 2,000 cost 340 ms). Here a list of
hashable values that holds no pattern is made a set once per query and each document's
values are looked up in it; anything else takes upstream's path.

Any other litemongo version is left as it is.
"""

from __future__ import annotations

import bisect
import contextlib
import itertools
import typing as t

from pymongo.errors import OperationFailure

LITEMONGO_VERSION = "0.2.0"
# The upstream methods replaced here, kept so that the tests can compare with them.
UPSTREAM: dict[str, t.Any] = {}


def apply() -> bool:
    """Install the changes once per process; False when litemongo is another version."""
    import litemongo

    if litemongo.__version__ != LITEMONGO_VERSION:
        return False
    if UPSTREAM:
        return True
    from litemongo import sqlite_store
    from litemongo._vendor.mongomock import collection

    _replace(collection.Cursor, "_compute_results", _page_only)
    _replace(collection.Cursor, "__getitem__", _one_only)
    _replace(collection.Cursor, "__next__", _results_once)
    collection.Cursor.next = collection.Cursor.__next__
    _replace(collection.Collection, "_get_dataset", _sorted_once)
    _replace(sqlite_store.CollectionStore, "open", _open_logged)
    _replace(sqlite_store.CollectionStore, "_get_query_index", _query_index)
    _replace(sqlite_store.CollectionStore, "find_candidates", _candidates_in_place)
    from litemongo._vendor.mongomock import indexing

    UPSTREAM["FieldIndex"] = indexing.FieldIndex
    indexing.FieldIndex = CompactFieldIndex
    from litemongo._vendor.mongomock import helpers

    _replace_function(helpers, "patch_datetime_awareness_in_document", _plain_values_as_they_are)
    _in_a_set()
    _replace(collection.Collection, "_insert", _many_in_one_statement)
    for method in WRITES:
        _replace(collection.Collection, method, _in_one_transaction)
    _replace(sqlite_store.TableDict, "__setitem__", _inside_held_transaction)
    _replace(sqlite_store.TableDict, "__delitem__", _inside_held_transaction)
    return True


def _replace_function(module: t.Any, name: str, make: t.Callable[[t.Any], t.Any]) -> None:
    upstream = UPSTREAM[f"{module.__name__.rsplit('.', 1)[-1]}.{name}"] = getattr(module, name)
    setattr(module, name, make(upstream))


def _plain_values_as_they_are(upstream: t.Callable[[t.Any], t.Any]) -> t.Callable[[t.Any], t.Any]:
    """Every write copies its document through `patch_datetime_awareness_in_document`
    (dates to naive UTC milliseconds, as MongoDB stores them), one Python call per value:
    a record's forty search keys made it most of an insert. Values of plain types come
    back as they are without a call; containers are copied as upstream copies them; every
    other value (datetimes, Timestamps, subclasses) goes to upstream."""
    from bson import ObjectId

    plain = frozenset({str, int, float, bool, type(None), bytes, ObjectId})

    def patch(value: t.Any) -> t.Any:
        kind = type(value)
        if kind is dict:
            return {k: v if type(v) in plain else patch(v) for k, v in value.items()}
        if kind is list or kind is tuple:
            return [v if type(v) in plain else patch(v) for v in value]
        if kind in plain:
            return value
        return upstream(value)

    return patch


def _replace(cls: type, name: str, make: t.Callable[[t.Any], t.Any]) -> None:
    """Wrap `cls.name`; UPSTREAM keeps the method as litemongo ships it (the first one
    replaced, when two changes wrap the same method)."""
    current = getattr(cls, name)
    UPSTREAM.setdefault(f"{cls.__name__}.{name}", current)
    setattr(cls, name, make(current))


def _page_only(upstream: t.Callable[..., list[t.Any]]) -> t.Callable[..., list[t.Any]]:
    def _compute_results(self: t.Any, with_limit_and_skip: bool = False) -> list[t.Any]:
        if (not with_limit_and_skip or not self._limit
                or self.collection.codec_options.tz_aware
                or (self._results and self._factory_last_generated_results is self._factory)):
            return upstream(self, with_limit_and_skip)
        key = (self._factory, self._skip, self._limit)
        page = getattr(self, "_page_only", None)
        if page is None or page[0][0] is not key[0] or page[0][1:] != key[1:]:
            taken = itertools.islice(self._factory(), self._skip,
                                     self._skip + abs(self._limit))
            page = (key, list(taken))
            self._page_only = page
        return page[1]

    return _compute_results


def _results_once(_upstream: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
    def __next__(self: t.Any) -> t.Any:
        key = (self._factory, self._skip, self._limit)
        held = getattr(self, "_results_once", None)
        if held is None or held[0][0] is not key[0] or held[0][1:] != key[1:]:
            held = (key, self._compute_results(with_limit_and_skip=True))
            self._results_once = held
        try:
            document = held[1][self._emitted]
        except IndexError as error:
            raise StopIteration from error
        self._emitted += 1
        return document

    return __next__


def _one_only(upstream: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
    def __getitem__(self: t.Any, index: t.Any) -> t.Any:
        if (type(index) is not int or index < 0 or self.collection.codec_options.tz_aware
                or (self._results and self._factory_last_generated_results is self._factory)):
            return upstream(self, index)
        if self._limit and index >= abs(self._limit):
            raise IndexError("list index out of range")
        start = self._skip + index
        for document in itertools.islice(self._factory(), start, start + 1):
            return document
        raise IndexError("list index out of range")

    return __getitem__


# --- Another process's write costs what it changed --------------------------------------

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


# --- One write is one SQLite transaction ----------------------------------------------------

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


def _in_a_set() -> None:
    """Give the query filter's `$in` and `$nin` a set per query (see the docstring)."""
    from litemongo._vendor.mongomock import filtering

    operators = filtering._filterer_inst._operator_map
    upstream = UPSTREAM.setdefault("filtering.$in", operators["$in"])
    patterns = filtering._RE_TYPES
    held: list[t.Any] = [None, None]  # the list last asked about, and its set (None: none)

    def in_op(doc_val: t.Any, search_val: t.Any) -> bool:
        if type(search_val) is not list or len(search_val) < 8:
            return bool(upstream(doc_val, search_val))
        if held[0] is not search_val:
            try:
                members = None if any(isinstance(v, patterns) for v in search_val) \
                    else frozenset(search_val)
            except TypeError:  # an unhashable value: a document or a list
                members = None
            held[0], held[1] = search_val, members
        members = held[1]
        if members is None:
            return bool(upstream(doc_val, search_val))
        if doc_val is filtering.NOTHING:
            return None in members
        try:
            return any(v in members for v in filtering._force_list(doc_val))
        except TypeError:
            return bool(upstream(doc_val, search_val))

    operators["$in"] = in_op
    operators["$nin"] = lambda doc_val, search_val: not in_op(doc_val, search_val)


def _many_in_one_statement(upstream: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
    from bson import ObjectId
    from litemongo._vendor.mongomock import collection as vendored
    from litemongo._vendor.mongomock import helpers

    def _insert(self: t.Any, data: t.Any, session: t.Any = None, ordered: bool = True) -> t.Any:
        store = self._store
        table = getattr(store, "_documents", None)
        if (isinstance(data, t.Mapping) or session or table is None
                or any(index.get("unique") for index in store.indexes.values())):
            return upstream(self, data, session, ordered)
        documents = list(data)
        for document in documents:
            if not all(isinstance(k, str) for k in document):
                raise ValueError("Document keys must be strings")
            vendored._validate_data_fields(document)
            if "_id" not in document:
                document["_id"] = ObjectId()
        keys = [table.encode_key(document["_id"]) if not isinstance(document["_id"], dict)
                else None for document in documents]
        if None in keys or len(set(keys)) != len(keys) or _any_stored(table, keys):
            return upstream(self, documents, session, ordered)  # upstream's errors
        stored = [helpers.patch_datetime_awareness_in_document(d) for d in documents]
        encoded = [table._encode_doc(d) for d in stored]
        with store._rwlock.writer():
            table._cur.executemany(
                f"INSERT INTO {table._table_name} VALUES(?, ?)",  # noqa: S608 - upstream's name
                list(zip(keys, encoded, strict=True)))
            if store._query_index is not None:
                for key, document in zip(keys, stored, strict=True):
                    store._query_index.add(key, document)
        return [document["_id"] for document in documents]

    return _insert


def _any_stored(table: t.Any, keys: list[str]) -> bool:
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        found = table._cur.execute(
            f"SELECT 1 FROM {table._table_name} WHERE {table.ID} IN "  # noqa: S608
            f"({','.join('?' * len(chunk))}) LIMIT 1", chunk).fetchone()
        if found is not None:
            return True
    return False


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
        paths = indexing.index_paths(self.indexes.values())
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


# --- A sort computes each document's key once --------------------------------------------

_NO_NATIVE_KEY = object()


def _sorted_once(upstream: t.Callable[..., t.Iterator[t.Any]]) -> t.Callable[..., t.Any]:
    from litemongo._vendor.mongomock import filtering

    def _get_dataset(self: t.Any, spec: t.Any, sort: t.Any, fields: t.Any,
                     as_class: t.Any) -> t.Iterator[t.Any]:
        order = list(sort.items() if isinstance(sort, dict) else sort or ())
        if not order or any(key.startswith("$") for key, _ in order):
            yield from upstream(self, spec, sort, fields, as_class)
            return
        in_order = _in_index_order(self, spec, order)
        if in_order is not None:
            for document in in_order:
                yield self._copy_only_fields(document, fields, as_class)
            return
        dataset = list(self._iter_documents(spec))
        for key, direction in reversed(order):  # one stable sort per key, as upstream
            keys = [_native_key(filtering.resolve_key(key, doc)) for doc in dataset]
            if _NO_NATIVE_KEY in keys:
                dataset.sort(key=lambda doc, k=key: filtering.resolve_sort_key(k, doc),
                             reverse=direction < 0)
            else:
                positions = sorted(range(len(dataset)), key=keys.__getitem__,
                                   reverse=direction < 0)
                dataset = [dataset[i] for i in positions]
        for document in dataset:
            yield self._copy_only_fields(document, fields, as_class)

    return _get_dataset


def _in_index_order(collection: t.Any, spec: t.Any, order: list[t.Any]) -> t.Any:
    """The matching documents in the order of a one-key sort, read along the index of
    that key (None: that index has no order to give)."""
    if len(order) != 1 or not hasattr(collection._store, "_changes_seen"):
        return None
    (path, direction), store = order[0], collection._store
    store._remove_expired_documents()
    index = store._get_query_index()
    field = index._fields.get(path)
    in_order = field.in_order() if type(field) is CompactFieldIndex else None
    if in_order is None:
        return None
    keys = _candidates_in_order(field, in_order, index._docs, _holders(index, spec),
                                direction < 0)
    return _documents_of(store, spec, keys)


def _candidates_in_place(_upstream: t.Any) -> t.Callable[..., t.Any]:
    def find_candidates(self: t.Any, filter: t.Any) -> t.Any:  # noqa: A002 - upstream's name
        self._remove_expired_documents()
        index = self._get_query_index()
        held = _holders(index, filter)
        if held is None:
            return self.documents
        return self._get_many(index.in_natural_order(_held_by_all(held)))

    return find_candidates


def _held_by_all(held: list[t.Any]) -> list[t.Any]:
    """The store keys in every holder: those of the smallest, checked against the rest."""
    fewest = min(held, key=len)
    others = [keys for keys in held if keys is not fewest]
    return [key for key in fewest if all(key in keys for keys in others)]


def _holders(index: t.Any, spec: t.Any) -> list[t.Any] | None:
    """What the hash indexes know of the filter, as containers a matching document's key
    is in (every one of them): the planner's candidates (`CollectionIndexes.candidates`)
    without building their intersection, which costs more than a page at 100,000
    documents. None: the indexes know nothing of this filter."""
    from litemongo._vendor.mongomock.indexing import query_keys

    if not isinstance(spec, dict) or not spec:
        return None
    held: list[t.Any] = []
    for path, condition in spec.items():
        if path == "$and" and isinstance(condition, (list, tuple)):
            for part in condition:
                held += _holders(index, part) or ()
        elif path in index._fields:
            keys = query_keys(condition)
            if keys is not None:
                field = index._fields[path]
                held.append(field.holding(keys) if type(field) is CompactFieldIndex
                            else field.candidates(keys))
    return held or None


def _candidates_in_order(field: CompactFieldIndex, in_order: tuple[list[str], list[t.Any]],
                         natural: dict[t.Any, int], held: list[t.Any] | None,
                         descending: bool) -> t.Iterator[t.Any]:
    """The store keys in every holder, in sort order. Walking the whole order costs a
    page when the candidates are dense (the first keystroke of a lookup) and every
    document when they are few or sort late; so once the walk has looked at as many keys
    as the fewest holder has, the rest comes from sorting that holder's candidates by
    the values the index keeps. Either way, no more than twice the cheaper of the two."""
    if held is None:
        yield from _keys_in_order(field, in_order, natural, descending)
        return
    fewest = min(held, key=len)
    others = [keys for keys in held if keys is not fewest]
    budget, found = len(fewest), 0
    for looked, key in enumerate(_keys_in_order(field, in_order, natural, descending)):
        if looked >= budget:
            break
        if key in fewest and all(key in keys for keys in others):
            found += 1
            yield key
    else:
        return
    values = field._doc_keys
    matched = sorted((key for key in _held_by_all(held) if key in natural),
                     key=natural.__getitem__)
    matched.sort(key=lambda key: (1, values[key]) if key in values else (0, ""),
                 reverse=descending)  # stable: equal values stay in natural order
    yield from itertools.islice(matched, found, None)


def _keys_in_order(field: CompactFieldIndex, in_order: tuple[list[str], list[t.Any]],
                   natural: dict[t.Any, int], descending: bool) -> t.Iterator[t.Any]:
    """Every store key in sort order: by value, equal values in natural order, documents
    without a value first (last when descending)."""
    values, keys = in_order  # replaced, never changed, by later writes
    unvalued = ([key for key in natural if key not in field._doc_keys]
                if len(field._doc_keys) != len(natural) else [])
    unvalued.sort(key=natural.__getitem__)
    if not descending:
        yield from unvalued
    count = len(values)
    at = count - 1 if descending else 0
    step = -1 if descending else 1
    while 0 <= at < count:
        end = at + step
        while 0 <= end < count and values[end] == values[at]:
            end += step
        if end == at + step:
            yield keys[at]
        else:
            run = keys[min(at, end + 1):max(at, end - 1) + 1]
            yield from sorted(run, key=natural.__getitem__)
        at = end
    if descending:
        yield from unvalued


def _documents_of(store: t.Any, spec: t.Any, walk: t.Iterator[t.Any]) -> t.Iterator[t.Any]:
    """The documents of the walked keys that match, decoded a growing batch at a time
    (a page needs a few; a cursor without a limit reads them all)."""
    from litemongo._vendor.mongomock.filtering import filter_applies

    batch: list[t.Any] = []
    size = 32
    for key in walk:
        batch.append(key)
        if len(batch) >= size:
            yield from (doc for doc in store._get_many(batch) if filter_applies(spec, doc))
            batch, size = [], min(size * 2, 500)
    yield from (doc for doc in store._get_many(batch) if filter_applies(spec, doc))


def _native_key(value: t.Any) -> t.Any:
    """A key ordering values as mongomock's `resolve_sort_key` + `bson_compare` do: first
    the upstream flag (0 for an empty array, whose value counts as None), then the type's
    rank in MongoDB's order, then the value itself, for the types whose Python comparison
    is the one upstream applies. Any other value has no native key."""
    import datetime

    from bson import Int64, ObjectId
    from sentinels import NOTHING

    flag = 1
    if isinstance(value, (list, tuple)):  # an array sorts by its first element
        if not value:
            return (0, 5, 0)
        value = value[0]
    if value is None or value is NOTHING:
        return (flag, 5, 0)
    kind = type(value)
    if kind is int or kind is Int64 or (kind is float and value == value):  # not NaN
        return (flag, 10, value)
    if kind is str:
        return (flag, 15, value)
    if kind is ObjectId:
        return (flag, 35, value)
    if kind is bool:
        return (flag, 40, value)
    if kind is datetime.datetime and value.tzinfo is None:
        return (flag, 45, value)
    return _NO_NATIVE_KEY


# --- The hash index holds what it needs, once ---------------------------------------------


# Changes kept in a built value order (a copy of it each) before it is dropped, and
# sorted again when next asked: at 100,000 documents a copy is ~1 ms, a sort ~100 ms.
ORDER_CHANGES = 100


# Up to this many documents holding one key are kept in a tuple, more in a set: a set
# takes 40-80 bytes a document (728 for 5 to 18 of them), a tuple 8. The search keys of
# 110,000 records are ~1.2 million (key, document) pairs, most in groups of 9 to 10,000.
SMALL_GROUP = 256


# Upstream keys a boolean as the number it equals (its filter, like Python, finds True
# for 1); the candidates stay a superset and the filter decides.
_BOOLEAN_KEYS = {True: ("n", 1.0), False: ("n", 0.0)}


def _own_key(key: t.Any) -> t.Any:
    """The key as this index keeps it: a string value as the plain string (upstream's
    `('s', value)` tuple cost 56 bytes a distinct value), any other as upstream's key."""
    return key[1] if key[0] == "s" else key


class CompactFieldIndex:
    """litemongo's `indexing.FieldIndex` (a hash index on one path) with the same answers
    in less memory. `_entries` maps a key to the one store key holding it, a tuple of a
    few, or a set of more; `_doc_keys` maps a store key to its one key, a list of keys,
    or None (unkeyed), and has no entry for a document without a value at the path. A
    key held by several documents is one object (`_shared_keys`; most keys of 110,000
    records are held by one: 99,000 of the 121,000 search keys).

    While every value at a top-level path is a string (or nothing), `in_order()` also
    gives the valued documents in value order: built when first asked, then kept up to
    date by the adds and removes (a new copy each) until many changes pile up."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._entries: dict[t.Hashable, t.Any] = {}
        self._unkeyed: set[t.Hashable] = set()
        self._doc_keys: dict[t.Hashable, t.Any] = {}
        self._shared_keys: dict[t.Hashable, t.Hashable] = {}
        self._top_level = "." not in path
        self._first = path.split(".", 1)[0]
        self._strings_only = self._top_level
        self._order: tuple[list[str], list[t.Hashable]] | None = None
        self._order_changes = 0

    def in_order(self) -> tuple[list[str], list[t.Hashable]] | None:
        """(values, store keys) of the valued documents, in value order (equal values in
        no particular order); None when some value at the path is not a string."""
        if not self._strings_only:
            return None
        if self._order is None:
            held = self._doc_keys
            keys = sorted(held, key=held.__getitem__)
            self._order = ([held[store_key] for store_key in keys], keys)
            self._order_changes = 0
        return self._order

    def _reorder(self, value: str, store_key: t.Hashable, insert: bool) -> None:
        """New lists rather than changed ones: a sorted query walking the old ones (in
        another thread) is not moved under its feet."""
        self._order_changes += 1
        if self._order_changes > ORDER_CHANGES:
            self._order = None
            return
        values, keys = self._order  # type: ignore[misc]
        if insert:
            at = bisect.bisect_right(values, value)
            self._order = ([*values[:at], value, *values[at:]],
                           [*keys[:at], store_key, *keys[at:]])
            return
        at = bisect.bisect_left(values, value)
        while at < len(keys) and values[at] == value and keys[at] != store_key:
            at += 1  # among the documents holding the same value
        if at == len(keys) or keys[at] != store_key:
            self._order = None  # not where its value says: sorted again when next asked
            return
        self._order = (values[:at] + values[at + 1:], keys[:at] + keys[at + 1:])

    def _shared(self, key: t.Hashable, held: t.Any) -> t.Hashable:
        """The key object the index already keeps for `key` (held by `held`): found once
        through a document holding it, then remembered while more than one holds it."""
        shared = self._shared_keys.get(key)
        if shared is None:
            holder = next(iter(held)) if type(held) in (tuple, set) else held
            kept = self._doc_keys[holder]
            shared = next(own for own in kept if own == key) if type(kept) is list else kept
            self._shared_keys[key] = shared
        return shared

    def _keys_of(self, doc: dict[str, t.Any]) -> t.Collection[t.Hashable] | None:
        """The document's keys at the path, as this index keeps them; None: unkeyed. The
        common values (missing, None, a string, an ObjectId, a boolean, a list of strings)
        are keyed here, to upstream's keys, without its calls per value: a fresh worker
        indexes every document of a collection on every indexed path before its first
        answer."""
        from bson import ObjectId
        from litemongo._vendor.mongomock.indexing import _doc_keys

        if self._top_level:
            value = doc.get(self.path)
            kind = type(value)
            if kind is str:
                return (value,)
            if value is None:
                return ()
            if self._strings_only:
                self._strings_only, self._order = False, None
            if kind is ObjectId:
                return (("o", value),)
            if kind is bool:
                return (_BOOLEAN_KEYS[value],)
            if kind is list and all(type(entry) is str for entry in value):
                return set(value)
        elif doc.get(self._first) is None:
            return ()
        keys = _doc_keys(doc, self.path)
        return None if keys is None else {_own_key(key) for key in keys}

    def add(self, store_key: t.Hashable, doc: dict[str, t.Any]) -> None:
        keys = self._keys_of(doc)
        if keys is None:
            self._unkeyed.add(store_key)
            self._doc_keys[store_key] = None
            return
        if not keys:
            return
        entries, kept = self._entries, []
        for key in keys:
            held = entries.get(key)
            if held is None:
                entries[key] = store_key
            else:
                key = self._shared(key, held)
                kind = type(held)
                if kind is set:
                    held.add(store_key)
                elif kind is tuple:  # never holding store_key: removed before re-added
                    entries[key] = ((*held, store_key) if len(held) < SMALL_GROUP
                                    else {*held, store_key})
                elif held != store_key:
                    entries[key] = (held, store_key)
            kept.append(key)
        self._doc_keys[store_key] = kept[0] if len(kept) == 1 else kept
        if self._order is not None:
            self._reorder(kept[0], store_key, insert=True)

    def remove(self, store_key: t.Hashable) -> None:
        keys = self._doc_keys.pop(store_key, self)
        if keys is self:
            return
        if keys is None:
            self._unkeyed.discard(store_key)
            return
        if self._order is not None:
            self._reorder(keys, store_key, insert=False)
        entries = self._entries
        for key in keys if type(keys) is list else (keys,):
            held = entries.get(key)
            kind = type(held)
            if kind is set:
                held.discard(store_key)
                if len(held) <= SMALL_GROUP:
                    entries[key] = tuple(held)
            elif kind is tuple:
                rest = tuple(other for other in held if other != store_key)
                entries[key] = rest if len(rest) > 1 else rest[0]
            elif held == store_key:
                del entries[key]
                self._shared_keys.pop(key, None)

    def holding(self, keys: t.Collection[t.Hashable]) -> t.Collection[t.Hashable]:
        """The store keys that may hold one of `keys`, as `candidates` gives them but
        without a copy of a large group for the common single key: the index's own set,
        to read only."""
        if len(keys) != 1 or self._unkeyed:
            return self.candidates(keys)
        held = self._entries.get(_own_key(next(iter(keys))))
        if type(held) is tuple:
            return held if len(held) <= 16 else set(held)  # tested key by key
        return held if type(held) is set else () if held is None else (held,)

    def candidates(self, keys: t.Iterable[t.Hashable]) -> set[t.Hashable]:
        found = set(self._unkeyed)
        for key in keys:
            held = self._entries.get(_own_key(key))
            if type(held) in (set, tuple):
                found.update(held)
            elif held is not None:
                found.add(held)
        return found
