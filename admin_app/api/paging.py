"""What every list of the API shares: the page size it takes, and its opaque cursor.

A cursor is what a resource needs to resume after the last item it gave (a sort value
and an id, a time and a count), written as base64 of extended JSON, so a client treats it
as opaque and a value keeps its BSON type (an ObjectId, a date). Each resource checks
what it reads back; anything that does not decode is the same 400 problem.
"""

from __future__ import annotations

import base64
import binascii
import typing as t

from bson import json_util

from .problems import Problem

PAGE, LONGEST_PAGE = 20, 100
NOT_OURS = "The 'after' cursor is not one this API gave: follow the Link header's next URL."


def limit(text: str | None) -> int:
    """The page size asked for (the default when none is)."""
    text = text or str(PAGE)
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= LONGEST_PAGE:
        raise Problem(400, "bad-limit", f"limit must be a whole number from 1 to "
                                        f"{LONGEST_PAGE}.")
    return int(text)


def cursor(held: dict[str, t.Any]) -> str:
    return base64.urlsafe_b64encode(json_util.dumps(held).encode()).decode().rstrip("=")


def resumed(text: str) -> dict[str, t.Any]:
    """What a cursor holds; the 400 problem when it is not one a list gave."""
    try:
        held = json_util.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, ValueError, TypeError, UnicodeError):
        held = None
    if not isinstance(held, dict):
        raise not_ours()
    return held


def not_ours() -> Problem:
    return Problem(400, "bad-cursor", NOT_OURS)
