"""How a value moves between a form field and a stored record, by dictionary type.

MongoDB has no `date` or `Decimal` type that every store supports, so dates are kept
as midnight datetimes and decimals as floats; references are kept as ObjectIds and
shown as the record they point to (`targets.Target.get`). Email addresses are kept in
lower case: they identify customers, and a match must not depend on how someone typed
the capitals.
"""

from __future__ import annotations

import typing as t
from datetime import date, datetime
from decimal import Decimal

from bson import ObjectId

from ..targets import TARGETS
from .snapshot import Field


def to_storage(field: Field, value: t.Any) -> t.Any:
    if value is None or value == "":
        return False if field.type == "boolean" else None
    if field.type == "reference":
        return value.pk if hasattr(value, "pk") else ObjectId(str(value))
    if field.type == "date" and isinstance(value, date) and not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day)
    if field.type == "decimal" and isinstance(value, Decimal):
        return float(value)
    if field.type == "email" and isinstance(value, str):
        return value.strip().lower()
    if isinstance(value, str):
        return value.strip()
    return value


def to_form(field: Field, value: t.Any) -> t.Any:
    if value is None:
        return None
    if field.type == "reference":
        target = TARGETS.get(field.target or "")
        return target.get(value) if target is not None else None
    if field.type == "date" and isinstance(value, datetime):
        return value.date()
    if field.type == "decimal" and isinstance(value, float):
        return Decimal(str(value))
    return value


def record_form_data(record: t.Any, fields: t.Iterable[Field]) -> dict[str, t.Any]:
    """The values a form shows for an existing record (missing attributes are blank)."""
    return {f.name: to_form(f, getattr(record, f.name, None)) for f in fields}
