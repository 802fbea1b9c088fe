"""Customer, Org and Contact screens, rebuilt from the dictionary when it changes.

Flask-Admin caches columns, search and form classes when a view is constructed; this
view re-derives them whenever the dictionary version moves (checked once per request
by `follow_dictionary`), and builds create/edit forms per request for the Level the
record has or the user just chose.
"""

from __future__ import annotations

import re
import threading
import typing as t

from bson import ObjectId
from bson.errors import InvalidId
from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.form import BaseForm, FormOpts
from flask_admin.helpers import get_form_data, get_redirect_target
from mongoengine import QuerySet

from .. import dictionary
from ..dictionary.forms import DictionaryForm, form_class
from ..dictionary.values import record_form_data, to_form
from ..lookups import LOOKUPS
from ..models import Contact
from . import references
from .secure import SecureModelView

LEVEL_SWITCH = "_level_switch"
# The Archived tab: `?archived=1` lists archived records. A plain URL argument, carried
# by Flask-Admin's paging and sorting links, rather than Flask-Admin's filter builder,
# whose script inserts a filter's name (the Archive field's label) into the page as HTML.
ARCHIVED_ARG = "archived"
_refresh_lock = threading.Lock()


class RecordView(SecureModelView):
    """A list of one entity's records at one Level, with dictionary-driven forms."""

    entity = "customer"
    level = "Customer"
    create_template = "dictadmin/record_create.html"
    edit_template = "dictadmin/record_edit.html"
    list_template = "dictadmin/record_list.html"
    form_ajax_refs = LOOKUPS

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        self.dictionary_version: int | None = None
        self.reference_columns: list[dictionary.Field] = []
        super().__init__(*args, **kwargs)

    # -- following the dictionary ------------------------------------------------------

    def follow_dictionary(self, snapshot: dictionary.Snapshot) -> None:
        """Re-derive labels, columns, search and filters when the dictionary has changed."""
        if self.dictionary_version == snapshot.version or self.entity not in snapshot.entities:
            return
        with _refresh_lock:
            level = snapshot.entity(self.entity).level(self.level)
            shown = {n for s in snapshot.layout(self.entity, level.name) for n in s.fields}
            columns = [f for f in snapshot.list_columns(self.entity) if f.name in shown]
            self.name = level.plural
            if getattr(self, "menu", None) is not None:
                self.menu.name = level.plural
            self.column_list = [f.name for f in columns]
            self.column_labels = {f.name: f.label for f in snapshot.live_fields(self.entity)}
            self.column_sortable_list = [f.name for f in columns if f.type != "reference"]
            self.column_searchable_list = [f.name for f in snapshot.searchable(self.entity)
                                           if f.type != "reference"]
            self.reference_columns = [f for f in columns if f.type == "reference"]
            self.column_formatters = {f.name: self._reference_formatter(f)
                                      for f in self.reference_columns}
            self._refresh_cache()
            self.dictionary_version = snapshot.version

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
        archived = {"archived": True} if self.showing_archived() else {"archived__ne": True}
        return self.model.objects(**self.list_restriction(), **archived)

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

    def _search(self, query: QuerySet, search_term: str) -> QuerySet:
        # Escaped, so what the agent types is matched literally, never as a regex.
        pattern = {"$regex": re.escape(search_term.strip()), "$options": "i"}
        return query.filter(__raw__={"$or": [{name: pattern} for name in self._search_fields]})

    def get_list(self, page: int | None, sort_column: str, sort_desc: bool, search: str | None,
                 filters: t.Any, execute: bool = True, page_size: int | None = None) -> t.Any:
        count, rows = super().get_list(page, sort_column, sort_desc, search, filters,
                                       execute=execute, page_size=page_size)
        if execute:
            rows = list(rows)
            references.prime(self.reference_columns, rows)
        return count, rows

    def archived_list_url(self, archived: bool) -> str:
        """The list of current records, or of archived ones."""
        return url_for(".index_view", **({ARCHIVED_ARG: "1"} if archived else {}))

    def showing_archived(self) -> bool:
        return request.args.get(ARCHIVED_ARG) == "1"

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
        return self._prepare(cls(get_form_data(), data=data))

    def _prefill(self, cls: type[DictionaryForm]) -> dict[str, t.Any]:
        """Initial values: the Level, and references passed in the URL (e.g. ?customer=<id>)."""
        data: dict[str, t.Any] = {"level": cls.dictionary_level}
        for definition in cls.dictionary_fields:
            if definition.type == "reference" and request.args.get(definition.name):
                data[definition.name] = to_form(definition, request.args[definition.name])
        return data

    def _prepare(self, form: DictionaryForm) -> DictionaryForm:
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

    # -- linked records --------------------------------------------------------------------

    def linked_contacts(self, record: t.Any) -> list[Contact]:
        if self.entity != "customer" or record is None:
            return []
        return list(Contact.objects(customer=record.pk).order_by("archived", "name"))

    def linked_contact_columns(self) -> list[dictionary.Field]:
        """The contact list's columns, minus the link back to this record."""
        return [f for f in dictionary.current().list_columns("contact") if f.type != "reference"]

    def contact_words(self) -> dictionary.Entity:
        return dictionary.current().entity("contact")

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
