"""Marshmallow schemas for bulk data, built from the live dictionary.

One schema per (entity, Level) and dictionary version, so a label, a mandatory flag or a
custom field an admin just added is enforced by the next load. Messages name the field
by its current label. Reference fields arrive as natural keys (text) and are resolved
to records later; any non-scalar value (such as `{"$gt": ""}`) fails type validation,
so nothing from a file is ever used as a query operator.
"""

from __future__ import annotations

import typing as t

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from ..dictionary import Field, Snapshot


def _not_blank(message: str) -> t.Callable[[t.Any], None]:
    def check(value: t.Any) -> None:
        if isinstance(value, str) and not value.strip():
            raise ValidationError(message)

    return check


def _text_messages(label: str) -> dict[str, str]:
    return {"invalid": f"{label} must be text, not a number, list or object."}


def _field(definition: Field, level: str) -> fields.Field:
    label = definition.label
    mandatory = definition.is_mandatory(level)
    checks: list[t.Any] = []
    messages: dict[str, str] = {}
    kind = definition.type
    if kind in ("text", "longtext", "phone", "email", "url", "choice", "reference"):
        messages.update(_text_messages(label))
        if definition.max_length and kind != "reference":
            checks.append(validate.Length(max=definition.max_length,
                                          error=f"{label} must be at most {{max}} characters."))
        if definition.pattern:
            checks.append(validate.Regexp(definition.pattern,
                                          error=f"{label} does not have the expected format."))
    low, high = definition.bounds()
    if (low is not None or high is not None) and kind in ("integer", "decimal", "date"):
        checks.append(validate.Range(min=low, max=high, error=definition.range_message()))
    if kind == "choice":
        allowed = ", ".join(definition.choices)
        checks.append(validate.OneOf(definition.choices,
                                     error=f"{label} must be one of: {allowed}."))
    if mandatory:
        checks.append(_not_blank(f"{label} is mandatory."))
        messages.update(required=f"{label} is mandatory.", null=f"{label} is mandatory.")
    options: dict[str, t.Any] = {"required": mandatory, "allow_none": not mandatory,
                                 "validate": checks, "error_messages": messages}
    if kind == "email":
        messages["invalid"] = f"{label} must be an email address."
        return fields.Email(**options)
    if kind == "url":
        messages["invalid"] = f"{label} must be a web address."
        return fields.URL(**options)
    if kind == "integer":
        messages["invalid"] = f"{label} must be a whole number."
        return fields.Integer(strict=True, **options)
    if kind == "decimal":
        messages["invalid"] = f"{label} must be a number."
        return fields.Float(allow_nan=False, **options)
    if kind == "date":
        messages["invalid"] = f"{label} must be a date written YYYY-MM-DD."
        return fields.Date(**options)
    if kind == "boolean":
        messages["invalid"] = f"{label} must be true or false."
        return fields.Boolean(truthy={True}, falsy={False}, **options)
    return fields.String(**options)


class RecordSchema(Schema):
    """Base of the generated schemas; unknown keys are reported before loading."""

    class Meta:
        unknown = EXCLUDE

    external_id = fields.String(allow_none=True,
                                error_messages=_text_messages("External id"))


def record_schema_class(snapshot: Snapshot, entity: str, level: str) -> type[Schema]:
    def build() -> type[Schema]:
        attrs = {f.name: _field(f, level) for f in snapshot.live_fields(entity)}
        return type(f"{entity.title()}{level}Schema", (RecordSchema,), attrs)

    return snapshot.memo(("schema", entity, level), build)


def record_schema(snapshot: Snapshot, entity: str, level: str,
                  present: frozenset[str] | None = None) -> Schema:
    """The schema for records that carry the keys `present` (None: any keys).

    Marshmallow visits every declared field for every record; limiting a schema to the
    fields a file uses (plus the mandatory ones, which must be checked when absent)
    halves the cost of a typical load. The caller keeps these for its load (the importer
    builds one per record shape), so they are not kept for the dictionary version.
    """
    cls = record_schema_class(snapshot, entity, level)
    if present is None:
        return snapshot.memo(("schema-all", entity, level), cls)
    mandatory = {n for n, f in cls._declared_fields.items() if f.required}
    return cls(only=sorted((present & set(cls._declared_fields)) | mandatory))


class ContractSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    name = fields.String(required=True, validate=[validate.Length(min=1, max=200)],
                         error_messages={"required": "Name is mandatory."})
    description = fields.String(allow_none=True, validate=validate.Length(max=2000))
    archived = fields.Boolean(truthy={True}, falsy={False})


class SLASchema(Schema):
    class Meta:
        unknown = EXCLUDE

    name = fields.String(required=True, validate=[validate.Length(min=1, max=200)],
                         error_messages={"required": "Name is mandatory."})
    response_hours = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=0))
    resolution_hours = fields.Integer(strict=True, allow_none=True,
                                      validate=validate.Range(min=0))
    archived = fields.Boolean(truthy={True}, falsy={False})


CATALOG_SCHEMAS: dict[str, Schema] = {"contracts": ContractSchema(), "slas": SLASchema()}
