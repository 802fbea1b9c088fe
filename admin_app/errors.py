"""Error pages inside the admin layout: one sentence on what happened and what to do.

A server error is logged with its traceback under a short reference, and the page
shows that reference, so a user's report can be matched to the log line without the
page giving anything away.

A full disk is no fault of the code and needs no traceback: every way in (a page, the
seed load, its upload job, the directory sync) asks `disk_full` and says so in one
sentence; a page answers 507 Insufficient Storage.
"""

from __future__ import annotations

import secrets
import sqlite3
import typing as t

from flask import Flask, current_app, g, request
from flask_admin import Admin
from werkzeug.exceptions import HTTPException, InternalServerError

from . import api
from .limits import UPLOAD_ENDPOINTS
from .store import disk_full

MESSAGES: dict[int, tuple[str, str]] = {
    400: ("Bad request", "The request could not be understood. Go back, reload the page "
                         "and try again."),
    403: ("Not allowed", "Your login does not give access to this page. Ask an admin if "
                         "you need it."),
    404: ("Page not found", "There is nothing at this address: the link may be old or the "
                            "record may have been moved. Start again from the menu."),
    405: ("Not allowed here", "This address does not take that kind of request. Use the "
                              "buttons on the page instead."),
    413: ("Too large", "What was sent is larger than this page accepts ({limit}), so it "
                       "was not read. Send less at once; bulk data goes through "
                       "Data → Import / Export, which accepts files up to {upload}."),
    # The same, on the page that takes seed files.
    -413: ("File too large", "The file is larger than the {upload} this page accepts, so "
                             "it was not read. Split it into several files (JSON Lines "
                             "splits at any line), or ask the operator to raise "
                             "MAX_UPLOAD_MB."),
    500: ("Something went wrong", "Something went wrong on our side and the request was "
                                  "not completed. Try again; if it happens again, give "
                                  "your admin the reference below."),
    507: ("Disk full", "The server's disk is full, so this could not be completed: ask your "
                       "admin to free some space, then try again."),
}


class InsufficientStorage(HTTPException):
    """507: the server has no room left to store what the request writes (Werkzeug has no
    class for it)."""

    code = 507
    description = "The server's disk is full."


def megabytes(size: int | None) -> str:
    return "no limit" if size is None else f"{size / 2**20:g} MB"


def log_exception(app: Flask, exc_info: t.Any) -> None:
    """Flask's `log_exception`, with a reference the error page can show."""
    reference = g.error_reference = secrets.token_hex(4)
    app.logger.error("Error %s on %s %s", reference, request.method, request.path,
                     exc_info=exc_info)


def init_app(app: Flask, admin: Admin) -> None:
    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> t.Any:
        if error.code is None or error.code < 400:
            return error
        return render(admin, error)

    @app.errorhandler(InternalServerError)
    def server_error(error: InternalServerError) -> t.Any:
        return render(admin, error)

    @app.errorhandler(sqlite3.Error)
    @app.errorhandler(OSError)
    def storage_error(error: Exception) -> t.Any:
        """A full disk is a 507 page in one sentence; any other error goes on to the 500
        page (or, in tests, to the caller) as if this handler were not here."""
        if not disk_full(error):
            raise error
        current_app.logger.error("The disk is full: %s %s was not completed (%s)",
                                 request.method, request.path, error)
        return render(admin, InsufficientStorage())


def render(admin: Admin, error: HTTPException) -> t.Any:
    code = error.code or 500
    if request.path.startswith(api.PREFIX):  # a program is asking: a problem document
        return api.problem_for(error, megabytes(current_app.config.get("MAX_CONTENT_LENGTH")),
                               g.get("error_reference")).response()
    key = -413 if code == 413 and request.endpoint in UPLOAD_ENDPOINTS else code
    title, message = MESSAGES.get(key, (error.name, "That request could not be completed."))
    config = current_app.config
    message = message.format(limit=megabytes(config.get("MAX_CONTENT_LENGTH")),
                             upload=megabytes(config.get("MAX_UPLOAD_BYTES")))
    # Our own aborts carry a sentence for the user; Werkzeug's defaults do not help one.
    own = error.description if error.description != type(error).description else None
    try:
        page = admin.index_view.render("dictadmin/error.html", code=code, title=title,
                                       message=message, detail=own,
                                       reference=g.get("error_reference"))
    except Exception:  # the layout itself may be what is broken (e.g. the store is down)
        current_app.logger.exception("The error page for %s could not be drawn", code)
        page = (f'<!doctype html><html lang="en"><title>{title}</title><h1>{title}</h1>'
                f"<p>{message}</p></html>")
    return page, code
