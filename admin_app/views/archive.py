"""The Archived filter: archived records leave the current list but can be listed and restored."""

from __future__ import annotations

import typing as t

from flask_admin.contrib.mongoengine.filters import BaseMongoEngineFilter
from mongoengine import QuerySet

SHOW_ARCHIVED = "1"
SHOW_CURRENT = "0"


class ArchivedFilter(BaseMongoEngineFilter):
    def __init__(self, label: str) -> None:
        super().__init__(
            column=None, name=label,
            options=((SHOW_ARCHIVED, "Archived"), (SHOW_CURRENT, "Current")),
        )

    def apply(self, query: QuerySet, value: t.Any) -> QuerySet:
        if value == SHOW_ARCHIVED:
            return query.filter(archived=True)
        return query.filter(archived__ne=True)

    def operation(self) -> str:
        return "shows"
