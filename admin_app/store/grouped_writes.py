"""Several writes to one collection committed as one.

On the embedded store every write call is a transaction of its own on the collection's
file (`litemongo_changes/transactions.py`), and its commit is most of what a small
write costs: the search-key job's 200 compare-and-set updates per chunk took 200
commits. Within `together(collection)` they are statements of one transaction, taken
(`BEGIN IMMEDIATE`) before the first is read and committed after the last: each keeps
its own condition and outcome (`matched_count`), as when run alone. In memory and on
MongoDB each write is as it was (MongoDB has no transaction without a replica set).
"""

from __future__ import annotations

import contextlib
import typing as t

from .litemongo_changes.transactions import one_transaction


@contextlib.contextmanager
def together(collection: t.Any) -> t.Iterator[None]:
    """Within: `collection`'s writes are one transaction on the embedded store (all
    written, or none should one fail: a full disk)."""
    inner = getattr(collection, "_store", None)
    if getattr(inner, "_connection", None) is None:  # in memory, or a MongoDB server
        yield
        return
    with one_transaction(inner):
        yield
