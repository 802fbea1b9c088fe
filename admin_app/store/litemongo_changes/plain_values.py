"""**A write copies plain values without a call each.** Every write passes its document
through mongomock's date patching, one Python call per value; plain values (strings,
numbers, ids) are now passed through directly and containers copied the same way.

"""

from __future__ import annotations

import typing as t

from .patching import replace_function


def _plain_values_as_they_are(upstream: t.Callable[[t.Any], t.Any]) -> t.Callable[[t.Any], t.Any]:
    """Every write copies its document through `patch_datetime_awareness_in_document`
    (dates to naive UTC milliseconds, as MongoDB stores them), one Python call per value:
    a record's forty search keys made it most of an insert. Values of plain types come
    back as they are without a call; containers are copied as upstream copies them; every
    other value (datetimes, Timestamps, subclasses) goes to upstream."""
    from bson import ObjectId

    plain = frozenset({str, int, float, bool, type(None), bytes, ObjectId})

    def patch(value: t.Any) -> t.Any:
        kind = type(value)
        if kind is dict:
            return {k: v if type(v) in plain else patch(v) for k, v in value.items()}
        if kind is list or kind is tuple:
            return [v if type(v) in plain else patch(v) for v in value]
        if kind in plain:
            return value
        return upstream(value)

    return patch


def install() -> None:
    from litemongo._vendor.mongomock import helpers

    replace_function(helpers, "patch_datetime_awareness_in_document", _plain_values_as_they_are)
