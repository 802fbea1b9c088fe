"""Builds the WTForms form for an entity and Level from the dictionary.

A converter table keyed by dictionary type (as Flask-Admin's `CustomModelConverter`
does for model field types) turns each field definition into a WTForms field. A new
class is made per (version, entity, Level) and kept with the snapshot, so an admin's
change shows on the next request and a shared class is never mutated.
"""

from __future__ import annotations

import typing as t
from datetime import date

from flask_admin.form.widgets import DatePickerWidget
from flask_admin.model.fields import AjaxSelectField
from flask_wtf import FlaskForm
from markupsafe import escape
from wtforms import fields as wtf
from wtforms import validators as v
from wtforms.validators import ValidationError

from ..lookups import LOOKUPS
from .snapshot import Entity, Field, Section, Snapshot
from .values import to_storage


class Mandatory(v.DataRequired):
    """Requires a value, naming the field; a DataRequired so Flask-Admin stars the label.

    Unlike DataRequired it accepts 0 and False-y numbers: only blank means missing.
    """

    def __init__(self, label: str) -> None:
        super().__init__(message=f"{label} is mandatory.")

    def __call__(self, form: t.Any, field: t.Any) -> None:
        data = field.data
        if data is None or (isinstance(data, str) and not data.strip()) or data == []:
            field.errors[:] = []
            raise v.StopValidation(self.message)


class ReferenceField(AjaxSelectField):
    """A searchable drop-down; a chosen id that no longer resolves is an error, not a blank."""

    def pre_validate(self, form: t.Any) -> None:
        if self._formdata and self.data is None:
            raise ValidationError(f"The chosen {self.label.text} no longer exists; choose again.")
        super().pre_validate(form)


class DictionaryForm(FlaskForm):
    """Base of every generated form; knows its layout and how to store its values."""

    dictionary_fields: t.ClassVar[tuple[Field, ...]] = ()
    layout_sections: t.ClassVar[tuple[Section, ...]] = ()
    dictionary_level: t.ClassVar[str] = ""
    carried_values: list[tuple[str, str]]

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self.carried_values = []

    def populate_obj(self, obj: t.Any) -> None:
        for definition in self.dictionary_fields:
            setattr(obj, definition.name, to_storage(definition, self[definition.name].data))


def _validators(field: Field, level: str) -> list[t.Any]:
    checks: list[t.Any] = [Mandatory(field.label) if field.is_mandatory(level) else v.Optional()]
    if field.max_length and field.type in ("text", "longtext", "email", "phone", "url"):
        checks.append(v.Length(max=field.max_length,
                               message=f"{field.label} must be at most {field.max_length} "
                                       f"characters."))
    if field.pattern:
        checks.append(v.Regexp(field.pattern,
                               message=f"{field.label} does not have the expected format."))
    low, high = field.bounds()
    if (low is not None or high is not None) and field.type in ("integer", "decimal", "date"):
        checks.append(v.NumberRange(min=low, max=high, message=field.range_message()))
    return checks


def _choice(field: Field, kw: dict[str, t.Any], level: str) -> wtf.Field:
    blank = [] if field.is_mandatory(level) else [wtf.SelectChoice("", "")]
    return wtf.SelectField(choices=blank + [wtf.SelectChoice(c) for c in field.choices], **kw)


def _level(entity: Entity, kw: dict[str, t.Any]) -> wtf.Field:
    """A record's Level: the values are the Level names the code works with, the words
    shown for them are the dictionary's (User, Tenant…)."""
    kw["validators"] = []  # always one of the Levels: SelectField refuses anything else
    return wtf.SelectField(choices=[wtf.SelectChoice(lv.name, lv.singular)
                                    for lv in entity.levels], **kw)


def _reference(field: Field, kw: dict[str, t.Any], level: str) -> wtf.Field:
    kw["render_kw"] = {"data-placeholder": f"Type to search {field.label}"}
    return ReferenceField(LOOKUPS[field.target], allow_blank=not field.is_mandatory(level), **kw)


def _email(field: Field, kw: dict[str, t.Any], level: str) -> wtf.Field:
    kw["validators"].append(v.Email(message=f"{field.label} must be an email address."))
    return wtf.EmailField(**kw)


def _url(field: Field, kw: dict[str, t.Any], level: str) -> wtf.Field:
    kw["validators"].append(v.URL(message=f"{field.label} must be a web address."))
    return wtf.URLField(**kw)


def _simple(field_class: type[wtf.Field], **extra: t.Any) -> t.Callable[..., wtf.Field]:
    def convert(field: Field, kw: dict[str, t.Any], level: str) -> wtf.Field:
        return field_class(**kw, **extra)

    return convert


def _boolean(field: Field, kw: dict[str, t.Any], level: str) -> wtf.Field:
    kw["validators"] = []  # an unticked box is a value (False), never "missing"
    return wtf.BooleanField(**kw)


CONVERTERS: dict[str, t.Callable[[Field, dict[str, t.Any], str], wtf.Field]] = {
    "text": _simple(wtf.StringField),
    "longtext": _simple(wtf.TextAreaField),
    "phone": _simple(wtf.TelField),
    "integer": _simple(wtf.IntegerField),
    "decimal": _simple(wtf.DecimalField),
    "date": _simple(wtf.DateField, widget=DatePickerWidget()),
    "boolean": _boolean,
    "choice": _choice,
    "email": _email,
    "url": _url,
    "reference": _reference,
}


def _form_field(field: Field, level: str, entity: Entity) -> wtf.Field:
    kw: dict[str, t.Any] = {
        "label": field.label,
        # Flask-Admin prints a field's description with |safe; help text is an admin's
        # words, so it goes in already escaped and shows as text.
        "description": escape(field.help_text),
        "validators": _validators(field, level),
    }
    if field.default is not None:
        kw["default"] = date.fromisoformat(field.default) if field.type == "date" \
            and isinstance(field.default, str) else field.default
    if field.system and field.name == "level":
        return _level(entity, kw)
    return CONVERTERS[field.type](field, kw, level)


def form_class(snapshot: Snapshot, entity: str, level: str) -> type[DictionaryForm]:
    """The form for `entity` at `level`, built once per dictionary version."""

    def build() -> type[DictionaryForm]:
        sections = snapshot.layout(entity, level)
        names = [name for section in sections for name in section.fields]
        definitions = tuple(snapshot.field(entity, name) for name in names)
        words = snapshot.entity(entity)
        attrs: dict[str, t.Any] = {d.name: _form_field(d, level, words) for d in definitions}
        attrs.update(dictionary_fields=definitions, layout_sections=sections,
                     dictionary_level=level)
        return type(f"{entity.title()}{level}Form", (DictionaryForm,), attrs)

    return snapshot.memo(("form", entity, level), build)
