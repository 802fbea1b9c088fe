"""Names of referenced records in list pages, fetched once per page rather than per cell."""

from __future__ import annotations

import typing as t

from bson import ObjectId
from flask import g

from ..dictionary import Field
from ..forms.lookups import LOOKUPS

# The deepest page a list view with `max_page` serves: a skip walks the index entries it
# skips, so beyond this the last page is shown (searching or sorting finds the rest).
MAX_PAGE = 50


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
        _fetch(field, [i for i in ids if (field.target, i) not in cache], cache)


def label(field: Field, value: t.Any) -> str:
    if value is None:
        return ""
    cache = _cache()
    if (field.target, value) not in cache:
        _fetch(field, [value], cache)
    return cache[(field.target, value)]


def _fetch(field: Field, ids: list[t.Any], cache: dict[tuple[str, t.Any], str]) -> None:
    if not ids:
        return
    for oid in ids:
        # A dangling link is shown as such, and remembered so it is not looked up again.
        cache[(field.target, oid)] = f"(missing {field.label})"
    for doc in LOOKUPS[field.target].model.objects(pk__in=ids).only("name"):
        cache[(field.target, doc.pk)] = doc.name or ""


class NamesReferences:
    """Mixin for a list view: the names its rows point to are fetched once per page (one
    query per target), not once per cell. `reference_columns` says which columns."""

    reference_columns: list[Field] = []
    max_page: int | None = None  # the deepest page served (None: any)

    def get_list(self, page: int | None, sort_column: str, sort_desc: bool, search: str | None,
                 filters: t.Any, execute: bool = True, page_size: int | None = None) -> t.Any:
        if page and self.max_page is not None:
            page = min(page, self.max_page)
        # Flask-Admin sorts by any listed column named in `?sort=`, sortable or not; only
        # the sortable ones are offered, and only those have an index to sort by.
        if sort_column and sort_column not in (getattr(self, "_sortable_columns", None) or {}):
            sort_column = None
        count, rows = super().get_list(  # type: ignore[misc]
            page, sort_column, sort_desc, search, filters, execute=execute, page_size=page_size)
        if execute:
            rows = list(rows)
            prime(self.reference_columns, rows)
        return count, rows
