"""Bulk changes from the Customer, Org and Contact lists (`records.bulk`).

The list's form sends the rows ticked (or "everything the filter matches") with the
list's own URL arguments here; this page asks for the change (archive, restore, or one
field set to a value read by the field's type, through the record form's own field),
then a confirmation page states the count and the change before anything is written.
Small changes run in the request; larger ones run as a job with a progress bar, as seed
loads do. Each person may change in bulk only what their form lets them change.
"""

from __future__ import annotations

import typing as t
from pathlib import Path
from urllib.parse import urlencode

from bson import ObjectId
from flask import abort, current_app, flash, jsonify, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_admin.model import BaseModelView
from flask_login import current_user
from flask_wtf import FlaskForm

from .. import background, dictionary
from ..dictionary.values import to_storage
from ..forms.lookups import LOOKUPS
from ..forms.records import form_class
from ..records import bulk, listing
from ..records.listing import ListState
from ..records.trace import login
from .secure import StaffOnly

# The lists a bulk change comes from: their endpoint, entity and Level.
LISTS = {"customer": ("customer", "Customer"), "org": ("customer", "Org"),
         "contact": ("contact", "Contact")}
VALUE_PREFIX = "value"


class CsrfForm(FlaskForm):
    """Only the CSRF token: the rest of each form is read from the request."""


class BulkChangesView(StaffOnly, BaseView):
    """Admins and agents; reached from the record lists, not the menu."""

    # A reference's value box (Flask-Admin's lookup widget) asks the view drawing it for
    # matches: this one answers as a record form's own view does, from the same lookups.
    _form_ajax_refs = LOOKUPS
    ajax_lookup = BaseModelView.ajax_lookup

    def is_visible(self) -> bool:
        return False

    @expose("/")
    def index(self) -> t.Any:
        """A bulk change starts from a list: the Customers list."""
        return redirect(url_for("customer.index_view"))

    # -- asking for the change -----------------------------------------------------------

    @expose("/<list_name>/", methods=("GET", "POST"))
    def choose(self, list_name: str) -> t.Any:
        entity, level = LISTS.get(list_name) or abort(404)
        snapshot = dictionary.current()
        state = ListState.from_args(self._list_args(), snapshot, entity, level)
        args = request.values
        everything = args.get("scope") == "all"
        ids = None if everything else args.getlist("id")
        action = args.get("action", bulk.ARCHIVE)
        fields = bulk.settable(snapshot, entity, level)
        name = args.get("field") or (fields[0].name if fields else None)
        value_form = None
        if action == bulk.SET and name in {f.name for f in fields}:
            cls = form_class(snapshot, entity, level)
            value_form = cls(request.form if request.method == "POST" else None,
                             prefix=VALUE_PREFIX, meta={"csrf": False})
        problem = ""
        if not everything and not ids:
            problem = "Tick at least one row, or choose everything the filter matches."
        else:
            try:
                bulk.may(snapshot, entity, level, action, name)
            except bulk.NotAllowed as refused:
                problem = str(refused)
        query = bulk.selection(state.query(), ids)
        csrf = CsrfForm()
        if request.method == "POST" and not problem and csrf.validate_on_submit():
            value = None
            if action == bulk.SET and value_form is not None:
                control = value_form[name]
                definition = snapshot.field(entity, name)
                control.validate(value_form)
                if control.errors:
                    problem = f"{definition.label}: {' '.join(map(str, control.errors))}"
                else:
                    value = to_storage(definition, control.data)
            if not problem:
                try:
                    change = bulk.prepare(
                        entity, level if entity == "customer" else None, list_name, query,
                        action, name, value,
                        lambda n: _question(snapshot, entity, level, state, ids, action,
                                            name, value, n),
                        state.to_args(), login(current_user))
                except ValueError as too_many:
                    problem = str(too_many)
                else:
                    return redirect(url_for(".change", change_id=str(change.pk)))
        elif request.method == "POST" and not problem:
            problem = "The form had expired. Please try again."
        count = None if problem else _count(entity, query)
        return self.render("dictadmin/bulk_choose.html", list_name=list_name, state=state,
                           plural=snapshot.entity(entity).level(level).plural,
                           everything=everything, ids=ids or [], action=action,
                           fields=fields, name=name, value_form=value_form,
                           problem=problem, count=count, csrf=csrf,
                           list_url=_list_url(list_name, state.to_args()),
                           list_args=state.to_args())

    # -- the confirmation, the progress and the result -----------------------------------

    @expose("/change/<change_id>/")
    def change(self, change_id: str) -> t.Any:
        change = _found(change_id)
        change.check_alive()
        list_url = _list_url(change.endpoint, [tuple(a) for a in change.list_args])
        changes_url = url_for("history.batch", batch=str(change.pk)) \
            if change.status == "done" and change.updated else None
        return self.render("dictadmin/bulk_change.html", change=change, csrf=CsrfForm(),
                           list_url=list_url, changes_url=changes_url)

    @expose("/change/<change_id>/confirm", methods=("POST",))
    def confirm(self, change_id: str) -> t.Any:
        change = _found(change_id)
        if not CsrfForm().validate_on_submit():
            flash("The form had expired. Please confirm again.", "error")
        elif bulk.confirm(change):
            limit = int(current_app.config.get("BULK_IN_REQUEST", bulk.IN_REQUEST))
            if change.total <= limit:
                bulk.run(str(change.pk))
            else:
                background.start(change, ["bulk-job", str(change.pk)],
                                 Path(current_app.instance_path) / "bulk"
                                 / f"bulk-{change.pk}.log",
                                 "the bulk change's process could not start", bulk.run)
        return redirect(url_for(".change", change_id=change_id))

    @expose("/change/<change_id>/progress")
    def progress(self, change_id: str) -> t.Any:
        change = _found(change_id)
        change.check_alive()
        return jsonify(status=change.status, done=change.done, total=change.total)

    @staticmethod
    def _list_args() -> list[tuple[str, str]]:
        """The list's own URL arguments, as the list's form carried them."""
        ours = {"scope", "id", "action", "field", "csrf_token"}
        return [(k, v) for k, v in request.values.items(multi=True)
                if k not in ours and not k.startswith(VALUE_PREFIX + "-")]


