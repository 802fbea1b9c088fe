"""The API page (Data → API): the REST API's live description, rendered by Swagger UI.

Swagger UI comes from a package (flask-swagger-ui ships its `dist` files; only those are
used, not its blueprint, whose page starts Swagger UI with an inline script) and is
served from this site, so the page loads nothing from elsewhere and runs under the same
Content-Security-Policy as every admin page: `static/api_page.js` starts it, reading
where the description is from a `data-` attribute. The description itself is
GET /api/v1/openapi.json, which a signed-in admin or agent may read with the session's
cookie (`api/access.may_read_description`), so the page always shows the dictionary as
it is now.
"""

from __future__ import annotations

import typing as t
from pathlib import Path

import flask_swagger_ui
from flask import url_for
from flask_admin import BaseView, expose

from .secure import StaffOnly

SWAGGER_UI = Path(flask_swagger_ui.__file__).resolve().parent / "dist"


class ApiPageView(StaffOnly, BaseView):
    """Admins and agents: both may call the API with a token of their own login."""

    def __init__(self, **kwargs: t.Any) -> None:
        # Swagger UI's files, at /admin/api/swagger-ui/… (cached like other static files).
        super().__init__(static_folder=str(SWAGGER_UI), static_url_path="/swagger-ui",
                         **kwargs)

    @expose("/")
    def index(self) -> t.Any:
        version = (SWAGGER_UI / "VERSION").read_text(encoding="utf-8").strip() \
            if (SWAGGER_UI / "VERSION").exists() else ""
        return self.render("dictadmin/api_page.html",
                           description_url=url_for("api.description"),
                           swagger_ui_version=version)
