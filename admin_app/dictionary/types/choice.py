"""One value from the field's list of choices."""

from __future__ import annotations

import typing as t

from .base import Field, FieldType, Invalid, Widget


class Choice(FieldType):
    name = "choice"
    widget = Widget("select")
    has_choices = True
    convertible = False  # which choices a value would need cannot be guessed
    json_words = "one of the choices"

    def check(self, field: Field, value: t.Any) -> None:
        if value not in field.choices:
            raise Invalid(f"{field.label} must be one of: {', '.join(field.choices)}.",
                          "not_a_choice")

    def json_schema(self, field: Field) -> dict[str, t.Any]:
        return {"type": "string", "enum": list(field.choices)}

    def convert(self, value: t.Any) -> None:
        return None
