"""The REST API at /api/v1/: records as JSON, for scripts, HR systems and CRMs.

A thin adapter over the same rulebook and record write path as the screens (see
`records_api.py`), authorised by bearer tokens (`access.py`), answering every error as
an RFC 9457 problem document (`problems.py`).
"""

from __future__ import annotations

import typing as t

from flask import Flask
from werkzeug.exceptions import HTTPException

# Each module's routes join the blueprint as it is imported.
from . import catalog_api, description, records_api, tickets_api  # noqa: F401
from .blueprint import bp
from .problems import Problem

PREFIX = bp.url_prefix or "/api/v1"

# What a person reading an API error needs, by status (Werkzeug's own words are a page's).
_HTTP_WORDS = {
    400: ("bad-request", "The request could not be read."),
    404: ("not-found", "There is nothing at this address; the resources are listed in "
                       "GET /api/v1/openapi.json."),
    405: ("method", "This address does not take that method; the methods it takes are in "
                    "the Allow header and in GET /api/v1/openapi.json."),
    413: ("too-large", "The body is larger than the server accepts ({limit}); send fewer "
                       "values at once."),
    507: ("disk-full", "The server's disk is full, so nothing was saved; ask your admin to "
                       "free some space, then try again."),
    500: ("internal", "Something went wrong on our side and nothing was saved; try again, "
                      "and if it happens again give your admin the reference {reference}."),
}


def problem_for(error: HTTPException, limit: str, reference: str | None) -> Problem:
    """An HTTP error under /api/ (no route, a method, a body too large, a crash) as a
    problem document."""
    code = error.code or 500
    kind, words = _HTTP_WORDS.get(code, ("error", "That request could not be completed."))
    detail = words.format(limit=limit, reference=reference or "(none)")
    if error.description and error.description != type(error).description and code < 500:
        detail = error.description  # our own abort's sentence (e.g. an operator refused)
    headers = {"Allow": error.valid_methods and ", ".join(error.valid_methods)} \
        if getattr(error, "valid_methods", None) else {}
    return Problem(code, kind, detail, headers=t.cast(dict[str, str], headers))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
