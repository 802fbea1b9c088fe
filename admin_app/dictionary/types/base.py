"""What every dictionary field type says about its values, and the defaults most share.

A type is one object in the registry (`types/__init__.py`). Everything the rest of the
code needs to know about a type is asked of it: how a value is read from a form, from a
directory attribute and from JSON, how it is checked, stored, shown to a person and to
the browser, what a stored value of another type becomes under it, which HTML control
edits it, and whether customers may change it on the portal. The rulebook, the forms,
the importer's schemas, a type change and the dictionary screens ask these; none of them
names a type.

Types get the field they read for (`Field`, which `snapshot.Field` is), for its label
and settings; the messages name the field by its current label. The registry imports
nothing else of the dictionary, so the snapshot can ask it.
"""

from __future__ import annotations

import math
import typing as t
from dataclasses import dataclass
from datetime import datetime


class Field(t.Protocol):
    """What a type reads of the field it reads for (`snapshot.Field` is one): its label for
    messages, its choices and, for a reference, its target."""

    @property
    def label(self) -> str: ...
    @property
    def choices(self) -> tuple[str, ...]: ...
    @property
    def target(self) -> str | None: ...
    @property
    def max_length(self) -> int | None: ...
    @property
    def pattern(self) -> str | None: ...
    @property
    def minimum(self) -> t.Any: ...
    @property
    def maximum(self) -> t.Any: ...


class Invalid(ValueError):
    """A value the rulebook refuses; the message is for the person who typed it, the
    code (stable, for programs: the API's problem documents) says which rule it broke."""

    def __init__(self, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Widget:
    """The HTML control that edits a value: an `<input>` of a type, a `<textarea>`, a
    `<select>` (one value or several), a tick box, or a lookup that searches the target's
    records. The forms layer builds it; the type only chooses."""

    control: str = "input"  # input, textarea, select, checkbox, lookup
    input_type: str = "text"  # for control "input": text, email, tel, url, number, date
    multiple: bool = False  # a select that holds several values
    step: str | None = None  # for number inputs: "any" for decimals


def is_number(value: t.Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_midnight(value: t.Any) -> bool:
    return isinstance(value, datetime) and value == datetime(value.year, value.month, value.day)


def as_text(value: t.Any) -> str | None:
    """A stored value's canonical text, or None when it has none (what a type change to a
    text type keeps)."""
    if isinstance(value, str):
        return value
    if is_number(value) and math.isfinite(value):
        return repr(value) if isinstance(value, float) else str(value)
    return value.date().isoformat() if is_midnight(value) else None


class FieldType:
    """A type's defaults: a single line of text. Each type overrides what differs."""

    name: t.ClassVar[str] = ""
    widget: t.ClassVar[Widget] = Widget()
    # A length and a pattern mean something (values are typed text).
    patterned: t.ClassVar[bool] = False
    # A minimum and a maximum mean something (`bound` reads them).
    ranged: t.ClassVar[bool] = False
    # Values come from the field's list of choices (the field screen edits the list).
    has_choices: t.ClassVar[bool] = False
    # Values are other records (the field names its `target`).
    is_reference: t.ClassVar[bool] = False
    # A type change may go to this type (which choices or target it needs cannot be guessed).
    convertible: t.ClassVar[bool] = True
    # Lists can sort on it with an index; its words can be search keys.
    sortable: t.ClassVar[bool] = True
    searchable: t.ClassVar[bool] = True
    # Why customers may see but never change such a field on the portal (None: they may).
    kept_from_customers: t.ClassVar[str | None] = None
    # Unset is itself a value (a tick box unticked is No), so it is never "mandatory".
    always_set: t.ClassVar[bool] = False
    # Values are moments in time: a conditional rule may ask "before" or "after" one.
    in_time: t.ClassVar[bool] = False
    # What a record stores when the value is blank.
    unset: t.ClassVar[t.Any] = None
    # What the JSON of a file or request holds, for messages and descriptions.
    json_words: t.ClassVar[str] = "text"

    # -- reading ---------------------------------------------------------------------------

    def from_texts(self, field: Field, texts: t.Sequence[str]) -> t.Any:
        """The value of what a form posts, or a directory attribute holds: one text or
        several. Most types take the first."""
        return self.from_text(field, texts[0] if texts else "")

    def from_text(self, field: Field, text: str | None) -> t.Any:
        """A value typed into a form (blank is None)."""
        return (text or "").strip() or None

    def from_json(self, field: Field, value: t.Any) -> t.Any:
        """A value from a JSON file or request: JSON types, never coerced from text."""
        if value is None:
            return None
        if not isinstance(value, str):
            raise Invalid(f"{field.label} must be text, not a number, list or object.")
        return value.strip() or None

    def bound(self, setting: t.Any) -> t.Any:
        """A stored minimum or maximum as comparable with a value."""
        return setting

    # -- checking --------------------------------------------------------------------------

    def check(self, field: Field, value: t.Any) -> None:
        """What this type asks of a value that is there, beyond the length, pattern and
        range the rulebook checks for every type that has them."""

    # -- storing and showing ---------------------------------------------------------------

    def to_storage(self, field: Field, value: t.Any) -> t.Any:
        """A read value as the record stores it."""
        return value.strip() if isinstance(value, str) else value

    def to_form(self, field: Field, value: t.Any) -> t.Any:
        """A stored value as the form's field holds it."""
        return value

    def shown(self, field: Field, value: t.Any) -> str:
        """A stored value as text for a page (escaped by the template)."""
        return str(value)

    def to_browser(self, field: Field, value: t.Any) -> t.Any:
        """A stored value, JSON-safe, for a script to put in the form's control."""
        return str(self.to_form(field, value))

    def to_json(self, field: Field, value: t.Any) -> t.Any:
        """A stored value as a JSON document (an API's response) gives it: what
        `from_json` reads back."""
        return value

    def json_schema(self, field: Field) -> dict[str, t.Any]:
        """The JSON Schema of a value (OpenAPI 3.1), with the field's own settings; the
        caller adds the label, help, and whether null is allowed."""
        schema: dict[str, t.Any] = {"type": "string"}
        if self.patterned and field.max_length:
            schema["maxLength"] = field.max_length
        if self.patterned and field.pattern:
            schema["pattern"] = f"^(?:{field.pattern})$"  # the rulebook matches it whole
        return schema

    def from_browser(self, value: t.Any) -> t.Any:
        """A value read back from a page's hidden JSON, as it is stored (the JSON keeps
        ids and dates as text)."""
        return value

    def renamed(self, value: t.Any, renames: t.Mapping[str, str]) -> t.Any:
        """A stored value after its choices are renamed."""
        return renames.get(value, value) if isinstance(value, str) else value

    # -- a type change ---------------------------------------------------------------------

    def convert(self, value: t.Any) -> t.Any | None:
        """A stored value of another type as this type stores it, or None when it would
        not mean the same here."""
        return as_text(value)

    def __repr__(self) -> str:
        return f"<field type {self.name}>"
