"""Access control for every admin page, in one place."""

from __future__ import annotations

import typing as t

from flask import abort, redirect, request, url_for
from flask_admin import AdminIndexView, expose
from flask_admin.contrib.mongoengine import ModelView
from flask_login import current_user


class SignedInOnly:
    """Mixin: anonymous visitors are sent to the sign-in page and brought back afterwards."""

    def is_accessible(self) -> bool:
        return bool(current_user.is_authenticated)

    def inaccessible_callback(self, name: str, **kwargs: t.Any) -> t.Any:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


class AdminOnly(SignedInOnly):
    """Mixin: admins only; a signed-in agent gets 403, an anonymous visitor the sign-in page."""

    def is_accessible(self) -> bool:
        return super().is_accessible() and getattr(current_user, "role", None) == "admin"

    def inaccessible_callback(self, name: str, **kwargs: t.Any) -> t.Any:
        if current_user.is_authenticated:
            abort(403)
        return super().inaccessible_callback(name, **kwargs)


class HomeView(SignedInOnly, AdminIndexView):
    @expose("/")
    def index(self) -> t.Any:
        from ..models import Contact, Customer

        counts = {
            "customers": Customer.objects(level="Customer", archived__ne=True).count(),
            "orgs": Customer.objects(level="Org", archived__ne=True).count(),
            "contacts": Contact.objects(archived__ne=True).count(),
        }
        return self.render("dictadmin/home.html", counts=counts)


class SecureModelView(SignedInOnly, ModelView):
    """A plain model view behind sign-in, with no hard delete."""

    can_delete = False
    page_size = 20
    can_set_page_size = True

    @expose("/api/file/")
    def api_file_view(self) -> t.Any:
        # Flask-Admin serves GridFS files here; records keep no files, and the embedded
        # store has no GridFS, so the endpoint is not offered.
        abort(404)
