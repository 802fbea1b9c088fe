"""How a dictionary change would touch existing records, counted before it is applied.

Counts read the values of one field (projection only) and judge them in Python, the
same way on MongoDB, the embedded store and mongomock.
"""

from __future__ import annotations

import typing as t
from datetime import datetime

from ..models import Contact, Customer
from . import rules

RECORDS = {"customer": Customer, "contact": Contact}


def _values(entity: str, name: str, levels: t.Iterable[str] | None = None) -> t.Iterator[t.Any]:
    query: dict[str, t.Any] = {name: {"$nin": [None, ""]}}
    if levels is not None and entity == "customer":
        query["level"] = {"$in": list(levels)}
    for doc in RECORDS[entity]._get_collection().find(query, {name: 1}):
        yield doc.get(name)


def lacking(entity: str, name: str, levels: t.Iterable[str]) -> int:
    """Records at these Levels with no value: what making the field mandatory would flag."""
    levels = list(levels)
    query: dict[str, t.Any] = {"$or": [{name: None}, {name: ""}]}
    if entity == "customer":
        query["level"] = {"$in": levels}
    return RECORDS[entity]._get_collection().count_documents(query)


def holding(entity: str, name: str) -> int:
    return sum(1 for _ in _values(entity, name))


def too_long(entity: str, name: str, max_length: int) -> int:
    return sum(1 for value in _values(entity, name) if isinstance(value, str)
               and len(value) > max_length)


def not_matching(entity: str, name: str, pattern: str) -> int:
    """Values a form or a load would now refuse: matched whole, by the rulebook."""
    return sum(1 for value in _values(entity, name) if isinstance(value, str)
               and not rules.matches(pattern, value))


def out_of_range(entity: str, name: str, low: t.Any, high: t.Any) -> int:
    """Values outside [low, high]; stored dates are datetimes, bounds are dates."""
    def outside(value: t.Any) -> bool:
        if isinstance(value, datetime):
            value = value.date()
        try:
            return (low is not None and value < low) or (high is not None and value > high)
        except TypeError:
            return False  # a value of another type is the type check's business

    return sum(1 for value in _values(entity, name) if outside(value))
