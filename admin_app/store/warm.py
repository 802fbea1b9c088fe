"""A new web worker makes itself ready before it takes requests.

On the embedded store every worker process keeps an in-process hash index per
collection (litemongo's, see `litemongo_changes.compact_index`), built from every
document of the collection the first time the collection is read: 3.6 s at 110,000
records, paid in the request of whichever user reached the new worker first. `warm()`
builds them all, and is called once per worker after the fork and before it serves
(`gunicorn.conf.py`'s `post_worker_init`); never in `create_app()`, which tests and
commands call many times. MongoDB keeps its indexes in the server and mongomock has
none: there is nothing to build there.
"""

from __future__ import annotations

import logging
import time
import typing as t

from .connection import database, in_memory

log = logging.getLogger(__name__)


def warm(between: t.Callable[[], object] | None = None) -> dict[str, int]:
    """Build the in-process index of every collection of the embedded store; how many
    documents each holds (empty on any other store). Needs the app's connection.
    `between` is called after each collection (gunicorn's worker says it is alive)."""
    db = database()
    store = getattr(db, "_store", None)
    if in_memory() or store is None or not hasattr(store, "_dirpath"):
        return {}
    started = time.perf_counter()
    built = {}
    for name in sorted(db.list_collection_names()):
        built[name] = len(store[name]._get_query_index()._docs)
        if between is not None:
            between()
    log.info("store warmed: %d collections, %d documents indexed in %.1f s",
             len(built), sum(built.values()), time.perf_counter() - started)
    return built
