"""Names of referenced records in list pages, fetched once per page rather than per cell."""

from __future__ import annotations

import typing as t

from bson import ObjectId
from flask import g

from ..dictionary import Field
from ..lookups import LOOKUPS


def _cache() -> dict[tuple[str, ObjectId], str]:
    if "reference_labels" not in g:
        g.reference_labels = {}
    return g.reference_labels


def prime(fields: t.Iterable[Field], rows: t.Iterable[t.Any]) -> None:
    """Fetch the names of everything the listed rows point to: one query per target."""
    rows = list(rows)
    cache = _cache()
    for field in fields:
        ids = {getattr(row, field.name, None) for row in rows} - {None}
        missing = [i for i in ids if (field.target, i) not in cache]
        if not missing:
            continue
        model = LOOKUPS[field.target].model
        for doc in model.objects(pk__in=missing).only("name"):
            cache[(field.target, doc.pk)] = doc.name or ""


def label(field: Field, value: t.Any) -> str:
    if value is None:
        return ""
    cache = _cache()
    if (field.target, value) not in cache:
        prime([field], [_Row(field.name, value)])
    # A dangling link is shown as such rather than as an empty cell.
    return cache.get((field.target, value), f"(missing {field.label})")


class _Row:
    def __init__(self, name: str, value: t.Any) -> None:
        setattr(self, name, value)
