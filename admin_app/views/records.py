"""Customer, Org and Contact screens, rebuilt from the dictionary when it changes.

Flask-Admin caches columns, search and form classes when a view is constructed; each
request runs on a copy of this view derived for its dictionary version (`following.py`),
and create/edit forms are built per request for the Level the record has or the user
just chose.

Each form is laid out for its record's state under the conditional rules, and a save
the rules forbid is refused beside the field before anything is written
(`forms/records.py` RuledRecord; `static/rule_form.js` follows the rules as values change).

Creating and saving go through the record write path (`admin_app/records`), so every
save is checked, stamped and in the record's history. A save writes only the fields the
user changed (`forms/opened.py`): a change someone else made since the form was opened is
kept and named on the next page; only a field both changed is refused, naming it.
"""

from __future__ import annotations

import logging
import typing as t

from bson import ObjectId
from bson.errors import InvalidId
from flask import flash, redirect, request
from flask_admin import expose
from flask_admin.babel import gettext
from flask_admin.contrib.mongoengine.helpers import format_error
from flask_admin.form import BaseForm, FormOpts
from flask_admin.helpers import get_form_data, get_redirect_target
from mongoengine import QuerySet

from .. import dictionary, records
from ..dictionary.values import record_form_data, to_form, to_storage
from ..forms.lookups import LOOKUPS
from ..forms.opened import Opened, kept_message, show_problems, stale_message
from ..forms.records import DictionaryForm, RuledRecord, RuleLayout, form_class
from ..models import Contact, Ticket
from ..records import listing as listing_state
from ..records import search_keys
from ..security import accounts
from ..tickets import listing
from . import references
from .following import FollowsDictionary
from .list_exports import ExportsList
from .record_lists import FilteredList
from .rules_explained import ExplainsRules
from .secure import SecureModelView

LEVEL_SWITCH = "_level_switch"
# The Archived tab: `?archived=1` lists archived records. A plain URL argument, carried
# by the list's paging and sorting links (`record_lists.py`, with the filters), rather
# than Flask-Admin's filter builder, whose script inserts a filter's name (the Archive
# field's label) into the page as HTML.
ARCHIVED_ARG = listing_state.ARCHIVED
# The change sets since a form was opened that a save reads to say whose changes it kept.
CHANGES_NAMED = 50
log = logging.getLogger(__name__)


