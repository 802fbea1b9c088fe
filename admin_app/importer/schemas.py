"""Marshmallow schemas for bulk data, built from the live dictionary.

One schema per (entity, Level) and dictionary version, so a label, a mandatory flag or a
custom field an admin just added is enforced by the next load. Each field reads and
checks its value with the rulebook (`dictionary/rules.py`), as the forms do, so a
value gets the same verdict and message either way. Reference fields arrive as
natural keys (text) and are resolved to records later; any non-scalar value (such as
`{"$gt": ""}`) fails type validation, so nothing from a file is used as a query operator.
"""

from __future__ import annotations

import typing as t
from datetime import datetime

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from ..dictionary import Snapshot
from ..dictionary.rules import Invalid, Rule, rule
from ..models.catalog import MOST_HOURS


def _text_messages(label: str) -> dict[str, str]:
    return {"invalid": f"{label} must be text, not a number, list or object."}


class RuleField(fields.Field):
    """A dictionary field in a schema: reading and checking the value is the rulebook's."""

    def __init__(self, rule: Rule) -> None:
        mandatory = rule.mandatory_message()
        super().__init__(required=rule.mandatory, allow_none=not rule.mandatory,
                         error_messages={"required": mandatory, "null": mandatory})
        self.rule = rule

    def _deserialize(self, value: t.Any, attr: str | None, data: t.Any,
                     **kwargs: t.Any) -> t.Any:
        try:
            return self.rule.accept_json(value)
        except Invalid as exc:
            raise ValidationError(str(exc)) from exc


class RecordSchema(Schema):
    """Base of the generated schemas; unknown keys are reported before loading."""

    class Meta:
        unknown = EXCLUDE

    external_id = fields.String(allow_none=True,
                                error_messages=_text_messages("External id"))


def record_schema_class(snapshot: Snapshot, entity: str, level: str) -> type[Schema]:
    def build() -> type[Schema]:
        attrs = {f.name: RuleField(rule(snapshot, entity, f.name, level))
                 for f in snapshot.live_fields(entity)}
        return type(f"{entity.title()}{level}Schema", (RecordSchema,), attrs)

    return snapshot.memo(("schema", entity, level), build)


def record_schema(snapshot: Snapshot, entity: str, level: str,
                  present: frozenset[str] | None = None) -> Schema:
    """The schema for records that carry the keys `present` (None: any keys).

    It checks the values a record gives, a blank one for a mandatory field included, but
    not that every mandatory field is given (marshmallow's `partial`): the file may
    update a stored record, which keeps the values it leaves out. Whether a new record
    holds every mandatory value is the importer's check (`engine._Run._creating`), with
    the message each field's `required` error carries.

    Marshmallow visits every declared field for every record; limiting a schema to the
    fields a file uses halves the cost of a typical load. The caller keeps these for its
    load (the importer builds one per record shape), so they are not kept for the
    dictionary version.
    """
    cls = record_schema_class(snapshot, entity, level)
    if present is None:
        return snapshot.memo(("schema-all", entity, level), lambda: cls(partial=True))
    return cls(only=sorted(present & set(cls._declared_fields)), partial=True)


class MidnightDate(fields.Date):
    """A `YYYY-MM-DD` date kept as a midnight datetime: the stores have no date type."""

    def _deserialize(self, value: t.Any, attr: str | None, data: t.Any,
                     **kwargs: t.Any) -> datetime:
        day = super()._deserialize(value, attr, data, **kwargs)
        return datetime(day.year, day.month, day.day)


class ContractSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    name = fields.String(required=True, validate=[validate.Length(min=1, max=200)],
                         error_messages={"required": "Name is mandatory."})
    description = fields.String(allow_none=True, validate=validate.Length(max=2000))
    expiry_date = MidnightDate(allow_none=True, error_messages={
        "invalid": "Expiry date must be a date written YYYY-MM-DD."})
    archived = fields.Boolean(truthy={True}, falsy={False})


class SLASchema(Schema):
    class Meta:
        unknown = EXCLUDE

    name = fields.String(required=True, validate=[validate.Length(min=1, max=200)],
                         error_messages={"required": "Name is mandatory."})
    response_hours = fields.Integer(strict=True, allow_none=True,
                                    validate=validate.Range(min=0, max=MOST_HOURS))
    resolution_hours = fields.Integer(strict=True, allow_none=True,
                                      validate=validate.Range(min=0, max=MOST_HOURS))
    archived = fields.Boolean(truthy={True}, falsy={False})


CATALOG_SCHEMAS: dict[str, Schema] = {"contracts": ContractSchema(), "slas": SLASchema()}
