"""Refuse request parameters whose names carry a query operator (`search[$ne]`, `$where`).

Flask never turns `search[$ne]=` into an object the way some frameworks do, and no view
reads such a name, so today they are inert. Refusing them with 400 keeps it that way for
any view added later (the portal, an API) and tells a prober plainly that operators are
not taken. Values are never refused: `{"$ne": null}` typed into a search box is text and
is matched literally by the views.
"""

from __future__ import annotations

from flask import Flask, abort, request

from ..limits import UPLOAD_ENDPOINTS

OPERATOR_MARK = "$"


def refuse_operator_names() -> None:
    names = list(request.args)
    # The seed upload's body may be hundreds of megabytes: its view parses it only after
    # the access check, so it is not parsed here (its fields are a file and a token).
    if request.endpoint not in UPLOAD_ENDPOINTS:
        names += list(request.form)
    if any(OPERATOR_MARK in name for name in names):
        abort(400, "A request parameter's name may not carry a query operator ($).")


def init_app(app: Flask) -> None:
    """Check every request, after `limits` has capped what a body may send."""
    app.before_request(refuse_operator_names)
