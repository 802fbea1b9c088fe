"""The embedded store's changes to litemongo 0.2.0 (which vendors mongomock): every change
to litemongo's own behaviour lives in this package, one module per change, each pinned to
that version. Each keeps the answers exactly as upstream gives them;
`tests/test_litemongo_changes.py` shows, change by change, the upstream behaviour each
one changes and that the answers are unchanged.

| module | the change |
|---|---|
| `pages` | a page of results copies only that page |
| `change_log` | another process's write costs what it changed, not the whole collection |
| `sort_keys` | a sort computes each document's key once |
| `text_order` | a page sorted by a text field reads only that page |
| `candidates` | a query's candidates are read from the index in place |
| `plain_values` | a write copies plain values without a call each |
| `compact_index` | the hash index holds what it needs, once |
| `keys_table` | search keys are kept in SQLite, not in each worker |
| `transactions` | one write is one SQLite transaction |
| `batch_insert` | a batch of new documents is encoded once and inserted in one statement |
| `in_set` | `$in` asks a set |
| `opening` | a new collection is made once, however many processes open it at once |

`patching` keeps each replaced upstream piece in `UPSTREAM`, for the tests. Any other
litemongo version is left as it is.
"""

from __future__ import annotations

from . import (
    batch_insert,
    candidates,
    change_log,
    compact_index,
    in_set,
    keys_table,
    opening,
    pages,
    plain_values,
    sort_keys,
    transactions,
)
from .patching import UPSTREAM

LITEMONGO_VERSION = "0.2.0"

# In this order: `batch_insert` replaces `_insert` before `transactions` wraps every write.
_CHANGES = (pages, sort_keys, change_log, keys_table, candidates, compact_index, plain_values,
            in_set, batch_insert, transactions, opening)


def apply() -> bool:
    """Install the changes once per process; False when litemongo is another version."""
    import litemongo

    if litemongo.__version__ != LITEMONGO_VERSION:
        return False
    if UPSTREAM:
        return True
    for change in _CHANGES:
        change.install()
    return True


__all__ = ["LITEMONGO_VERSION", "UPSTREAM", "apply"]
