"""A link to another record (an Org, a Contract, an SLA…). Kept as its ObjectId, shown as
the record it names; files and requests name the record by its natural key, which the
importer resolves."""

from __future__ import annotations

import typing as t

from bson import ObjectId

from ...targets import TARGETS
from .base import Field, FieldType, Widget


def gone(label: str) -> str:
    """What every way in says of a chosen record that is not there (any more)."""
    return f"The chosen {label} no longer exists; choose again."


class Reference(FieldType):
    name = "reference"
    widget = Widget("lookup")
    is_reference = True
    convertible = False
    sortable = False  # the stored id sorts in no order a person would recognise
    searchable = False
    kept_from_customers = "refers to other records"  # its picker would search others' records
    json_words = "the natural key of a record (external id, email or name)"

    def to_storage(self, field: Field, value: t.Any) -> t.Any:
        return value.pk if hasattr(value, "pk") else ObjectId(str(value))

    def to_form(self, field: Field, value: t.Any) -> t.Any:
        target = TARGETS.get(field.target or "")
        return target.get(value) if target is not None else None

    def shown(self, field: Field, value: t.Any) -> str:
        record = self.to_form(field, value)
        return str(record) if record is not None else ""

    def to_browser(self, field: Field, value: t.Any) -> t.Any:
        record = self.to_form(field, value)
        return {"id": str(record.pk), "text": str(record)} if record is not None else None

    def to_json(self, field: Field, value: t.Any) -> t.Any:
        return str(value)

    def json_schema(self, field: Field) -> dict[str, t.Any]:
        words = TARGETS[field.target].words if field.target in TARGETS else "record"
        return {"type": "string", "pattern": "^[0-9a-f]{24}$",
                "description": f"The id of a {words} record."}

    def from_browser(self, value: t.Any) -> t.Any:
        return ObjectId(value) if isinstance(value, str) and ObjectId.is_valid(value) else value

    def convert(self, value: t.Any) -> None:
        return None
