"""Builds the WTForms form for an entity and Level from the dictionary, and lays each
form out for its record's state under the conditional rules.

Each field's type (`dictionary/types/`) chooses an HTML control, which `widget_field` turns
into a WTForms field; reading and checking a value is the rulebook's
(`dictionary/rules.py`), as it is for the importer. A new
class is made per (version, entity, Level) and kept with the snapshot, so an admin's
change shows on the next request and a shared class is never mutated.

Whether a field is shown, mandatory, read-only and which choices it offers depends on the
whole record (its Level and the conditional rules in force), so no field's validator
decides it: `RuledRecord` asks the evaluator to lay a form out and the record write path
(`records.problems`) to refuse a save, and `static/rule_form.js` keeps the page in step
as values change. The admin's record forms and the portal's My details both use it.
"""

from __future__ import annotations

import functools
import typing as t
from dataclasses import dataclass

from flask_admin.form.widgets import DatePickerWidget
from flask_admin.model.fields import AjaxSelectField
from flask_wtf import FlaskForm
from markupsafe import escape
from wtforms import fields as wtf
from wtforms import validators as v
from wtforms.validators import ValidationError

from .. import records
from ..dictionary import conditional
from ..dictionary.conditional import browser
from ..dictionary.conditional.evaluator import comparable, compiled
from ..dictionary.rules import Invalid, Rule, rule
from ..dictionary.snapshot import Entity, Field, Section, Snapshot
from ..dictionary.types.reference import gone
from ..dictionary.values import blank, to_storage
from ..records.history import same
from .lookups import LOOKUPS


class RuleCheck:
    """The rulebook's check of a value that is there, as a WTForms validator. Whether a
    blank field may stay blank is not the field's to say: its Level and the conditional
    rules in force decide, on the whole record (`RuledRecord.problems`)."""

    def __init__(self, rule: Rule) -> None:
        self.rule = rule

    def __call__(self, form: t.Any, field: t.Any) -> None:
        if field.process_errors:  # the text did not read as a value: that says it all
            raise v.StopValidation()
        if blank(field.data):
            return
        try:
            self.rule.check(field.data)
        except Invalid as exc:
            raise v.StopValidation(str(exc)) from exc


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
    """A searchable drop-down; a chosen id that no longer resolves is an error, not a blank.
    Whether it may be blank is the record's to say, so AjaxSelectField's own "Not a valid
    choice" for a blank is never said; `allow_blank` only offers the clearing cross."""

    def pre_validate(self, form: t.Any) -> None:
        if self._formdata and self.data is None:
            raise ValidationError(gone(self.label.text))


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
        return ReferenceField(LOOKUPS[rule.field.target], allow_blank=True, **kw)
    if widget.control == "select":
        choices = [wtf.SelectChoice(c) for c in rule.field.choices]
        if widget.multiple:
            return _parsed(wtf.SelectMultipleField)(choices=choices, validate_choice=False,
                                                    rule=rule, **kw)
        # The blank comes first; a form laid out for its record drops it where a value
        # is mandatory and chosen (`RuledRecord.lay_out`).
        return _parsed(wtf.SelectField)(choices=[wtf.SelectChoice("", ""), *choices],
                                        validate_choice=False, rule=rule,
                                        **kw)  # the rulebook checks the choice
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
        "validators": [RuleCheck(rule)],
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


# -- the form laid out for its record, under the conditional rules ------------------------

def reading(definition: Field) -> str:
    """How `static/rule_form.js` reads the field's control as the rules compare values
    (JSON): a tick box as true/false, a lookup as the chosen id, a multiple choice as a
    list, a number input as a number, an e-mail in lower case (as it is kept), the rest
    as its trimmed text (a date picker's is YYYY-MM-DD)."""
    kind, widget = definition.kind, definition.kind.widget
    if kind.always_set:
        return "boolean"
    if widget.control == "lookup":
        return "reference"
    if widget.multiple:
        return "multiple"
    if widget.input_type in ("number", "email"):
        return widget.input_type
    return "text"


def locking(definition: Field) -> str:
    """How a locked control keeps its value and still posts it: typed text is `readonly`;
    a drop-down, a tick box or a date picker cannot be, so it is disabled and hidden
    copies post its value (a disabled control posts nothing, which would read as
    emptied); a lookup's select2 is made read-only (its input is already hidden)."""
    widget = definition.kind.widget
    if widget.control == "lookup":
        return "lookup"
    if widget.control in ("select", "checkbox") or widget.input_type == "date":
        return "disabled"
    return "readonly"


def _chosen(field: t.Any) -> set[str]:
    data = field.data if isinstance(field.data, list | tuple) else [field.data]
    return {str(value) for value in data if not blank(value)}


