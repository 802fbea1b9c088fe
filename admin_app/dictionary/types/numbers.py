"""Numbers: whole numbers (64-bit, as MongoDB stores them) and decimals (kept as floats,
which every store supports; a form shows them as `Decimal` so no digits are invented)."""

from __future__ import annotations

import math
import re
import typing as t
from decimal import Decimal as _Decimal

from .base import Field, FieldType, Invalid, Widget, is_number

INT64 = 2**63
_INTEGER = re.compile(r"[+-]?\d+")
_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
# What a type change accepts as a number's text: canonical, no `+`, no leading zeros.
_CANONICAL_INTEGER = re.compile(r"-?(0|[1-9][0-9]*)")
_CANONICAL_DECIMAL = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?")


def _ranged(schema: dict[str, t.Any], field: Field) -> dict[str, t.Any]:
    bounds = {"minimum": field.minimum, "maximum": field.maximum}
    return {**schema, **{k: v for k, v in bounds.items() if v is not None}}


class Integer(FieldType):
    name = "integer"
    widget = Widget("input", "number")
    ranged = True
    json_words = "a whole number"

    def from_text(self, field: Field, text: str | None) -> int | None:
        text = (text or "").strip()
        if not text:
            return None
        return self._checked(field, int(text) if _INTEGER.fullmatch(text) else None)

    def from_json(self, field: Field, value: t.Any) -> int | None:
        if value is None:
            return None
        return self._checked(field, value if isinstance(value, int)
                             and not isinstance(value, bool) else None)

    def json_schema(self, field: Field) -> dict[str, t.Any]:
        return _ranged({"type": "integer", "format": "int64"}, field)

    @staticmethod
    def _checked(field: Field, value: int | None) -> int:
        if value is None:
            raise Invalid(f"{field.label} must be a whole number.")
        if not -INT64 <= value < INT64:
            raise Invalid(f"{field.label} must be a whole number of at most 18 digits.")
        return value

    def convert(self, value: t.Any) -> int | None:
        if isinstance(value, float):
            number = int(value) if math.isfinite(value) and value.is_integer() else None
        elif is_number(value):
            number = value
        elif isinstance(value, str) and _CANONICAL_INTEGER.fullmatch(value):
            number = int(value)
        else:
            return None
        return number if number is not None and abs(number) < INT64 else None


class Decimal(FieldType):
    name = "decimal"
    widget = Widget("input", "number", step="any")
    ranged = True
    json_words = "a number"

    def from_text(self, field: Field, text: str | None) -> float | None:
        text = (text or "").strip()
        if not text:
            return None
        return self._checked(field, float(text) if _DECIMAL.fullmatch(text) else None)

    def from_json(self, field: Field, value: t.Any) -> float | None:
        if value is None:
            return None
        return self._checked(field, float(value) if is_number(value) else None)

    def json_schema(self, field: Field) -> dict[str, t.Any]:
        return _ranged({"type": "number"}, field)

    @staticmethod
    def _checked(field: Field, value: float | None) -> float:
        if value is None or not math.isfinite(value):
            raise Invalid(f"{field.label} must be a number.")
        return value

    def to_storage(self, field: Field, value: t.Any) -> t.Any:
        return float(value) if isinstance(value, _Decimal) else value

    def to_form(self, field: Field, value: t.Any) -> t.Any:
        return _Decimal(str(value)) if isinstance(value, float) else value

    def convert(self, value: t.Any) -> float | None:
        if isinstance(value, float):
            return value if math.isfinite(value) else None
        if is_number(value):
            return float(value) if int(float(value)) == value else None
        if isinstance(value, str) and _CANONICAL_DECIMAL.fullmatch(value):
            number = float(value)
            return number if _Decimal(value) == _Decimal(repr(number)) else None
        return None
