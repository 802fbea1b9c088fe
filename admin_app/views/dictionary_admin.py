"""Dictionary screens: admins relabel fields, set mandatory per Level, add custom fields,
choose list columns, retire and restore, and apply solution profiles — live.

Every change goes through the checked operations (`customising.fields`, `.entities`,
`.layouts`), so the guard rails are the same as for the command line; the form carries
the definition's revision so a stale save is refused.
"""

from __future__ import annotations

import typing as t

from flask import abort, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_wtf import FlaskForm
from mongoengine.errors import ValidationError
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.validators import DataRequired, NumberRange, Optional

from .. import dictionary
from ..customising import profiles, retype, search_key_jobs
from ..customising.checked import DictionaryError
from ..customising.entities import relabel_entity
from ..customising.fields import (
    CONVERTIBLE,
    add_field,
    change_type,
    choice_effects,
    parse_choices,
    parse_value,
    preview,
    rename_choice_values,
    update_field,
)
from ..customising.layouts import arrange_layout
from ..customising.revert import revert
from ..dictionary import history, types
from ..dictionary.documents import (
    FIELD_TYPES,
    REFERENCE_TARGETS,
    EntityDefinition,
    FieldDefinition,
    LayoutDefinition,
)
from ..dictionary.snapshot import portal_offers
from .secure import AdminOnly


