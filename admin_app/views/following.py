"""Admin views whose columns and words follow the dictionary, safely under threads.

Flask-Admin keeps a view's columns, labels, search and form classes on the view object,
and computes much of it once (`_refresh_cache`). The registered view object is shared
by every request a worker serves at once, so changing it when the dictionary moves would
let a thread rendering a page see half the old state and half the new (gunicorn's
threaded workers on MongoDB). Instead the registered view is never changed after
start-up: per dictionary version a complete copy is derived, kept on that version's
snapshot (`Snapshot.memo`), and every request runs its view functions on the copy for
the snapshot it took when it began. A copy is finished before anyone can see it, and
the memo publishes it with one assignment.

Written against Flask-Admin 2.2.1: every exposed view function runs through
`BaseView._run_view`, and the menu item made by `Admin._add_view_to_menu` holds the
registered view.
"""

from __future__ import annotations

import copy
import typing as t

from flask import has_request_context
from flask_admin import Admin
from flask_admin import helpers as h
from flask_admin.base import BaseView
from flask_admin.menu import MenuView

from .. import dictionary


class FollowsDictionary:
    """Mixin for a Flask-Admin view: its state as of the request's dictionary version.

    A subclass says what to derive in `follow_dictionary(snapshot)`, which runs only on a
    fresh copy of the registered view (so it may assign attributes freely); Flask-Admin's
    own cache is then recomputed on that copy.
    """

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        self.registered = self  # a derived copy keeps pointing at the registered view
        super().__init__(*args, **kwargs)

    def follow_dictionary(self, snapshot: dictionary.Snapshot) -> None:
        """Set this copy's attributes for `snapshot` (a copy nobody else sees yet)."""

    def follows(self, snapshot: dictionary.Snapshot) -> bool:
        """Whether `snapshot` has what this view is derived from (else start-up state)."""
        return True

    def derived(self) -> t.Any:
        """This view as of the request's dictionary snapshot (the same all request long)."""
        if self.registered is not self or not has_request_context():
            return self
        snapshot = dictionary.current_or_default()
        if not self.follows(snapshot):
            return self
        return snapshot.memo(("admin view", self), lambda: self._derive(snapshot))

    def _derive(self, snapshot: dictionary.Snapshot) -> t.Any:
        view = copy.copy(self)
        view.follow_dictionary(snapshot)
        view._refresh_cache()  # type: ignore[attr-defined]
        return view

    def _run_view(self, fn: t.Callable[..., t.Any], *args: t.Any, **kwargs: t.Any) -> t.Any:
        view = self.derived()
        h.set_current_view(view)
        return super(FollowsDictionary, view)._run_view(fn, *args, **kwargs)  # type: ignore[misc]


class FollowingMenu(MenuView):
    """A menu entry named by its view as of the request's dictionary (Customers, Users…).

    The name is read, never stored: no request changes an object another one renders.
    """

    @property  # type: ignore[override]
    def name(self) -> str:
        return self._view.derived().name

    @name.setter
    def name(self, value: str) -> None:
        """MenuView's constructor sets the start-up name; the view's derived name wins."""

    def is_active(self, view: t.Any) -> bool:
        # A page renders with its derived copy; the menu holds the registered view.
        return super().is_active(getattr(view, "registered", view))


class DictadminAdmin(Admin):
    """Flask-Admin whose menu entries for dictionary-following views use their words."""

    def _add_view_to_menu(self, view: BaseView) -> None:
        if isinstance(view, FollowsDictionary):
            self.add_menu_item(FollowingMenu(t.cast(str, view.name), view), view.category)
        else:
            super()._add_view_to_menu(view)
