"""Yes / no, edited with a tick box. Unticked is No, a value of its own: never missing."""

from __future__ import annotations

import typing as t

from .base import Field, FieldType, Invalid, Widget

_TRUE, _FALSE = {"y", "yes", "on", "true", "1"}, {"n", "no", "off", "false", "0", ""}


class Boolean(FieldType):
    name = "boolean"
    widget = Widget("checkbox")
    always_set = True
    unset = False
    json_words = "true or false"

    def from_text(self, field: Field, text: str | None) -> bool:
        text = (text or "").strip().lower()
        if text not in _TRUE | _FALSE:
            raise Invalid(f"{field.label} must be true or false.")
        return text in _TRUE

    def from_json(self, field: Field, value: t.Any) -> bool | None:
        if value is None:
            return None
        if not isinstance(value, bool):
            raise Invalid(f"{field.label} must be true or false.")
        return value

    def json_schema(self, field: Field) -> dict[str, t.Any]:
        return {"type": "boolean"}

    def shown(self, field: Field, value: t.Any) -> str:
        return "Yes" if value else "No"

    def to_browser(self, field: Field, value: t.Any) -> t.Any:
        return bool(value)

    def convert(self, value: t.Any) -> bool | None:
        return value if isinstance(value, bool) else None
