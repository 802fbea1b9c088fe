"""**A sort computes each document's key once.** mongomock sorts with a Python comparison
object per pair of documents (n log n calls to `bson_compare`); here one native key per
document gives the same order for the common values (missing, None, numbers, strings,
ObjectIds, booleans, naive datetimes, and arrays of them), and any other value sorts the
upstream way.

A one-key sort whose index keeps its values in order is read along that order instead
(`text_order`).
"""

from __future__ import annotations

import typing as t

from .patching import replace
from .text_order import in_index_order

_NO_NATIVE_KEY = object()


def _sorted_once(upstream: t.Callable[..., t.Iterator[t.Any]]) -> t.Callable[..., t.Any]:
    from litemongo._vendor.mongomock import filtering

    def _get_dataset(self: t.Any, spec: t.Any, sort: t.Any, fields: t.Any,
                     as_class: t.Any) -> t.Iterator[t.Any]:
        order = list(sort.items() if isinstance(sort, dict) else sort or ())
        if not order or any(key.startswith("$") for key, _ in order):
            yield from upstream(self, spec, sort, fields, as_class)
            return
        in_order = in_index_order(self, spec, order)
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


def install() -> None:
    from litemongo._vendor.mongomock import collection

    replace(collection.Collection, "_get_dataset", _sorted_once)