def _found(change_id: str) -> bulk.BulkChange:
    """The change, or a 404 that says why a link to one may lead nowhere."""
    change = bulk.BulkChange.objects(pk=ObjectId(change_id)).first() \
        if ObjectId.is_valid(change_id) else None
    if change is None:
        abort(404, description="This bulk change is not here: one left unconfirmed for a "
                               "day is dropped. Start it again from the list.")
    return change


def _count(entity: str, query: dict[str, t.Any]) -> int:
    from ..records.write import collection_of

    return int(collection_of(entity).count_documents(query))


def _list_url(list_name: str, args: t.Sequence[tuple[str, str]]) -> str:
    base = url_for(f"{list_name}.index_view")
    return f"{base}?{urlencode(list(args))}" if args else base


def _question(snapshot: t.Any, entity: str, level: str, state: ListState,
              ids: list[str] | None, action: str, name: str | None, value: t.Any,
              count: int) -> str:
    """"Archive 1,240 Customers matching Department starts with fin?" """
    words = snapshot.entity(entity).level(level)
    archived = "archived " if state.archived else ""
    noun = f"{count:,} {archived}{words.name if count == 1 else words.plural}"
    if ids is not None:
        noun = f"the {noun} selected"
    else:
        said = [state.describe(listing.record_name)] if state.filters else []
        if state.search:
            said.append(f"the search “{state.search}”")
        if said:
            noun = f"{noun} matching {' and '.join(said)}"
    if action == bulk.SET and name:
        definition = snapshot.field(entity, name)
        shown = "(empty)" if value is None or value == "" or value == [] else _value_words(
            definition, value)
        return f"Set {definition.label} to {shown} on {noun}?"
    return f"{bulk.VERBS[action]} {noun}?"


def _value_words(definition: t.Any, value: t.Any) -> str:
    if definition.kind.is_reference:
        return listing.record_name(definition, value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)
