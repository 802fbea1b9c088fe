"""The rulebook: what a valid value is for every field type, and what to say when it is not.

This is the only module that decides validity. The record forms (`forms/records.py`), the bulk
load schemas (`importer/schemas.py`), the change previews (`impact.py`) and any later way
in (directory sync, API) ask it, so a value gets the same verdict and the same message,
naming the field by its current label, whichever way it arrives.

A value arrives either as text (a form) or as a JSON value (a file, an API); each has
its parser, and both end in the same `check`. Patterns are matched whole, by RE2, whose
matching time grows linearly with the text: an admin's pattern cannot hang a worker.
"""

from __future__ import annotations

import functools
import math
import re
import typing as t
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import urlsplit

import re2

from .snapshot import Field, Snapshot

TEXT_TYPES = ("text", "longtext", "phone", "email", "url", "choice", "reference")
# Types whose values are typed text, so that a length and a pattern mean something.
PATTERNED_TYPES = ("text", "longtext", "phone", "email", "url")
RANGED_TYPES = ("integer", "decimal", "date")
INT64 = 2**63  # MongoDB stores integers in 64 bits

_INTEGER = re.compile(r"[+-]?\d+")
_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# A number, an extension (x2201, ext. 12), or both.
_PHONE = re.compile(r"\+?[\d\s().\-/]*(\s*(x|ext\.?)\s*\d+)?", re.IGNORECASE)
_THREE_DIGITS = re.compile(r"(?:\D*\d){3}")
_EMAIL = re.compile(r"[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
                    r"(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*")
_TRUE, _FALSE = {"y", "yes", "on", "true", "1"}, {"n", "no", "off", "false", "0", ""}


class Invalid(ValueError):
    """A value the rulebook refuses; the message is for the person who typed it."""


class PatternError(ValueError):
    """A pattern that cannot be used; the message says why."""


@functools.lru_cache(maxsize=256)
def compile_pattern(pattern: str) -> t.Any:
    """RE2 for an admin's pattern. Refuses what RE2 cannot run in linear time
    (back-references, look-around) as well as what does not parse."""
    options = re2.Options()
    options.log_errors = False
    try:
        return re2.compile(pattern, options)
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) \
            else str(exc)
        try:
            re.compile(pattern)
        except re.error:
            raise PatternError(f"The pattern is not a valid regular expression "
                               f"({reason}).") from exc
        raise PatternError(
            f"The pattern uses a feature that cannot be matched in a bounded time "
            f"({reason}): back-references and look-ahead or look-behind are not "
            f"supported. Patterns are matched against the whole value.") from exc


def check_pattern(pattern: str | None, field_type: str) -> None:
    """Raise PatternError unless `pattern` compiles and suits a field of `field_type`."""
    if not pattern:
        return
    if field_type not in PATTERNED_TYPES:
        raise PatternError(f"A pattern applies to text fields, not to a {field_type} field.")
    compile_pattern(pattern)


def matches(pattern: str, value: str) -> bool:
    return compile_pattern(pattern).fullmatch(value) is not None


