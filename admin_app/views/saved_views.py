"""Saved views of the record lists: a login keeps the list it is looking at (filters,
search, tab, columns, sort: `ListState.to_args`) under a name, and opens it again from
the list's "Views" panel; an admin may share a view with everyone.

- the panel (`panel`, a template global the list template includes): the login's own
  views and the shared ones, each a link to the list with its arguments (opened, they
  are read by `ListState.from_args` like any list URL: a retired field's filter is
  dropped with the list's notice), and the form that saves the current one;
- `POST /admin/saved-views/save/<list>/`: saves; a name the login already uses asks
  first, on a page of its own, whether to replace that view;
- `/admin/saved-views/<id>/delete/`: asks (GET), then deletes (POST). A login deletes its
  own views; an admin also the shared ones.

Admins and agents alike (agents cannot share). Every POST carries the CSRF token.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

import mongoengine as me
from bson import ObjectId
from flask import abort, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_login import current_user
from flask_wtf import FlaskForm

from .. import dictionary
from ..models.saved_views import LISTS, NAME_LENGTH, SavedView
from ..records.listing import DESC, SORT, SORT_FIELD, ListState
from .secure import StaffOnly, signed_in_role

# Each record list (its endpoint): the entity and the Level it lists.
_LISTED: dict[str, tuple[str, str | None]] = {
    "customer": ("customer", "Customer"), "org": ("customer", "Org"),
    "contact": ("contact", None)}


class SaveForm(FlaskForm):
    """Only the CSRF token: the fields are read from the request (the list's panel)."""


@dataclass(frozen=True)
class Shown:
    """One view in the panel: its name, the list link, whose it is, and its delete page."""

    name: str
    url: str
    shared: bool
    owner: str  # the owner's email, for a view shared by someone else ("" for one's own)
    delete_url: str  # "" when this login may not delete it
    current: bool  # the list shows exactly this view now


def _is_admin() -> bool:
    return signed_in_role() == "admin"


def _list_url(list_name: str, args: t.Sequence[t.Sequence[str]]) -> str:
    base = url_for(f"{list_name}.index_view")
    return f"{base}?{urlencode([tuple(pair) for pair in args])}" if args else base


def _state(list_name: str, args: t.Any) -> ListState:
    entity, level = _LISTED[list_name]
    return ListState.from_args(args, dictionary.current(), entity, level)


def _opened(list_name: str, kept: t.Sequence[t.Sequence[str]]) -> list[tuple[str, str]]:
    """A view's list arguments as the list reads them now: its sort, kept by field name,
    is that column's index today (none where the field is no longer a sortable column);
    the rest as kept, so a filter since retired reaches the list and its notice."""
    pairs = [(key, value) for key, value in kept]
    sort = [pair for pair in _state(list_name, pairs).to_args() if pair[0] in (SORT, DESC)]
    return [pair for pair in pairs if pair[0] not in (SORT_FIELD, SORT, DESC)] + sort


def panel(admin_view: t.Any) -> dict[str, t.Any]:
    """What the list's Views panel shows: the views (own first, then shared by others, by
    name), and what the save form carries (the list's current arguments)."""
    list_name = admin_view.endpoint
    asked = admin_view.list_state().to_args()
    current = [list(pair) for pair in asked]
    own = list(SavedView.objects(owner=current_user.pk, list=list_name).order_by("name"))
    mine = {view.pk for view in own}
    others = [view for view in SavedView.objects(shared=True, list=list_name)
              .order_by("name") if view.pk not in mine]
    admin = _is_admin()
    opened = {view.pk: _opened(list_name, view.args) for view in own + others}
    shown = [Shown(view.name, _list_url(list_name, opened[view.pk]), view.shared,
                   "" if view.pk in mine else view.owner_email,
                   url_for("saved_views.delete", view_id=str(view.pk))
                   if view.pk in mine or admin else "",
                   [list(pair) for pair in opened[view.pk]] == current)
             for view in own + others]
    return {"views": shown, "list": list_name, "args": urlencode(asked),
            "can_share": admin, "name_length": NAME_LENGTH,
            "save_url": url_for("saved_views.save", list_name=list_name)}


def _view(view_id: str) -> SavedView:
    found = SavedView.objects(pk=ObjectId(view_id)).first() \
        if ObjectId.is_valid(view_id) else None
    if found is None:
        abort(404, "That view is not there any more: it may have been deleted.")
    return found


def _may_delete(view: SavedView) -> bool:
    return _owner_id(view) == current_user.pk or (view.shared and _is_admin())


def _owner_id(view: SavedView) -> t.Any:
    owner = view._data.get("owner")
    return getattr(owner, "pk", getattr(owner, "id", owner))


class SavedViewsView(StaffOnly, BaseView):
    def is_visible(self) -> bool:
        return False  # reached from a list's Views panel

    @expose("/")
    def index(self) -> t.Any:
        abort(404)  # views are shown on their list

    @expose("/save/<list_name>/", methods=["POST"])
    def save(self, list_name: str) -> t.Any:
        if list_name not in LISTS:
            abort(404)
        form = SaveForm()
        if not form.validate_on_submit():
            abort(400, "The page had expired; open the list again and save the view again.")
        state = _state(list_name, parse_qsl(request.form.get("args", ""),
                                            keep_blank_values=False))
        args = [list(pair) for pair in state.to_args(kept=True)]
        name = " ".join(request.form.get("name", "").split())
        shared = request.form.get("shared") == "1" and _is_admin()
        back = _list_url(list_name, state.to_args())
        if not name:
            flash("Give the view a name to save it.", "error")
            return redirect(back)
        if len(name) > NAME_LENGTH:
            flash(f"Keep a view's name to {NAME_LENGTH} characters.", "error")
            return redirect(back)
        existing = SavedView.objects(owner=current_user.pk, list=list_name, name=name).first()
        if existing is not None and request.form.get("replace") != "1":
            return self.render("dictadmin/saved_view_replace.html", form=form, name=name,
                               list_name=list_name, shared=shared,
                               args=urlencode(state.to_args()),
                               described=state.describe() or "no filter",
                               back=back, was=_list_url(list_name,
                                                        _opened(list_name, existing.args)))
        view = existing or SavedView(owner=current_user.pk, list=list_name, name=name)
        view.owner_email = current_user.email
        view.args = args
        view.shared = shared
        try:
            view.save()
        except me.NotUniqueError:  # saved under that name meanwhile (another tab)
            flash(f"You saved a view named {name} meanwhile; save again to replace it.",
                  "error")
            return redirect(back)
        flash(f"The view {name} is saved{' and shared with everyone' if shared else ''}.",
              "success")
        return redirect(back)

    @expose("/<view_id>/delete/", methods=["GET", "POST"])
    def delete(self, view_id: str) -> t.Any:
        """GET asks, POST (with its CSRF token) deletes."""
        view = _view(view_id)
        if not _may_delete(view):
            abort(403, "Only the login that saved this view, or an admin if it is shared, "
                       "may delete it.")
        form = SaveForm(formdata=request.form if request.method == "POST" else None)
        back = _list_url(view.list, _opened(view.list, view.args))
        if request.method == "GET":
            return self.render("dictadmin/saved_view_delete.html", view=view, form=form,
                               back=back, cancel=url_for(f"{view.list}.index_view"))
        if not form.validate_on_submit():
            abort(400, "The page had expired; open the list again and repeat the delete.")
        name = view.name
        view.delete()
        flash(f"The view {name} is deleted.", "success")
        return redirect(url_for(f"{view.list}.index_view"))
