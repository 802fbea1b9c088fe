"""The rulebook: what a valid value is for every field, and what to say when it is not.

This is the only module that decides validity. What a value of each type is (read from a
form, a file or the directory, and checked) is the type's, in the registry (`types/`);
the rulebook adds what any field may ask: a value when mandatory, a length, a pattern, a
range. The record forms (`forms/records.py`), the bulk
load schemas (`importer/schemas.py`), the change previews (`impact.py`) and any later way
in (directory sync, API) ask it, so a value gets the same verdict and the same message,
naming the field by its current label, whichever way it arrives.

A value arrives either as text (a form) or as a JSON value (a file, an API); each has
its parser, and both end in the same `check`. Patterns are matched whole, by RE2, whose
matching time grows linearly with the text: an admin's pattern cannot hang a worker.
"""

from __future__ import annotations

import functools
import re
import typing as t
from dataclasses import dataclass
from datetime import datetime

import re2

from .snapshot import Field, Snapshot
from .types import INT64, Invalid, is_email, is_phone, is_url, of

__all__ = ["INT64", "Invalid", "PatternError", "Rule", "check_pattern", "compile_pattern",
           "is_email", "is_phone", "is_url", "matches", "parse_typed", "rule"]

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
    if not of(field_type).patterned:
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
        return not self.field.kind.always_set and self.field.is_mandatory(self.level)

    def mandatory_message(self) -> str:
        return f"{self.label} is mandatory."

    # -- parsing: the field's type reads the value -----------------------------------------

    def from_text(self, text: str | None) -> t.Any:
        """A value typed into a form (text; blank is None)."""
        return self.field.kind.from_text(self.field, text)

    def from_texts(self, texts: t.Sequence[str]) -> t.Any:
        """What a form posts or a directory attribute holds: one text or several."""
        return self.field.kind.from_texts(self.field, texts)

    def from_json(self, value: t.Any) -> t.Any:
        """A value from a JSON file or request: JSON types, never coerced from text."""
        return self.field.kind.from_json(self.field, value)

    # -- checking ---------------------------------------------------------------------

    def check(self, value: t.Any) -> None:
        """Everything but the type: mandatory, length, pattern, range, choice, format."""
        field, label = self.field, self.label
        if value is None or value == "" or value == []:
            if self.mandatory:
                raise Invalid(self.mandatory_message(), "mandatory")
            return
        kind = field.kind
        if isinstance(value, str) and kind.patterned:
            if field.max_length and len(value) > field.max_length:
                raise Invalid(f"{label} must be at most {field.max_length} characters.",
                              "too_long")
            if field.pattern and not matches(field.pattern, value):
                raise Invalid(f"{label} does not have the expected format.", "pattern")
        if kind.ranged and (field.minimum is not None or field.maximum is not None):
            low, high = field.bounds()
            compared = value.date() if isinstance(value, datetime) else value
            if (low is not None and compared < low) or (high is not None and compared > high):
                raise Invalid(field.range_message(), "out_of_range")
        kind.check(field, value)

    def accept_text(self, text: str | None) -> t.Any:
        value = self.from_text(text)
        self.check(value)
        return value

    def accept_texts(self, texts: t.Sequence[str]) -> t.Any:
        value = self.from_texts(texts)
        self.check(value)
        return value

    def accept_json(self, value: t.Any) -> t.Any:
        value = self.from_json(value)
        self.check(value)
        return value


def rule(snapshot: Snapshot, entity: str, name: str, level: str) -> Rule:
    """The rule for one field on one Level's form, kept for the dictionary version."""
    return snapshot.memo(("rule", entity, name, level),
                         lambda: Rule(snapshot.field(entity, name), level))


def parse_typed(field_type: str, text: str | None, label: str) -> t.Any:
    """An admin's typed setting of a field (a default, a bound), read by the same rules
    as a value of that field; blank is None."""
    return Rule(Field("", "", label, field_type), "").from_text(text)
