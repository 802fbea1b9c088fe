"""Any number of values from the field's list of choices (products used, languages
spoken, sites served). A record keeps them as a list in the order of the choices, so
picking the same ones in another order is no change; blank is no value at all."""

from __future__ import annotations

import json
import typing as t
from collections import Counter

from .base import Field, FieldType, Invalid, Widget


class MultiChoice(FieldType):
    name = "multichoice"
    widget = Widget("select", multiple=True)
    has_choices = True
    convertible = False  # which choices a value would need cannot be guessed
    sortable = False  # a list has no single value a column could sort by
    json_words = "a list of the choices"

    def from_texts(self, field: Field, texts: t.Sequence[str]) -> list[str] | None:
        """Every option picked on a form, or every value of a directory attribute."""
        return [text.strip() for text in texts if text.strip()] or None

    def from_text(self, field: Field, text: str | None) -> list[str] | None:
        """One typed text (an admin's default, a connector's default value): choices
        separated by commas, as `shown` writes them, unless the whole text is a choice."""
        text = (text or "").strip()
        return self.from_texts(field, [text] if text in field.choices else text.split(","))

    def from_json(self, field: Field, value: t.Any) -> list[str] | None:
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise Invalid(f"{field.label} must be a list of choices, such as "
                          f"{json.dumps(list(field.choices[:2]), ensure_ascii=False)}.")
        return self.from_texts(field, value)

    def check(self, field: Field, value: t.Any) -> None:
        unknown = [item for item in value if item not in field.choices]
        if unknown:
            which = "is not one of them" if len(unknown) == 1 else "are not among them"
            raise Invalid(f"{field.label} must be chosen from: {', '.join(field.choices)} "
                          f"({', '.join(unknown)} {which}).", "not_a_choice")
        repeated = sorted(item for item, times in Counter(value).items() if times > 1)
        if repeated:
            raise Invalid(f"{field.label} lists {', '.join(repeated)} more than once.",
                          "repeated")

    def to_storage(self, field: Field, value: t.Any) -> t.Any:
        order = {choice: position for position, choice in enumerate(field.choices)}
        return sorted(dict.fromkeys(value), key=lambda item: order.get(item, len(order)))

    def to_form(self, field: Field, value: t.Any) -> list[str]:
        return list(value) if isinstance(value, list | tuple) else [value]

    def shown(self, field: Field, value: t.Any) -> str:
        return ", ".join(str(item) for item in self.to_form(field, value))

    def to_browser(self, field: Field, value: t.Any) -> list[str]:
        return [str(item) for item in self.to_form(field, value)]

    def renamed(self, value: t.Any, renames: t.Mapping[str, str]) -> t.Any:
        if not isinstance(value, list):
            return super().renamed(value, renames)
        return list(dict.fromkeys(renames.get(item, item) for item in value))

    def to_json(self, field: Field, value: t.Any) -> t.Any:
        return self.to_browser(field, value)

    def json_schema(self, field: Field) -> dict[str, t.Any]:
        return {"type": "array", "items": {"type": "string", "enum": list(field.choices)},
                "uniqueItems": True}

    def convert(self, value: t.Any) -> None:
        return None
