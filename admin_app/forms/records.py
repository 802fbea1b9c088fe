"""Builds the WTForms form for an entity and Level from the dictionary.

Each field's type (`dictionary/types/`) chooses an HTML control, which `widget_field` turns
into a WTForms field; reading and checking a value is the rulebook's
(`dictionary/rules.py`), as it is for the importer. A new
class is made per (version, entity, Level) and kept with the snapshot, so an admin's
change shows on the next request and a shared class is never mutated.
"""

from __future__ import annotations

import functools
import typing as t

from flask_admin.form.widgets import DatePickerWidget
from flask_admin.model.fields import AjaxSelectField
from flask_wtf import FlaskForm
from markupsafe import escape
from wtforms import fields as wtf
from wtforms import validators as v
from wtforms.validators import ValidationError

from ..dictionary.rules import Invalid, Rule, rule
from ..dictionary.snapshot import Entity, Field, Section, Snapshot
from ..dictionary.types.reference import gone
from ..dictionary.values import to_storage
from .lookups import LOOKUPS


class RuleCheck:
    """The rulebook's check as a WTForms validator: the form decides nothing itself."""

    def __init__(self, rule: Rule) -> None:
        self.rule = rule

    def __call__(self, form: t.Any, field: t.Any) -> None:
        if field.process_errors:  # the text did not read as a value: that says it all
            raise v.StopValidation()
        try:
            self.rule.check(field.data)
        except Invalid as exc:
            raise v.StopValidation(str(exc)) from exc


class MandatoryCheck(RuleCheck, v.DataRequired):
    """The same check on a mandatory field: a DataRequired, so Flask-Admin stars its label."""


class Parsed:
    """Reads what was typed with the rulebook, so a form and a file read a value alike."""

    rule: Rule

    def __init__(self, *args: t.Any, rule: Rule, **kwargs: t.Any) -> None:
        self.rule = rule
        super().__init__(*args, **kwargs)

    def process_formdata(self, valuelist: list[str]) -> None:
        try:
            self.data = self.rule.from_texts(valuelist)
        except Invalid as exc:
            self.data = None
            raise ValueError(str(exc)) from exc


@functools.cache
def _parsed(field_class: type[wtf.Field]) -> type[wtf.Field]:
    return type(f"Parsed{field_class.__name__}", (Parsed, field_class), {})


class ReferenceField(AjaxSelectField):
    """A searchable drop-down; a chosen id that no longer resolves is an error, not a blank."""

    def pre_validate(self, form: t.Any) -> None:
        if self._formdata and self.data is None:
            raise ValidationError(gone(self.label.text))
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


def _level(entity: Entity, kw: dict[str, t.Any]) -> wtf.Field:
    """A record's Level: the values are the Level names the code works with, the words
    shown for them are the dictionary's (User, Tenant…)."""
    kw["validators"] = []  # always one of the Levels: SelectField refuses anything else
    return wtf.SelectField(choices=[wtf.SelectChoice(lv.name, lv.singular)
                                    for lv in entity.levels], **kw)


# The WTForms field that renders each HTML control a type may choose (`types.Widget`).
# What is typed is read by the rulebook (`Parsed`), whichever control it came from.
_INPUTS: dict[str, type[wtf.Field]] = {
    "text": wtf.StringField, "email": wtf.EmailField, "tel": wtf.TelField,
    "url": wtf.URLField, "number": wtf.IntegerField,
}


def widget_field(rule: Rule, kw: dict[str, t.Any]) -> wtf.Field:
    """The form field for `rule`'s field, built from the control its type chooses."""
    widget = rule.field.kind.widget
    if widget.control == "lookup":
        kw["render_kw"] = {"data-placeholder": f"Type to search {rule.label}"}
        return ReferenceField(LOOKUPS[rule.field.target], allow_blank=not rule.mandatory, **kw)
    if widget.control == "select":
        choices = [wtf.SelectChoice(c) for c in rule.field.choices]
        if widget.multiple:
            return _parsed(wtf.SelectMultipleField)(choices=choices, validate_choice=False,
                                                    rule=rule, **kw)
        blank = [] if rule.mandatory else [wtf.SelectChoice("", "")]
        return _parsed(wtf.SelectField)(choices=blank + choices, validate_choice=False,
                                        rule=rule, **kw)  # the rulebook checks the choice
    if widget.control == "checkbox":
        return _parsed(wtf.BooleanField)(rule=rule, **kw)
    if widget.control == "textarea":
        return _parsed(wtf.TextAreaField)(rule=rule, **kw)
    if widget.input_type == "date":
        return _parsed(wtf.DateField)(rule=rule, widget=DatePickerWidget(), **kw)
    if widget.step:  # a decimal: shown with the digits it has, no rounding
        return _parsed(wtf.DecimalField)(rule=rule, places=None, **kw)
    return _parsed(_INPUTS[widget.input_type])(rule=rule, **kw)


def _form_field(rule: Rule, entity: Entity) -> wtf.Field:
    field = rule.field
    kw: dict[str, t.Any] = {
        "label": field.label,
        # Flask-Admin prints a field's description with |safe; help text is an admin's
        # words, so it goes in already escaped and shows as text.
        "description": escape(field.help_text),
        "validators": [(MandatoryCheck if rule.mandatory else RuleCheck)(rule)],
    }
    if field.default is not None:
        kw["default"] = field.kind.bound(field.default)  # a date's default is stored as text
    if field.system and field.name == "level":
        return _level(entity, kw)
    return widget_field(rule, kw)


def form_class(snapshot: Snapshot, entity: str, level: str) -> type[DictionaryForm]:
    """The form for `entity` at `level`, built once per dictionary version."""

    def build() -> type[DictionaryForm]:
        sections = snapshot.layout(entity, level)
        names = [name for section in sections for name in section.fields]
        definitions = tuple(snapshot.field(entity, name) for name in names)
        words = snapshot.entity(entity)
        attrs: dict[str, t.Any] = {
            d.name: _form_field(rule(snapshot, entity, d.name, level), words)
            for d in definitions}
        attrs.update(dictionary_fields=definitions, layout_sections=sections,
                     dictionary_level=level)
        return type(f"{entity.title()}{level}Form", (DictionaryForm,), attrs)

    return snapshot.memo(("form", entity, level), build)
