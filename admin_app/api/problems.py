"""Errors as RFC 9457 problem documents (`application/problem+json`).

Every answer the API gives that is not a success is one of these, a crash included: a
`type` naming the kind of problem (stable, for programs), a `title`, the HTTP `status`,
a `detail` sentence for a person, and, when fields were refused, `errors`: one entry per
field with its name, its current label, a stable code and the message the form gives,
and, when a conditional rule refused it, that rule's name (`rule`), so that a program can
tell "mandatory on every record" from "mandatory while this rule holds".
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

from flask import Response, json

MEDIA_TYPE = "application/problem+json"
TITLES = {
    400: "Bad request", 401: "Not signed in", 403: "Not allowed", 404: "Not found",
    405: "Method not allowed", 406: "Not acceptable", 409: "Conflict",
    412: "Precondition failed", 413: "Too large", 415: "Unsupported media type",
    422: "The record was not saved", 428: "Precondition required", 429: "Too many requests",
    500: "Internal error", 503: "Unavailable",
}


@dataclass
class Problem(Exception):
    """Raise anywhere under /api/: the blueprint turns it into the answer."""

    status: int
    kind: str  # the type's last part: "validation", "stale", "not-found"…
    detail: str
    errors: list[dict[str, str]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.detail)

    def document(self) -> dict[str, t.Any]:
        body: dict[str, t.Any] = {"type": f"urn:dictadmin:problem:{self.kind}",
                                  "title": TITLES.get(self.status, "Error"),
                                  "status": self.status, "detail": self.detail}
        if self.errors:
            body["errors"] = self.errors
        return body

    def response(self) -> Response:
        answer = Response(json.dumps(self.document()), status=self.status,
                          mimetype=MEDIA_TYPE)
        answer.headers.update(self.headers)
        return answer


def field_error(name: str, label: str, code: str, message: str,
                rule: str = "") -> dict[str, str]:
    error = {"field": name, "label": label, "code": code, "message": message}
    if rule:
        error["rule"] = rule
    return error
