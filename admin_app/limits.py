"""How much a request may send: small for pages and forms, larger for seed uploads.

Checked before anything reads the body, so an oversized request is refused with 413 at
once instead of being read whole by a web worker (and, for the sign-in form, echoed
back). A body without a length is cut off at the same limit while it is read.
"""

from __future__ import annotations

from flask import Flask, abort, current_app, request

# Endpoints that take a seed file: they get MAX_UPLOAD_BYTES instead of MAX_CONTENT_LENGTH.
UPLOAD_ENDPOINTS = frozenset({"seed.index"})


def refuse_oversized() -> None:
    config = current_app.config
    limit = config["MAX_UPLOAD_BYTES"] if request.endpoint in UPLOAD_ENDPOINTS \
        else config["MAX_CONTENT_LENGTH"]
    request.max_content_length = limit
    if limit is None:
        return
    if (request.content_length or 0) > limit:
        abort(413)
    if request.content_length is None and request.endpoint not in UPLOAD_ENDPOINTS \
            and request.headers.get("Transfer-Encoding"):
        # A body without a length (chunked) is read up to the limit and kept for the
        # form parser, which would otherwise cut it off there without a word.
        if len(request.get_data(cache=True)) >= limit:
            abort(413)


def init_app(app: Flask) -> None:
    # First of all before_request functions: nothing may read the body before this.
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_oversized)