@dataclass(frozen=True)
class Rule:
    """How one field, on the form of one Level, accepts a value."""

    field: Field
    level: str

    @property
    def label(self) -> str:
        return self.field.label

    @property
    def mandatory(self) -> bool:
        return self.field.type != "boolean" and self.field.is_mandatory(self.level)

    def mandatory_message(self) -> str:
        return f"{self.label} is mandatory."

    # -- parsing ----------------------------------------------------------------------

    def from_text(self, text: str | None) -> t.Any:
        """A value typed into a form (text; blank is None)."""
        kind = self.field.type
        text = (text or "").strip()
        if kind == "boolean":
            if text.lower() not in _TRUE | _FALSE:
                raise Invalid(f"{self.label} must be true or false.")
            return text.lower() in _TRUE
        if not text:
            return None
        if kind == "integer":
            return self._integer(int(text) if _INTEGER.fullmatch(text) else None)
        if kind == "decimal":
            return self._decimal(float(text) if _DECIMAL.fullmatch(text) else None)
        if kind == "date":
            return self._date(text)
        return text

    def from_json(self, value: t.Any) -> t.Any:
        """A value from a JSON file or request: JSON types, never coerced from text."""
        kind = self.field.type
        if value is None:
            return None
        if kind == "boolean":
            if not isinstance(value, bool):
                raise Invalid(f"{self.label} must be true or false.")
            return value
        if kind == "integer":
            return self._integer(value if isinstance(value, int)
                                 and not isinstance(value, bool) else None)
        if kind == "decimal":
            return self._decimal(float(value) if isinstance(value, int | float)
                                 and not isinstance(value, bool) else None)
        if kind == "date":
            if not isinstance(value, str):
                raise Invalid(self._date_message())
            return self._date(value.strip())
        if not isinstance(value, str):
            raise Invalid(f"{self.label} must be text, not a number, list or object.")
        return value.strip() or None

    def _integer(self, value: int | None) -> int:
        if value is None:
            raise Invalid(f"{self.label} must be a whole number.")
        if not -INT64 <= value < INT64:
            raise Invalid(f"{self.label} must be a whole number of at most 18 digits.")
        return value

    def _decimal(self, value: float | None) -> float:
        if value is None or not math.isfinite(value):
            raise Invalid(f"{self.label} must be a number.")
        return value

    def _date_message(self) -> str:
        return f"{self.label} must be a date written YYYY-MM-DD."

    def _date(self, text: str) -> date:
        try:
            if not _DATE.fullmatch(text):
                raise ValueError(text)
            return date.fromisoformat(text)
        except ValueError as exc:
            raise Invalid(self._date_message()) from exc

    # -- checking ---------------------------------------------------------------------

    def check(self, value: t.Any) -> None:
        """Everything but the type: mandatory, length, pattern, range, choice, format."""
        field, label = self.field, self.label
        if value is None or value == "" or value == []:
            if self.mandatory:
                raise Invalid(self.mandatory_message())
            return
        kind = field.type
        if isinstance(value, str) and kind in PATTERNED_TYPES:
            if field.max_length and len(value) > field.max_length:
                raise Invalid(f"{label} must be at most {field.max_length} characters.")
            if field.pattern and not matches(field.pattern, value):
                raise Invalid(f"{label} does not have the expected format.")
        if kind in RANGED_TYPES and (field.minimum is not None or field.maximum is not None):
            low, high = field.bounds()
            compared = value.date() if isinstance(value, datetime) else value
            if (low is not None and compared < low) or (high is not None and compared > high):
                raise Invalid(field.range_message())
        if kind == "choice" and value not in field.choices:
            raise Invalid(f"{label} must be one of: {', '.join(field.choices)}.")
        if kind == "email" and not is_email(value):
            raise Invalid(f"{label} must be an email address.")
        if kind == "url" and not is_url(value):
            raise Invalid(f"{label} must be a web address starting with http:// or https://.")
        if kind == "phone" and not is_phone(value):
            raise Invalid(f"{label} must be a phone number: digits, spaces, + ( ) - . / "
                          f"and an extension such as x2201.")

    def accept_text(self, text: str | None) -> t.Any:
        value = self.from_text(text)
        self.check(value)
        return value

    def accept_json(self, value: t.Any) -> t.Any:
        value = self.from_json(value)
        self.check(value)
        return value


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


def rule(snapshot: Snapshot, entity: str, name: str, level: str) -> Rule:
    """The rule for one field on one Level's form, kept for the dictionary version."""
    return snapshot.memo(("rule", entity, name, level),
                         lambda: Rule(snapshot.field(entity, name), level))


def parse_typed(field_type: str, text: str | None, label: str) -> t.Any:
    """An admin's typed setting of a field (a default, a bound), read by the same rules
    as a value of that field; blank is None."""
    return Rule(Field("", "", label, field_type), "").from_text(text)
