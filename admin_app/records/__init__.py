"""THE record write path: creating, changing, archiving and restoring Customer, Org and
Contact records, one at a time or in batches, with their history.

Only this package writes the record collections (`tests/test_record_writers.py` fails
when another module does). See `write.py` for what a write does, `batch.py` for the
seed load's and the sync's batches, `history.py` for how history is kept with the change,
`rekeying.py` for rewriting search keys after a dictionary change, `search_keys.py` for
which words are keys and `upkeep.py` for bringing an older store up to date.
"""

from __future__ import annotations

from . import batch, history, search_keys, trace
from .history import RecordChange
from .trace import Trace, Who
from .write import (
                    MODELS,
                    Missing,
                    Overlap,
                    Problem,
                    Refused,
                    Written,
                    archive,
                    create,
                    problems,
                    restore,
                    update,
)

__all__ = ["MODELS", "Missing", "Overlap", "Problem", "RecordChange", "Refused", "Trace", "Who",
           "Written", "archive", "batch", "create", "history", "problems", "restore", "search_keys",
           "trace", "update"]
