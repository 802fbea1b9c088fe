"""How a value moves between a form field and a stored record: each type says how
(`types/`); a blank value is stored as the type's unset value (None; No for a tick box).
"""

from __future__ import annotations

import typing as t

from .snapshot import Field


def blank(value: t.Any) -> bool:
    return value is None or value == "" or value == []


def to_storage(field: Field, value: t.Any) -> t.Any:
    kind = field.kind
    return kind.unset if blank(value) else kind.to_storage(field, value)


def to_form(field: Field, value: t.Any) -> t.Any:
    return None if value is None else field.kind.to_form(field, value)


def record_form_data(record: t.Any, fields: t.Iterable[Field]) -> dict[str, t.Any]:
    """The values a form shows for an existing record (missing attributes are blank)."""
    return {f.name: to_form(f, getattr(record, f.name, None)) for f in fields}
