"""**A batch of new documents is encoded once and inserted in one statement.** mongomock
inserts a list one document at a time: it encodes each to BSON to validate it, asks
the file whether its id exists (a query per document), then encodes it again to write
it. Here a list whose ids are all new (one query for the batch) and that no unique
index but `_id` governs is checked by the same key rules, encoded once and written with
one `executemany`; anything else (a duplicate id, a unique index) takes upstream's path,
with upstream's errors.

Installed before `transactions` wraps `_insert`, so the batch is one transaction too.
"""

from __future__ import annotations

import typing as t

from .patching import replace


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


def install() -> None:
    from litemongo._vendor.mongomock import collection

    replace(collection.Collection, "_insert", _many_in_one_statement)
