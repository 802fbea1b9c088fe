"""Reading a request's JSON body: the media type, the syntax and the shape, each refused
with a problem document that says what was wrong (never a 500, never a partial write).

Bodies are bounded by the app's MAX_CONTENT_LENGTH (413 before this is reached). Nesting
deeper than a record can hold is refused before parsing, by a linear scan, so no input
can make the parser recurse.
"""

from __future__ import annotations

import json
import typing as t

from flask import request

from .problems import Problem

# A record is an object of values; a value is at most a list of strings.
DEEPEST = 3


def _depth(text: str) -> int:
    """The deepest nesting of arrays and objects in JSON text (strings skipped)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > DEEPEST:
                return deepest
        elif char in "]}":
            depth -= 1
    return deepest


def record_body() -> dict[str, t.Any]:
    """The request's JSON object of field values."""
    media = (request.mimetype or "").lower()
    if media != "application/json" and not media.endswith("+json"):
        raise Problem(415, "media-type", f"Send the record as JSON with 'Content-Type: "
                                         f"application/json' (this request said "
                                         f"{request.mimetype or 'nothing'!r}).")
    raw = request.get_data(cache=False)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Problem(400, "malformed", f"The body is not UTF-8 text (byte {exc.start}).") \
            from exc
    if _depth(text) > DEEPEST:
        raise Problem(400, "too-deep", f"The body is nested more than {DEEPEST} levels deep; "
                                       f"a record is an object of values, and a value is at "
                                       f"most a list.")
    try:
        body = json.loads(text)
    except json.JSONDecodeError as exc:
        raise Problem(400, "malformed", f"The body is not valid JSON: {exc.msg} at line "
                                        f"{exc.lineno}, column {exc.colno}.") from exc
    except ValueError as exc:  # e.g. a number too long to convert
        raise Problem(400, "malformed", f"The body is not valid JSON: {exc}.") from exc
    if not isinstance(body, dict):
        raise Problem(400, "not-an-object", "The body must be a JSON object of field names "
                                            "and values, such as {\"name\": \"Ada\"}.")
    return body
