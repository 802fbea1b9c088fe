"""Who is calling the API: a bearer token, never a session cookie.

A browser that is signed in to the admin sends its session cookie with every request to
this site, so a cookie must not be enough to change records: a page elsewhere could make
the browser send one. Records are read and written only with `Authorization: Bearer`.
The live description (`openapi.json`) alone may also be read by a signed-in staff login,
for the admin's API page.
"""

from __future__ import annotations

from flask import g, request
from flask_login import current_user

from ..models.users import STAFF_ROLES
from ..records import trace
from ..security import api_rate, api_tokens
from .problems import Problem

_CHALLENGE = 'Bearer realm="dictadmin"'


def _unauthorised(detail: str, error: str = "") -> Problem:
    challenge = _CHALLENGE + (f', error="{error}"' if error else "")
    return Problem(401, "unauthorised", detail, headers={"WWW-Authenticate": challenge})


def token(write: bool = False) -> api_tokens.Bearer:
    """The request's token, able to do what is asked; else a 401 (or 403) problem."""
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise _unauthorised("Send an API token as 'Authorization: Bearer <token>'. An admin "
                            "makes tokens under Access → API tokens, or with "
                            "'flask token create'.")
    found = api_tokens.holder(secret.strip(), request.remote_addr or "")
    if found is None:
        # One answer for unknown, expired, revoked and disabled: it tells nothing more.
        raise _unauthorised("The token is not valid: it is unknown, expired or revoked, or "
                            "its login is disabled. Ask an admin for a new one.",
                            "invalid_token")
    if not g.get("api_request_counted"):  # once per request, however often asked
        g.api_request_counted = True
        wait = api_rate.spend(found.pk)
        if wait:
            raise Problem(429, "rate-limited", f"This token has sent more than "
                                               f"{api_rate.per_minute()} requests this "
                                               f"minute; send again in {wait} second"
                                               f"{'' if wait == 1 else 's'}.",
                          headers={"Retry-After": str(wait)})
    if write and found.scope != "read-write":
        raise Problem(403, "read-only-token", "This token may only read: ask an admin for a "
                                              "read-write token to make changes.")
    g.api_token = found
    return found


def may_read_description() -> bool:
    """A token, or a signed-in admin or agent (the API page renders the description)."""
    if request.headers.get("Authorization"):
        token()
        return True
    return bool(getattr(current_user, "is_authenticated", False)
                and getattr(current_user, "role", None) in STAFF_ROLES)


def write_trace(found: api_tokens.Bearer) -> trace.Trace:
    """What the record write path stamps on an API change: the token's login, way "api"."""
    return trace.Trace(trace.login(found.user), trace.API, request=trace.request_id())
