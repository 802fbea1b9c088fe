"""Dates. Not every store has a date type, so a record keeps a date as midnight UTC."""

from __future__ import annotations

import re
import typing as t
from datetime import date, datetime

from .base import Field, FieldType, Invalid, Widget, is_midnight

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_CANONICAL_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class Date(FieldType):
    name = "date"
    widget = Widget("input", "date")
    ranged = True
    in_time = True
    json_words = "a date written YYYY-MM-DD"

    def from_text(self, field: Field, text: str | None) -> date | None:
        text = (text or "").strip()
        return self._date(field, text) if text else None

    def from_json(self, field: Field, value: t.Any) -> date | None:
        if value is None:
            return None
        if not isinstance(value, str):
            raise Invalid(self._message(field))
        return self._date(field, value.strip())

    @staticmethod
    def _message(field: Field) -> str:
        return f"{field.label} must be a date written YYYY-MM-DD."

    def _date(self, field: Field, text: str) -> date:
        try:
            if not _DATE.fullmatch(text):
                raise ValueError(text)
            return date.fromisoformat(text)
        except ValueError as exc:
            raise Invalid(self._message(field)) from exc

    def to_json(self, field: Field, value: t.Any) -> t.Any:
        value = self.to_form(field, value)
        return value.isoformat() if isinstance(value, date) else value

    def json_schema(self, field: Field) -> dict[str, t.Any]:
        # JSON Schema has no date bounds; the rulebook's range is said in the description.
        return {"type": "string", "format": "date"}

    def bound(self, setting: t.Any) -> t.Any:
        return date.fromisoformat(setting) if isinstance(setting, str) else setting

    def to_storage(self, field: Field, value: t.Any) -> t.Any:
        if isinstance(value, date) and not isinstance(value, datetime):
            return datetime(value.year, value.month, value.day)
        return value

    def to_form(self, field: Field, value: t.Any) -> t.Any:
        return value.date() if isinstance(value, datetime) else value

    def shown(self, field: Field, value: t.Any) -> str:
        return value.strftime("%Y-%m-%d") if isinstance(value, date) else str(value)

    def to_browser(self, field: Field, value: t.Any) -> t.Any:
        value = self.to_form(field, value)
        return value.isoformat() if isinstance(value, date) else str(value)

    def from_browser(self, value: t.Any) -> t.Any:
        try:
            return datetime.fromisoformat(value) if isinstance(value, str) else value
        except ValueError:
            return value

    def convert(self, value: t.Any) -> datetime | None:
        if isinstance(value, datetime):
            return value if is_midnight(value) else None
        if isinstance(value, str) and _CANONICAL_DATE.fullmatch(value):
            day = date.fromisoformat(value)
            return datetime(day.year, day.month, day.day)
        return None
