"""Search-as-you-type loaders for reference fields (Org, Customer, Contract…).

Flask-Admin 2.2.1's `QueryAjaxModelLoader.get_list` names its search-text argument
`query` and then calls `query.filter(...)` on that string, so every lookup fails with
`AttributeError: 'str' object has no attribute 'filter'` (or `limit` for an empty
search). These loaders start from the model's queryset instead, and narrow it to the
records a reference may point at (Orgs only for `org`, nothing archived).

Each keystroke is one query an index serves: records (Customers, Orgs, Contacts) are
matched by their search keys (`models/search.py`: every typed word starts a word of the
name or another searchable field), after an equality on the Level and the Archive flag,
in name order. Contracts and SLAs, short fixed lists without search keys, are matched
by name as before.
"""

from __future__ import annotations

import typing as t

import mongoengine
from flask_admin.contrib.mongoengine.ajax import QueryAjaxModelLoader
from flask_admin.model.ajax import DEFAULT_PAGE_SIZE

from ..models import search
from ..targets import TARGETS, object_id

MAX_ROWS = 50  # most rows one lookup request returns (the drop-down asks for 10)


class RecordLookup(QueryAjaxModelLoader):
    """Finds live records of one model by name, optionally restricted (e.g. level="Org")."""

    def __init__(self, name: str, model: type[mongoengine.Document], **restrict: t.Any) -> None:
        super().__init__(name, model, fields=["name"])
        self.restrict = restrict

    def base_query(self) -> mongoengine.QuerySet:
        return self.model.objects(archived=False, **self.restrict)

    def get_one(self, pk: t.Any) -> mongoengine.Document | None:
        oid = object_id(pk)
        if oid is None:
            return None
        # No archived filter: an existing link to an archived record must still display.
        return self.model.objects(pk=oid, **self.restrict).first()

    def get_list(
        self, query: str, offset: int = 0, limit: int = DEFAULT_PAGE_SIZE
    ) -> list[mongoengine.Document]:
        # `limit` and `offset` come from the URL: limit=0 would mean "every row".
        limit = min(limit, MAX_ROWS) if limit and limit > 0 else DEFAULT_PAGE_SIZE
        offset = max(offset or 0, 0)
        results = self.base_query()
        term = (query or "").strip()
        keyed = "search_keys" in self.model._fields
        if term and keyed:
            wanted = search.criteria(term)
            results = results.filter(__raw__=wanted) if wanted else results.filter(pk__in=[])
        elif term:
            criteria = None
            for field in self._cached_fields:
                # StringField escapes regex characters for icontains, so input is literal text.
                q = mongoengine.Q(**{f"{field.name}__icontains": term})
                criteria = q if criteria is None else criteria | q
            results = results.filter(criteria)
        results = results.order_by("name")
        if offset:
            results = results.skip(offset)
        return list(results.limit(limit))


def build_lookups() -> dict[str, RecordLookup]:
    """One loader per reference target the dictionary may name."""
    return {name: RecordLookup(name, target.model, **(target.restriction() or _any_level(target)))
            for name, target in TARGETS.items()}


def _any_level(target: t.Any) -> dict[str, t.Any]:
    """A target on customer records at any Level names those Levels, so the lookup is an
    equality ($in) on the Level like every other list of them, served by the same index."""
    levels = sorted({level for other in TARGETS.values() if other.model is target.model
                     for level in other.levels or ()})
    return {"level__in": levels} if levels else {}


LOOKUPS = build_lookups()
