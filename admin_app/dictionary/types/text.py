"""Typed text: a line, a paragraph, an email address, a phone number, a web address."""

from __future__ import annotations

import re
import typing as t
from urllib.parse import urlsplit

from .base import Field, FieldType, Invalid, Widget, as_text

# A number, an extension (x2201, ext. 12), or both.
_PHONE = re.compile(r"\+?[\d\s().\-/]*(\s*(x|ext\.?)\s*\d+)?", re.IGNORECASE)
_THREE_DIGITS = re.compile(r"(?:\D*\d){3}")
_EMAIL = re.compile(r"[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
                    r"(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*")


def is_email(value: t.Any) -> bool:
    """The HTML standard's "valid e-mail address": what a browser's email input already
    enforces, so the form, the browser and a file agree. (email_validator would cost
    about 20 µs a value, most of a bulk load's validation time.)"""
    return isinstance(value, str) and len(value) <= 254 and _EMAIL.fullmatch(value) is not None


def is_url(value: t.Any) -> bool:
    if not isinstance(value, str) or any(c.isspace() for c in value):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def is_phone(value: t.Any) -> bool:
    return isinstance(value, str) and _PHONE.fullmatch(value) is not None \
        and _THREE_DIGITS.match(value) is not None


class Text(FieldType):
    name = "text"
    patterned = True


class LongText(Text):
    name = "longtext"
    widget = Widget("textarea")


class Email(Text):
    """Kept in lower case: addresses identify customers, and a match must not depend on
    how someone typed the capitals."""

    name = "email"
    widget = Widget("input", "email")

    def json_schema(self, field: Field) -> dict[str, t.Any]:
        return {**super().json_schema(field), "format": "email"}

    def check(self, field: Field, value: t.Any) -> None:
        if not is_email(value):
            raise Invalid(f"{field.label} must be an email address.")

    def to_storage(self, field: Field, value: t.Any) -> t.Any:
        return value.strip().lower() if isinstance(value, str) else value

    def convert(self, value: t.Any) -> str | None:
        ok = isinstance(value, str) and value == value.strip() and is_email(value)
        return value.lower() if ok else None


class Phone(Text):
    name = "phone"
    widget = Widget("input", "tel")

    def check(self, field: Field, value: t.Any) -> None:
        if not is_phone(value):
            raise Invalid(f"{field.label} must be a phone number: digits, spaces, + ( ) - . / "
                          f"and an extension such as x2201.")

    def convert(self, value: t.Any) -> str | None:
        text = as_text(value)
        return text if is_phone(text) else None


class Url(Text):
    name = "url"
    widget = Widget("input", "url")

    def json_schema(self, field: Field) -> dict[str, t.Any]:
        return {**super().json_schema(field), "format": "uri"}

    def check(self, field: Field, value: t.Any) -> None:
        if not is_url(value):
            raise Invalid(f"{field.label} must be a web address starting with http:// or "
                          f"https://.")

    def convert(self, value: t.Any) -> str | None:
        return value if is_url(value) else None
