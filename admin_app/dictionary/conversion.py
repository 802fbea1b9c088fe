"""What a stored value means under another field type: the rules a type change goes by.

A value converts only if it means the same under the new type (see `convert`); the
rulebook's own checks (email, URL, phone) decide the formats, so a value a type change
lets through is one the forms and the importer would accept too.
"""

from __future__ import annotations

import math
import re
import typing as t
from datetime import date, datetime
from decimal import Decimal

from . import rules

_INTEGER = re.compile(r"-?(0|[1-9][0-9]*)")
_DECIMAL = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def convert(value: t.Any, new_type: str) -> t.Any | None:
    """`value` as stored under `new_type`, or None when it would not mean the same there.

    Text converts to a number only if it is the number's canonical text (no leading
    zeros, spaces or `+`) and the number fits: 64-bit integers, decimals a float holds
    exactly. Booleans come only from booleans; dates only from strict `YYYY-MM-DD`.
    """
    try:
        return _CONVERTERS[new_type](value)
    except (ValueError, OverflowError, ArithmeticError):
        return None


def _number(value: t.Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _midnight(value: t.Any) -> bool:
    return isinstance(value, datetime) and value == datetime(value.year, value.month, value.day)


def _to_text(value: t.Any) -> str | None:
    if isinstance(value, str):
        return value
    if _number(value) and math.isfinite(value):
        return repr(value) if isinstance(value, float) else str(value)
    return value.date().isoformat() if _midnight(value) else None


def _to_phone(value: t.Any) -> str | None:
    text = _to_text(value)
    return text if rules.is_phone(text) else None


def _to_integer(value: t.Any) -> int | None:
    if isinstance(value, float):
        number = int(value) if value.is_integer() else None
    elif _number(value):
        number = value
    elif isinstance(value, str) and _INTEGER.fullmatch(value):
        number = int(value)
    else:
        return None
    return number if number is not None and abs(number) < rules.INT64 else None


def _to_decimal(value: t.Any) -> float | None:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if _number(value):
        return float(value) if int(float(value)) == value else None
    if isinstance(value, str) and _DECIMAL.fullmatch(value):
        number = float(value)
        return number if Decimal(value) == Decimal(repr(number)) else None
    return None


def _to_date(value: t.Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if _midnight(value) else None
    if isinstance(value, str) and _DATE.fullmatch(value):
        day = date.fromisoformat(value)
        return datetime(day.year, day.month, day.day)
    return None


def _to_email(value: t.Any) -> str | None:
    # Stored in lower case, as the forms store them: an address does not depend on capitals.
    ok = isinstance(value, str) and value == value.strip() and rules.is_email(value)
    return value.lower() if ok else None


_CONVERTERS: dict[str, t.Callable[[t.Any], t.Any]] = {
    "text": _to_text,
    "longtext": _to_text,
    "phone": _to_phone,
    "integer": _to_integer,
    "decimal": _to_decimal,
    "date": _to_date,
    "boolean": lambda value: value if isinstance(value, bool) else None,
    "email": _to_email,
    "url": lambda value: value if rules.is_url(value) else None,
}
