"""Everything about the stores, below every other layer: choosing and connecting one
(`connection`), the embedded store's changes to litemongo, one module per change
(`litemongo_changes`), reading many documents at once (`bulk_reads`), and the operator's
commands that work on a whole store.

The rest of the app imports this package and asks it (`store.database()`,
`store.disk_full(error)`); nothing above it imports litemongo or mongomock itself.
"""

from __future__ import annotations

from .connection import (
    ALIAS,
    StoreError,
    connect,
    database,
    describe,
    disk_full,
    in_memory,
    queries_in_process,
)
from .counting import bounded_count
from .grouped_writes import together
from .warm import warm

__all__ = ["ALIAS", "StoreError", "bounded_count", "connect", "database", "describe",
           "disk_full", "in_memory", "queries_in_process", "together", "warm"]