class LevelChoices(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class FieldForm(FlaskForm):
    label = StringField("Label", validators=[DataRequired("A field needs a label.")])
    help_text = TextAreaField("Help text", validators=[Optional()])
    mandatory = LevelChoices("Mandatory on", choices=[])
    max_length = IntegerField("Max length", validators=[Optional(), NumberRange(min=1)])
    pattern = StringField("Pattern (regular expression)", validators=[Optional()])
    list_column = IntegerField("List column position (blank: not listed)",
                               validators=[Optional(), NumberRange(min=1)])
    searchable = BooleanField("Searchable")
    filterable = BooleanField("Filterable (a filter on the lists; list columns have one "
                              "anyway)")
    brought_forward = BooleanField("Brought forward to tickets")
    customer_visible = BooleanField("Visible to the customer (portal: My details)")
    customer_editable = BooleanField("Editable by the customer (portal; also tick visible)")
    retired = BooleanField("Retired (hidden from forms and lists; values are kept)")
    default = StringField("Default value", validators=[Optional()])
    minimum = StringField("Minimum (numbers and dates)", validators=[Optional()])
    maximum = StringField("Maximum (numbers and dates)", validators=[Optional()])
    choices_text = TextAreaField("Choices (one a line; write 'Old => New' to rename)",
                                 validators=[Optional()])
    update_records = BooleanField("Update records that hold a renamed choice", default=True)
    revision = HiddenField()
    confirm = BooleanField("I have read the effect above; save anyway")


class NewFieldForm(FieldForm):
    name = StringField("Name (lower case, digits, _)", validators=[DataRequired("Give a name.")])
    type = SelectField("Type", choices=[SelectChoice(t_) for t_ in FIELD_TYPES])
    choices = StringField("Choices (comma-separated, for a choice list)",
                          validators=[Optional()])
    target = SelectField("Refers to (for a reference)",
                         choices=[SelectChoice("")] + [SelectChoice(r) for r in REFERENCE_TARGETS],
                         default="")
    shown_on = LevelChoices("Show on the form of", choices=[])


class TypeForm(FlaskForm):
    type = SelectField("New type", choices=[])
    keep_unconverted = BooleanField("Keep values that do not convert in a retired field "
                                    "(restore it to see them)")
    revision = HiddenField()


def _parse_sections(text: str) -> list[tuple[str, list[str]]]:
    """One section a line: `Title: field_a, field_b`."""
    sections = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        title, sep, names = line.partition(":")
        if not sep:
            raise DictionaryError(f"Line {number} needs a colon after the section title, "
                                  f"as in 'Contact details: phone_1, email'.")
        sections.append((title.strip(), [n.strip() for n in names.split(",") if n.strip()]))
    if not sections:
        raise DictionaryError("A layout needs at least one section.")
    return sections


def _revision(value: str | None) -> int:
    """The revision the form was read at (for the stale-save check). Only a hand-made
    request can carry something else, and it gets a 400, not a crash."""
    try:
        return int(value or 0)
    except ValueError:
        abort(400, description="The form's revision is not a number: reload the page and "
                               "make the change again.")


def _record_url(entity: str, refused: retype.Refused) -> str:
    """The edit page of a record a type change refused: Orgs have their own screen."""
    endpoint = "org" if entity == "customer" and refused.level == "Org" else entity
    return url_for(f"{endpoint}.edit_view", id=refused.record)


def _level_choices(entity: dictionary.Entity) -> list[SelectChoice]:
    return [SelectChoice(level.name, level.singular) for level in entity.levels]


class DictionaryView(AdminOnly, BaseView):
    def _run_view(self, fn: t.Any, *args: t.Any, **kwargs: t.Any) -> t.Any:
        # A change here must not wait for every record's search keys: a job rewrites
        # them, and the next page links to it (views/search_keys.py).
        with search_key_jobs.in_background():
            return super()._run_view(fn, *args, **kwargs)

    @expose("/")
    def index(self) -> t.Any:
        snapshot = dictionary.current()
        return self.render("dictadmin/dictionary_index.html", snapshot=snapshot,
                           profiles=profiles.available(), profile_form=FlaskForm(),
                           profile_in_force=profiles.in_force(snapshot),
                           search_jobs=search_key_jobs.latest())

    @expose("/<entity>/<field>/", methods=["GET", "POST"])
    def edit(self, entity: str, field: str) -> t.Any:
        name = field  # not `name`: Flask-Admin's _handle_view takes that argument
        definition = FieldDefinition.objects(entity=entity, name=name).first()
        if definition is None:
            abort(404)
        snapshot = dictionary.current()
        form = FieldForm(obj=definition)
        if not portal_offers(entity):  # the portal rule: no boxes for a field it never shows
            del form.customer_visible, form.customer_editable
        if request.method == "GET":
            form.choices_text.data = "\n".join(definition.choices or ())
            if definition.default is not None:  # as typed, so that saving it keeps it
                kind = types.of(definition.type)
                form.default.data = kind.shown(snapshot.field(entity, name),
                                               kind.bound(definition.default))
        form.mandatory.choices = _level_choices(snapshot.entity(entity))
        effects: list[str] = []
        if form.validate_on_submit():
            changes = {k: getattr(form, k).data for k in (
                "label", "help_text", "mandatory", "max_length", "pattern", "list_column",
                "searchable", "filterable", "brought_forward", "retired")}
            if portal_offers(entity):
                changes.update(customer_visible=form.customer_visible.data,
                               customer_editable=form.customer_editable.data)
            changes["pattern"] = changes["pattern"] or None
            renames: dict[str, str] = {}
            try:
                for key in ("default", "minimum", "maximum"):
                    changes[key] = parse_value(definition.type, getattr(form, key).data,
                                               getattr(form, key).label.text)
                if types.of(definition.type).has_choices and not definition.system:
                    changes["choices"], renames = parse_choices(form.choices_text.data or "")
                    effects = choice_effects(definition, changes["choices"], renames)
                effects += preview(definition, changes)
                if effects and not form.confirm.data:
                    return self.render("dictadmin/dictionary_field.html", form=form,
                                       kind=types.of(definition.type),
                                       definition=definition, effects=effects)
                update_field(entity, name, expected_revision=_revision(form.revision.data),
                             **changes)
                if renames and form.update_records.data:
                    moved = rename_choice_values(definition, renames)
                    flash(f"{moved} records now hold the renamed choices.", "success")
            except DictionaryError as exc:
                flash(str(exc), "error")
                return self.render("dictadmin/dictionary_field.html", form=form,
                                   kind=types.of(definition.type),
                                   definition=definition, effects=[]), 409
            flash(f"Saved {changes['label']}. Every screen shows it from the next page.", "success")
            return redirect(url_for(".index"))
        return self.render("dictadmin/dictionary_field.html", form=form, definition=definition,
                           kind=types.of(definition.type), effects=effects)

    @expose("/<entity>/<field>/type/", methods=["GET", "POST"])
    def retype(self, entity: str, field: str) -> t.Any:
        definition = FieldDefinition.objects(entity=entity, name=field).first()
        if definition is None or definition.system:
            abort(404)
        form = TypeForm()
        form.type.choices = [SelectChoice(t_) for t_ in CONVERTIBLE if t_ != definition.type]
        status = 200
        refused: retype.NotConverting | None = None
        if form.validate_on_submit():
            try:
                converted, kept = change_type(entity, field, form.type.data,
                                              keep_unconverted=form.keep_unconverted.data,
                                              expected_revision=_revision(form.revision.data))
            except retype.NotConverting as exc:
                flash(str(exc), "error")
                refused, status = exc, 409
            except DictionaryError as exc:
                flash(str(exc), "error")
                status = 409
            else:
                aside = f"; {kept} kept aside in the retired field {field}_old" if kept else ""
                flash(f"{definition.label} is now {form.type.data}: {converted} values "
                      f"converted{aside}.", "success")
                return redirect(url_for(".index"))
        definition.reload()  # a change that failed half-way has been undone: show the store
        form.revision.data = definition.revision
        return self.render("dictadmin/dictionary_type.html", form=form, definition=definition,
                           refused=refused, record_url=_record_url,
                           interrupted=retype.interrupted(entity, field),
                           recover=retype.RECOVER), status

    @expose("/<entity>/new/", methods=["GET", "POST"])
    def new(self, entity: str) -> t.Any:
        snapshot = dictionary.current()
        if entity not in snapshot.entities:
            return redirect(url_for(".index"))
        form = NewFieldForm()
        form.mandatory.choices = form.shown_on.choices = _level_choices(snapshot.entity(entity))
        if form.validate_on_submit():
            sections = {}
            for level in form.shown_on.data:
                layout = snapshot.layouts.get((entity, level)) or ()
                if layout:
                    sections[level] = layout[0].title
            try:
                add_field(entity, form.name.data.strip(), form.label.data, form.type.data,
                          sections=sections, mandatory=form.mandatory.data,
                          help_text=form.help_text.data or "", max_length=form.max_length.data,
                          pattern=form.pattern.data or None, list_column=form.list_column.data,
                          searchable=form.searchable.data,
                          filterable=form.filterable.data,
                          brought_forward=form.brought_forward.data,
                          choices=[c.strip() for c in (form.choices.data or "").split(",")
                                   if c.strip()],
                          target=form.target.data or None)
            except DictionaryError as exc:
                flash(str(exc), "error")
            else:
                flash(f"Added {form.label.data}.", "success")
                return redirect(url_for(".index"))
        return self.render("dictadmin/dictionary_new.html", form=form, entity=entity)

    @expose("/entity/<entity>/", methods=["GET", "POST"])
    def entity_words(self, entity: str) -> t.Any:
        definition = EntityDefinition.objects(name=entity).first()
        if definition is None:
            abort(404)
        form = FlaskForm()
        if form.validate_on_submit():
            words = {lv.name: (request.form.get(f"{lv.name}-singular", ""),
                               request.form.get(f"{lv.name}-plural", ""))
                     for lv in definition.levels}
            try:
                relabel_entity(entity, words,
                               expected_revision=_revision(request.form.get("revision")))
            except DictionaryError as exc:
                flash(str(exc), "error")
                return self.render("dictadmin/dictionary_entity.html", form=form,
                                   definition=definition, words=words), 409
            flash("Saved: the menu, list titles and buttons use the new words.", "success")
            return redirect(url_for(".index"))
        words = {lv.name: (lv.singular, lv.plural) for lv in definition.levels}
        return self.render("dictadmin/dictionary_entity.html", form=form, definition=definition,
                           words=words)

    @expose("/layout/<entity>/<level>/", methods=["GET", "POST"])
    def layout(self, entity: str, level: str) -> t.Any:
        layout = LayoutDefinition.objects(entity=entity, level=level).first()
        if layout is None:
            abort(404)
        form = FlaskForm()
        text = "\n".join(f"{s.title}: {', '.join(s.fields)}" for s in layout.sections)
        status = 200
        if form.validate_on_submit():
            text = request.form.get("sections", "")
            try:
                arrange_layout(entity, level, _parse_sections(text),
                               expected_revision=_revision(request.form.get("revision")))
            except DictionaryError as exc:
                flash(str(exc), "error")
                status = 409
            else:
                flash(f"Saved the {level} layout.", "success")
                return redirect(url_for(".index"))
        placed = {n for s in layout.sections for n in s.fields}
        unplaced = [f for f in dictionary.current().live_fields(entity) if f.name not in placed]
        return self.render("dictadmin/dictionary_layout.html", form=form, definition=layout,
                           text=text, unplaced=unplaced), status

    @expose("/history/")
    def history(self) -> t.Any:
        changes = history.DictionaryChange.objects.order_by("-at").limit(200)
        return self.render("dictadmin/dictionary_history.html", changes=changes,
                           revert_form=FlaskForm())

    @expose("/history/<change>/revert/", methods=["POST"])
    def revert(self, change: str) -> t.Any:
        if FlaskForm().validate_on_submit():
            try:
                reverted = revert(change)
            except (DictionaryError, ValidationError) as exc:
                flash(str(exc), "error")
            else:
                flash(f"Reverted: {reverted} that change.", "success")
        return redirect(url_for(".history"))

    @expose("/profile/", methods=["POST"])
    def profile(self) -> t.Any:
        form = FlaskForm()
        key = request.form.get("profile", "")
        if form.validate_on_submit():
            try:
                changed = profiles.apply(key)
            except DictionaryError as exc:
                flash(str(exc), "error")
            else:
                done = "applied" if changed else "was already in use"
                flash(f"Profile {key} {done}.", "success")
        return redirect(url_for(".index"))
