"""**A page of results copies only that page.** mongomock's cursor builds the whole result
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

"""

from __future__ import annotations

import itertools
import typing as t

from .patching import replace


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


def install() -> None:
    from litemongo._vendor.mongomock import collection

    replace(collection.Cursor, "_compute_results", _page_only)
    replace(collection.Cursor, "__getitem__", _one_only)
    replace(collection.Cursor, "__next__", _results_once)
    collection.Cursor.next = collection.Cursor.__next__
