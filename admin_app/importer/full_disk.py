"""What to say when the disk fills during a load: what was written, and how to finish.

The load engine stops with `LoadStopped`, whose report counts what the batches before
the failure wrote and what the failing batch had written when the disk filled (its new
records are one insert, written whole or not at all; its updates one write each), so
the sentence says exactly how many of the file's records are in the store.

Loading the same file again completes it: the records already loaded are found by their
natural keys and found unchanged, never created twice.
"""

from __future__ import annotations

import typing as t
from pathlib import Path

from .engine import LoadStopped
from .source import SeedFileError, open_source

AGAIN = ("free some space and load the same file again to complete it: the records "
         "already loaded are found by their natural keys, not loaded twice")


def stopped(error: BaseException, paths: t.Sequence[t.Any]) -> str:
    """A clause for "The load stopped: …" (the page adds its own ending). A
    `LoadStopped` carries the run's report, which counts what had been written."""
    report = error.report if isinstance(error, LoadStopped) else None
    if report is None:
        return f"the disk is full; {AGAIN}"
    if report.dry_run:
        return ("the disk is full, so the check could not finish (a check writes no "
                "records); free some space and check the file again")
    # In the store as the file has them: written now, or found so (not those that failed
    # or, with --on-existing skip, were left as they were).
    loaded = sum(report.counts[o] for o in ("created", "updated", "unchanged"))
    names = " and ".join(Path(p).name for p in paths)
    total = _records_in(paths)
    of = f"{loaded:,} of the {total:,} records" if total is not None else f"{loaded:,} records"
    return f"the disk is full ({of} in {names} had been loaded); {AGAIN}"


def _records_in(paths: t.Sequence[t.Any]) -> int | None:
    try:
        return sum(open_source(p).count() for p in paths)
    except (OSError, SeedFileError):
        return None
