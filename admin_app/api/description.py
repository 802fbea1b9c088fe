"""GET /api/v1/openapi.json: the live OpenAPI 3.1 description (`spec.py` builds it).

Read with a token, or by a signed-in admin or agent (the admin's API page renders it);
anyone else gets the 401 problem. The answer carries an ETag made from the document, so
a client (Swagger UI, a code generator, a monitoring script) asks again with
If-None-Match and is told 304 until the dictionary changes. It is cached by the client
only as "ask first" (private, no-cache): the next request after a dictionary change
must see the new document.
"""

from __future__ import annotations

from flask import Response, request

from .. import dictionary
from . import access, records_spec, spec  # noqa: F401 - records_spec adds its paths
from .blueprint import bp


@bp.get("/openapi.json")
def description() -> Response:
    if not access.may_read_description():
        access.token()  # no token was sent: its 401 problem says how to send one
    described = spec.described(dictionary.current())
    answer = Response(described.body, mimetype="application/json")
    answer.set_etag(described.etag)
    answer.headers["Cache-Control"] = "private, no-cache"
    answer.vary.update(("Authorization", "Cookie"))
    return answer.make_conditional(request)