@dataclass(frozen=True)
class RuleLayout:
    """How a record's form is laid out for the record's state under the Level and the
    conditional rules: what the page hides, stars and locks (narrowed choices are set on
    the form's fields), and what `static/rule_form.js` needs to keep it so as values
    change (`bundle`: the entity's rules, None when it has none; `facts`)."""

    definitions: dict[str, Field]  # the form's fields, by name
    hidden: frozenset[str]
    mandatory: frozenset[str]
    locked: frozenset[str]
    bundle: dict[str, t.Any] | None
    facts: dict[str, t.Any]

    reading = staticmethod(reading)
    locking = staticmethod(locking)

    def control(self, definition: Field) -> dict[str, t.Any]:
        """The HTML attributes of the field's control."""
        name, attributes = definition.name, {}
        if name in self.mandatory:
            attributes.update({"required": True, "aria-required": "true"})
        if name in self.locked:
            attributes.update({"aria-readonly": "true", "data-rule-locked": "1"})
            attributes["disabled" if locking(definition) == "disabled" else "readonly"] = True
        return attributes

    def copies(self, definition: Field, field: t.Any) -> list[str]:
        """What a locked, disabled control posts through hidden copies: what it shows."""
        if definition.name not in self.locked or locking(definition) != "disabled":
            return []
        if isinstance(field, wtf.SelectFieldBase):
            return [choice.value for choice in field.iter_choices() if choice.selected]
        if isinstance(field, wtf.BooleanField):
            return [field._value()] if field.data else []
        return [field._value()]


@dataclass(frozen=True)
class RuledRecord:
    """The record a form edits, as the conditional rules see it: `stored` is the record as
    it is (None: a new one). The state the page shows is the evaluator's; what a save may
    not do is the record write path's (`records.problems`), asked before the save so that
    every refusal shows at once, beside its field, in the write path's words."""

    entity: str
    level: str
    snapshot: Snapshot
    stored: dict[str, t.Any] | None

    @classmethod
    def of(cls, snapshot: Snapshot, entity: str, level: str, record: t.Any = None
           ) -> RuledRecord:
        """For a stored record (a MongoEngine document), or a new one (None)."""
        if record is None:
            return cls(entity, level, snapshot, None)
        stored = {f.name: getattr(record, f.name, None) for f in snapshot.live_fields(entity)}
        return cls(entity, level, snapshot, {k: v for k, v in stored.items() if v is not None})

    def would_be(self, changes: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
        """The record with `changes` (stored form; None: no value) as the write path
        would store it."""
        if self.stored is None:
            return {"archived": False, **{k: v for k, v in changes.items() if v is not None}}
        return {k: v for k, v in {**self.stored, **changes}.items() if v is not None}

    def problems(self, changes: t.Mapping[str, t.Any]) -> list[records.Problem]:
        """What the record write path would refuse in saving `changes`."""
        record = self.would_be(changes)
        changed = list(record) if self.stored is None else \
            [n for n in changes if not same(self.stored.get(n), changes[n])]
        return records.problems(self.entity, record, changed, self.snapshot, before=self.stored)

    def lay_out(self, form: t.Any, definitions: t.Sequence[Field],
                record: t.Mapping[str, t.Any]) -> RuleLayout:
        """Lay `form` (its `definitions`) out for `record`: the stored record when the
        form is opened, the record as it would be when a save was refused. Sets the
        choices each drop-down offers: those the rules allow, the blank unless a value is
        mandatory and chosen, and the current value even when a rule no longer allows
        it (the save names the rule, rather than the value silently vanishing)."""
        snapshot, entity = self.snapshot, self.entity
        state = conditional.evaluate(snapshot, entity, record, self.level)
        before = None
        if self.stored is not None:
            level = records.write.level_of(entity, self.stored, snapshot)
            before = state if record is self.stored and level == self.level else \
                conditional.evaluate(snapshot, entity, self.stored, level)
        was = self.stored if self.stored is not None else \
            {d.name: d.default for d in definitions}
        # Locked as the record was, or as it is now while the field still holds what the
        # form was opened with (one the user changed stays open, so it can be put back).
        locked = set(before.read_only if before is not None else ()) | {
            n for n in state.read_only if same(record.get(n), was.get(n))}
        options: dict[str, list[list[str]]] = {}
        for definition in definitions:
            field = form[definition.name]
            if isinstance(field, ReferenceField):
                field.allow_blank = definition.name not in state.mandatory  # the clearing cross
            elif isinstance(field, wtf.SelectFieldBase):
                options[definition.name] = [[c.value, str(c.label)] for c in field.choices]
                field.choices = self._offered(field, definition.name, state)
        rules = compiled(snapshot, entity)
        names = {d.name: d for d in definitions}
        facts = {
            "level": self.level,
            # What the rules read that the form does not show, as the record holds it.
            "fixed": {n: comparable(rules.fields.get(n), record.get(n))
                      for n in rules.read if n not in names},
            "locked": sorted(before.read_only) if before is not None else [],
            "opened": {d.name: comparable(d, was.get(d.name)) for d in definitions},
            "options": options,  # every choice of each drop-down, before narrowing
        }
        return RuleLayout(names, frozenset(state.hidden), frozenset(state.mandatory),
                          frozenset(locked),
                          browser.bundle(snapshot, entity) if rules.rules else None, facts)

    @staticmethod
    def _offered(field: t.Any, name: str, state: conditional.State) -> list[wtf.SelectChoice]:
        allowed, chosen = state.choices.get(name), _chosen(field)
        blank_offered = name not in state.mandatory or not chosen
        return [c for c in field.choices
                if (blank_offered if c.value == "" else
                    allowed is None or c.value in allowed or c.value in chosen)]
