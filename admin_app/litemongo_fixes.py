"""Changes to how the embedded store (litemongo 0.2.0, which vendors mongomock) answers
queries: every change to litemongo's own behaviour lives here, pinned to that version.

**A page of results copies only that page.** mongomock's cursor builds the whole result
list — each matching document copied for the projection — before it applies skip and
limit, so page 1 of 20,000 customers copied 20,000 documents to show 20 (about a third
of the page's time). Here a cursor with a limit that has not yet computed its full
results takes only `skip + limit` documents from the (already sorted) result generator.
Everything that needs every result (a count, `alive`, a cursor without a limit) still
takes the original path, and the documents returned are the same ones in the same order.

`tests/test_litemongo_fixes.py` shows the upstream behaviour (every match copied) and
that the results are unchanged. Any other litemongo version is left as it is.
"""

from __future__ import annotations

import itertools
import typing as t

LITEMONGO_VERSION = "0.2.0"
# The upstream methods replaced here, kept so that the test can compare with them.
UPSTREAM: dict[str, t.Any] = {}


def apply() -> bool:
    """Install the changes once per process; False when litemongo is another version."""
    import litemongo

    if litemongo.__version__ != LITEMONGO_VERSION:
        return False
    from litemongo._vendor.mongomock.collection import Cursor

    if "Cursor._compute_results" in UPSTREAM:
        return True
    upstream = UPSTREAM["Cursor._compute_results"] = Cursor._compute_results

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

    Cursor._compute_results = _compute_results
    return True
