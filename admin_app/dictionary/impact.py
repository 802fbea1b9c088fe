"""How a dictionary change would touch existing records, counted before it is applied.

Counts read the values of one field (projection only) and judge them in Python, the
same way on MongoDB, the embedded store and mongomock.
"""

from __future__ import annotations

import re
import typing as t
from datetime import date, datetime

from ..models import Contact, Customer
from . import rules

RECORDS = {"customer": Customer, "contact": Contact}
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


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


def converts(value: t.Any, new_type: str) -> bool:
    """Would this stored value mean the same under the new type?"""
    if new_type in ("text", "longtext", "phone", "choice"):
        return isinstance(value, (str, int, float)) and not isinstance(value, bool)
    if new_type == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value) is not None)
    if new_type == "decimal":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return True
        return isinstance(value, str) and re.fullmatch(r"\s*-?\d+(\.\d+)?\s*", value) is not None
    if new_type == "date":
        if isinstance(value, (date, datetime)):
            return True
        try:
            date.fromisoformat(str(value).strip())
        except ValueError:
            return False
        return True
    if new_type == "boolean":
        return isinstance(value, bool)
    if new_type == "email":
        return isinstance(value, str) and EMAIL.fullmatch(value) is not None
    if new_type == "url":
        return isinstance(value, str) and re.match(r"https?://\S+$", value) is not None
    return False


def not_converting(entity: str, name: str, new_type: str) -> int:
    return sum(1 for value in _values(entity, name) if not converts(value, new_type))


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


def convert(value: t.Any, new_type: str) -> t.Any:
    """The value under the new type; call only where `converts` said yes."""
    if new_type == "integer":
        return int(str(value).strip()) if not isinstance(value, int) else value
    if new_type == "decimal":
        return float(str(value).strip()) if not isinstance(value, (int, float)) else float(value)
    if new_type == "date":
        if isinstance(value, datetime):
            return value
        if isinstance(value, date):
            return datetime(value.year, value.month, value.day)
        parsed = date.fromisoformat(str(value).strip())
        return datetime(parsed.year, parsed.month, parsed.day)
    if new_type in ("text", "longtext", "phone", "choice"):
        return str(value)
    return value
