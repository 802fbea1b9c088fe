"""Access control for every admin page, in one place.

Every admin view mixes in exactly one of these, and nothing else decides who sees an
admin page (tests/test_roles.py walks every /admin rule to hold that true):

- `StaffOnly`: admins and agents (records, contacts, tickets, Contracts, SLAs, imports);
- `AdminOnly`: admins (dictionary, directory, logins, audit log, outbox).

A WebGuest belongs to the portal: every /admin URL answers it 403, never a page. An
anonymous visitor is sent to sign in and brought back afterwards.
"""

from __future__ import annotations

import typing as t

from flask import abort, redirect, request, url_for
from flask_admin import expose
from flask_admin.contrib.mongoengine import ModelView
from flask_login import current_user

from ..models.users import STAFF_ROLES


def signed_in_role() -> str | None:
    """The role of whoever is signed in, or None for an anonymous visitor."""
    if not current_user.is_authenticated:
        return None
    return getattr(current_user, "role", None)


class StaffOnly:
    """Mixin: admins and agents; a WebGuest gets 403, an anonymous visitor the sign-in page."""

    roles: tuple[str, ...] = STAFF_ROLES

    def is_accessible(self) -> bool:
        return signed_in_role() in self.roles

    def inaccessible_callback(self, name: str, **kwargs: t.Any) -> t.Any:
        if current_user.is_authenticated:
            abort(403)
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


class AdminOnly(StaffOnly):
    """Mixin: admins only; an agent or a WebGuest gets 403, an anonymous visitor the sign-in
    page."""

    roles = ("admin",)


class SecureModelView(StaffOnly, ModelView):
    """A plain model view for staff, with no hard delete."""

    can_delete = False
    page_size = 20
    can_set_page_size = True

    @expose("/api/file/")
    def api_file_view(self) -> t.Any:
        # Flask-Admin serves GridFS files here; records keep no files, and the embedded
        # store has no GridFS, so the endpoint is not offered.
        abort(404)