class RecordView(FollowsDictionary, FilteredList, ExportsList, references.NamesReferences,
                 ExplainsRules, SecureModelView):
    """A list of one entity's records at one Level (its filters, tabs and count:
    `record_lists.py`), with dictionary-driven forms."""

    entity = "customer"
    level = "Customer"
    create_template = "dictadmin/record_create.html"
    edit_template = "dictadmin/record_edit.html"
    list_template = "dictadmin/record_list.html"
    form_ajax_refs = LOOKUPS
    # No count of the whole list on every page (a second scan): Previous / Next only,
    # and no page past MAX_PAGE, so a skip never walks more than MAX_PAGE pages of an index.
    simple_list_pager = True
    max_page = references.MAX_PAGE

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        self.reference_columns: list[dictionary.Field] = []
        super().__init__(*args, **kwargs)

    # -- following the dictionary ------------------------------------------------------

    def follows(self, snapshot: dictionary.Snapshot) -> bool:
        return self.entity in snapshot.entities

    def follow_dictionary(self, snapshot: dictionary.Snapshot) -> None:
        """Labels, columns, search and reference formatters from this version (run on a
        fresh copy of the view; Flask-Admin's cache is recomputed after)."""
        level = snapshot.entity(self.entity).level(self.level)
        shown = {n for s in snapshot.layout(self.entity, level.name) for n in s.fields}
        columns = [f for f in snapshot.list_columns(self.entity) if f.name in shown]
        live = snapshot.live_fields(self.entity)
        self.name = level.plural
        self.column_list = [f.name for f in columns]
        self.column_labels = {f.name: f.label for f in live}
        self.column_sortable_list = [f.name for f in columns if f.kind.sortable]
        # What the search box matches is what the search keys hold (one rule, search.py).
        self.column_searchable_list = sorted(search_keys.searched_names(
            search_keys.searched_fields(self.entity, snapshot)))
        self.reference_columns = [f for f in columns if f.kind.is_reference]
        # Any live reference may be a column (`cols=`): each shows the record's name.
        self.column_formatters = {f.name: self._reference_formatter(f)
                                  for f in live if f.kind.is_reference}

    @staticmethod
    def _reference_formatter(field: dictionary.Field) -> t.Callable[..., str]:
        def format_reference(view: t.Any, context: t.Any, model: t.Any, name: str) -> str:
            return references.label(field, getattr(model, name, None))

        return format_reference

    def scaffold_form(self) -> type[BaseForm]:
        # Forms are built per request (create_form / edit_form); Flask-Admin's cached
        # class is never used, so the model is not scaffolded.
        return DictionaryForm

    # -- list ----------------------------------------------------------------------------

    def list_restriction(self) -> dict[str, t.Any]:
        return {"level": self.level}

    def get_query(self) -> QuerySet:
        # The list's state (`records.listing`): equalities on the Level and a boolean every
        # writer stores (not `$ne: true`, a range), so the (level, archived, column)
        # indexes give the page in the column's order, and a filter's or search's keys.
        return FilteredList.get_query(self)

    def get_sortable_columns(self) -> dict[str, t.Any]:
        """The list columns an index gives in order (models/records.py): a column an
        admin added is shown but not offered for sorting, which would be a scan. (A list
        index ends with `_id`, the API's tie-break: the column is the key before it.)"""
        keys = ([name for name, _ in spec["fields"] if name != "_id"]
                for spec in self.model._meta["index_specs"])
        indexed = {names[-1] for names in keys
                   if names[:-1] == [*self.list_restriction(), "archived"]}
        return {name: value for name, value in super().get_sortable_columns().items()
                if name in indexed}

    def get_one(self, id: t.Any) -> t.Any:
        # Not restricted to this view's Level: after Save switches a record's Level,
        # the same edit page must still find it.
        try:
            return self.model.objects(pk=ObjectId(str(id))).first()
        except (InvalidId, TypeError):
            return None

    def init_search(self) -> bool:
        self._search_fields = list(self.column_searchable_list or [])
        return bool(self._search_fields)

    # Every word typed in the search box must start a word of a searchable field: the
    # list state's equalities on the record's search keys (models/search.py), which an
    # index serves; what is typed is only ever a value, never a pattern, and text with no
    # word finds nothing (`FilteredList._search`, `ListState.query`).

    # -- forms -------------------------------------------------------------------------

    def requested_level(self, record: t.Any = None) -> str:
        """The Level to lay the form out for: what the user just chose, else the record's."""
        asked = request.form.get("level") if request.method == "POST" else None
        asked = asked or request.args.get("level") or getattr(record, "level", None)
        return dictionary.current().entity(self.entity).level(asked or self.level).name

    def create_form(self, obj: t.Any = None) -> DictionaryForm:
        cls = form_class(dictionary.current(), self.entity, self.requested_level())
        return self._prepare(cls(get_form_data(), data=self._prefill(cls)))

    def edit_form(self, obj: t.Any = None) -> DictionaryForm:
        cls = form_class(dictionary.current(), self.entity, self.requested_level(obj))
        data = record_form_data(obj, cls.dictionary_fields)
        data["level"] = cls.dictionary_level
        form = self._prepare(cls(get_form_data(), data=data))
        form._ruled = RuledRecord.of(dictionary.current(), self.entity, cls.dictionary_level,
                                     obj)
        # A posted form (a save, or a Level switch) keeps the state it was opened at.
        form.opened = Opened.posted() if request.method == "POST" \
            else Opened.of(obj, self._opened_names())
        return form

    def _opened_names(self) -> list[str]:
        """Every live field of the entity, not only this Level's: after a Level switch
        the form still says what it showed for each field it now shows, and a refusal
        can name a change to a field this form does not show. Archive always, so a
        record archived meanwhile is noticed whatever the layout."""
        names = [f.name for f in dictionary.current().live_fields(self.entity)]
        return names if "archived" in names else [*names, "archived"]

    def _prefill(self, cls: type[DictionaryForm]) -> dict[str, t.Any]:
        """Initial values: the Level, and references passed in the URL (e.g. ?customer=<id>)."""
        data: dict[str, t.Any] = {"level": cls.dictionary_level}
        for definition in cls.dictionary_fields:
            if definition.kind.is_reference and request.args.get(definition.name):
                data[definition.name] = to_form(definition, request.args[definition.name])
        return data

    def _prepare(self, form: DictionaryForm) -> DictionaryForm:
        form.opened = None  # an edit form's Opened (create forms have none)
        form.stale_message = ""  # why a save was refused, shown above the form
        # The record as the conditional rules see it (an edit form's: its stored record).
        form._ruled = RuledRecord.of(dictionary.current(), self.entity, form.dictionary_level)
        # Values typed into fields this Level does not show travel along as hidden
        # inputs, so switching Level and back loses nothing.
        if request.method == "POST":
            shown = set(form._fields)
            form.carried_values = [
                (key, value) for key in request.form if key not in shown
                and not key.startswith("_") and key != "csrf_token"
                for value in request.form.getlist(key)
            ]
        return form

    def form_level(self, form: DictionaryForm) -> dictionary.Level:
        """The Level a form is laid out for, with its words (for the page heading)."""
        return dictionary.current().entity(self.entity).level(form.dictionary_level)

    def rule_layout(self, form: DictionaryForm) -> RuleLayout:
        """The form laid out for its record's state under the conditional rules: an edit
        form opened on the stored record; a new record's on its initial values; a posted
        form (a refused save, a Level switch) on the record as the post would make it."""
        ruled: RuledRecord = form._ruled
        if ruled.stored is not None and request.method != "POST":
            return ruled.lay_out(form, form.dictionary_fields, ruled.stored)
        return ruled.lay_out(form, form.dictionary_fields, ruled.would_be(self._changes(form)))

    def _changes(self, form: DictionaryForm) -> dict[str, t.Any]:
        """What saving the form would change (a new record: every value it holds)."""
        posted = self._posted(form)
        if form.opened is None:
            return posted
        return form.opened.changes(posted, dictionary.current().live_fields(self.entity))[0]

    def validate_form(self, form: BaseForm) -> bool:
        """The form's fields check their values; what the record as a whole must hold
        (mandatory on its Level or by a rule, narrowed choices, read-only fields) is the
        record write path's to say, asked now so every refusal shows at once."""
        valid = super().validate_form(form)
        if not isinstance(form, DictionaryForm) or not form.is_submitted():
            return valid
        refused = [p for p in form._ruled.problems(self._changes(form))
                   if p.field not in form or not form[p.field].errors]
        show_problems(form, refused)
        return valid and not refused

    # A Level switch posts the form only to lay it out again: nothing is validated or
    # saved, so Flask-Admin's views (which would say "Failed to create record.") are
    # not involved.

    @expose("/new/", methods=("GET", "POST"))
    def create_view(self) -> t.Any:
        if request.method == "POST" and request.form.get(LEVEL_SWITCH):
            return self._show_level(self.create_form(), self.create_template)
        return super().create_view()

    @expose("/edit/", methods=("GET", "POST"))
    def edit_view(self) -> t.Any:
        if request.method == "POST" and request.form.get(LEVEL_SWITCH):
            record = self.get_one(request.args.get("id"))
            if record is None:
                flash("That record does not exist (any more).", "error")
                return redirect(get_redirect_target() or self.get_url(".index_view"))
            return self._show_level(self.edit_form(record), self.edit_template, model=record)
        return super().edit_view()

    def _show_level(self, form: DictionaryForm, template: str, **context: t.Any) -> t.Any:
        return self.render(template, form=form, level_switched=True,
                           form_opts=FormOpts(widget_args=self.form_widget_args),
                           return_url=get_redirect_target() or self.get_url(".index_view"),
                           **context)

    # -- saving --------------------------------------------------------------------------

    def create_model(self, form: DictionaryForm) -> t.Any:
        """A new record through the record write path (checked, stamped, one "created"
        change set in its history); the record, or False with the form's errors."""
        try:
            written = records.create(self.entity, self._posted(form),
                                     records.trace.by_request(records.trace.FORM))
        except records.Refused as refused:
            show_problems(form, refused.problems)
            return False
        except Exception as ex:
            return self._failed(ex, "Failed to create record.")
        model = self.get_one(written.record["_id"])
        self.after_model_change(form, model, True)
        return model

    def update_model(self, form: DictionaryForm, model: t.Any) -> bool:  # type: ignore[override]
        """Write the fields the user changed, and only those, through the record write
        path (`Opened.save`): a change someone else made since the form was opened is
        kept and named on the next page; a field both changed is refused, naming it."""
        opened: Opened = form.opened
        fields = dictionary.current().live_fields(self.entity)
        try:
            written = opened.save(self.entity, model.pk, self._posted(form), fields,
                                  records.trace.by_request(records.trace.FORM))
        except records.Overlap:
            self._refuse_stale(form, model)
            return False
        except records.Refused as refused:
            show_problems(form, refused.problems)
            return False
        except records.Missing:
            flash("That record does not exist (any more).", "error")
            return False
        except Exception as ex:
            return self._failed(ex, "Failed to update record.")
        if message := kept_message(self._changed_since(model.pk, opened, written, fields)):
            flash(message, "info")
        self.after_model_change(form, model, False)
        return True

    def _failed(self, ex: Exception, words: str) -> bool:
        """Flask-Admin's handling of an unexpected failure: said on the page, logged."""
        if not self.handle_view_exception(ex):
            flash(gettext(f"{words} %(error)s", error=format_error(ex)), "error")
            log.exception(words)
        return False

    @staticmethod
    def _posted(form: DictionaryForm) -> dict[str, t.Any]:
        """The form's values in stored form (None: no value)."""
        return {definition.name: to_storage(definition, form[definition.name].data)
                for definition in form.dictionary_fields}

    @staticmethod
    def _changed_since(record_id: t.Any, opened: Opened, written: records.Written,
                       fields: list[dictionary.Field]) -> list[tuple[str, list[str]]]:
        """Who changed which fields (current labels) between opening the form and this
        save, from the record's history; a change kept that history does not name is
        "someone else"'s."""
        labels = {f.name: f.label for f in fields}
        mine = (written.change or {}).get("_id")
        by: dict[str, list[str]] = {}
        named: set[str] = set()
        if written.revision > opened.revision + (1 if mine else 0):
            for change in records.RecordChange.objects(
                    record=record_id, seq__gt=records.history.sequence(opened.revision)
            ).order_by("seq") \
                    .only("who", "fields").limit(CHANGES_NAMED):
                if change.pk == mine:
                    continue
                said = by.setdefault(str((change.who or {}).get("name") or "someone else"), [])
                for line in change.fields:
                    label = labels.get(line.get("name"), line.get("label") or line.get("name"))
                    named.add(line.get("name"))
                    if label not in said:
                        said.append(label)
        for name in written.others:
            said = by.setdefault("someone else", [])
            if name not in named and labels.get(name, name) not in said:
                said.append(labels.get(name, name))
        return [(who, said) for who, said in by.items() if said]

    def _refuse_stale(self, form: DictionaryForm, model: t.Any) -> None:
        """Nothing is written. The form keeps every change the user made and shows the
        other person's values where the user left a field as it was, and it carries the
        record's new state: saving again from it stores both (unless someone saved yet
        again)."""
        current = self.get_one(model.pk)
        if current is None:
            flash("That record does not exist (any more).", "error")
            return
        fields = {f.name: f for f in dictionary.current().live_fields(self.entity)}
        theirs = form.opened.changed(current, fields)
        archived = current.archived and form.opened.values.get("archived") is not True
        mine, _seen = form.opened.changes(self._posted(form), fields.values())
        taken, kept = [], []
        for definition in form.dictionary_fields:
            name = definition.name
            if name in theirs and name not in mine:
                taken.append(name)
                form[name].process(None, to_form(definition, getattr(current, name, None)))
                form[name].raw_data = None  # show that value, not the posted text
            elif name in theirs:
                kept.append(name)
            # The heading and linked records show the record as stored.
            setattr(model, name, getattr(current, name, None))
        if archived:  # said on its own
            theirs, taken, kept = ([n for n in names if n != "archived"]
                                   for names in (theirs, taken, kept))
        form.stale_message = stale_message(
            *([fields[n].label for n in names] for names in (theirs, taken, kept)),
            archived=fields["archived"].label if archived else None,
            archive_on_form="archived" in form)
        form.opened = Opened.of(current, self._opened_names())
        form._ruled = RuledRecord.of(dictionary.current(), self.entity, form.dictionary_level,
                                     current)

    # -- linked records --------------------------------------------------------------------

    def linked_contacts(self, record: t.Any) -> list[Contact]:
        if self.entity != "customer" or record is None:
            return []
        return list(Contact.objects(customer=record.pk).order_by("archived", "name"))

    def linked_tickets(self, record: t.Any) -> tuple[list[Ticket], int]:
        """The record's newest tickets (a page) and how many it has in all."""
        if self.entity != "customer" or record is None:
            return [], 0
        return listing.recent(record.pk)

    def linked_contact_columns(self) -> list[dictionary.Field]:
        """The contact list's columns, minus the link back to this record."""
        return [f for f in dictionary.current().list_columns("contact")
                if not f.kind.is_reference]

    def contact_words(self) -> dictionary.Entity:
        return dictionary.current().entity("contact")

    def portal_login(self, record: t.Any) -> accounts.PortalLogin | None:
        """A customer's WebGuest login and its state, for its edit page."""
        return accounts.portal_login(record) if record is not None else None

    def search_placeholder(self) -> str | None:
        labels = [self.column_labels.get(n, n) for n in self._search_fields]
        return f"Search {', '.join(labels)}" if labels else None


class CustomerView(RecordView):
    level = "Customer"


class OrgView(RecordView):
    level = "Org"


class ContactView(RecordView):
    entity = "contact"
    level = "Contact"

    def list_restriction(self) -> dict[str, t.Any]:
        return {}
