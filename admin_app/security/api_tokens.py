"""Making, checking and revoking API tokens, and the audit trail of each.

A token acts with its login's role (admin or agent; WebGuests get none) and its scope:
`read` may only read, `read-write` may also write. A token that is unknown, expired,
revoked, or whose login is disabled or no longer staff gets one answer (`None` here, one
401 from the API), so an answer never tells which of these it was.
"""

from __future__ import annotations

import hashlib
import secrets
import typing as t
from dataclasses import dataclass
from datetime import timedelta

from ..models.api_tokens import SCOPES, ApiToken
from ..models.kept import now
from ..models.users import STAFF_ROLES, User
from . import audit

PREFIX = "dat_"  # so a token found in a file or a log is recognisable as ours
DEFAULT_DAYS = 90
LONGEST_DAYS = 730
# Last-used time is written at most this often per token: a busy script must not turn
# every read into a write.
_LAST_USED_EVERY = timedelta(minutes=1)


class TokenRefused(Exception):
    """A token cannot be made as asked; the message says why."""


@dataclass(frozen=True)
class Issued:
    token: ApiToken
    secret: str  # shown once, never stored


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def create(user: User, scope: str, *, days: int = DEFAULT_DAYS, name: str = "",
           actor: str | None = None) -> Issued:
    """A new token for `user`, valid for `days`. Audited as made by `actor` (default: the
    signed-in login)."""
    if user.role not in STAFF_ROLES:
        raise TokenRefused(f"{user.email} is a {user.role} login: API tokens are for admins "
                           f"and agents only.")
    if not user.active:
        raise TokenRefused(f"{user.email} is disabled: enable the login first.")
    if scope not in SCOPES:
        raise TokenRefused(f"The scope must be one of {', '.join(SCOPES)}, not {scope!r}.")
    if not isinstance(days, int) or not 1 <= days <= LONGEST_DAYS:
        raise TokenRefused(f"A token lasts from 1 to {LONGEST_DAYS} days.")
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(digest=digest(secret), hint=secret[-4:], name=name.strip()[:100],
                     user=user, scope=scope, created_by=actor or "",
                     expires=now() + timedelta(days=days))
    token.save(force_insert=True)
    audit.record("api_token_created", subject=user.email, actor=actor,
                 detail=f"{scope} token …{token.hint}"
                        f"{' (' + token.name + ')' if token.name else ''}, "
                        f"expires {token.expires:%Y-%m-%d}")
    return Issued(token, secret)


def revoke(token: ApiToken, *, actor: str | None = None) -> None:
    """End a token now (already revoked: nothing changes)."""
    if token.revoked is not None:
        return
    ApiToken.objects(pk=token.pk, revoked=None).update_one(
        set__revoked=now(), set__revoked_by=actor or "")
    token.reload()
    audit.record("api_token_revoked", subject=token.user.email, actor=actor,
                 detail=f"{token.scope} token …{token.hint}")


@dataclass(frozen=True)
class Login:
    """The login a token acts for, as a request needs it."""

    pk: t.Any
    email: str
    role: str


@dataclass(frozen=True)
class Bearer:
    """A checked token: its id (what its requests are counted by), scope and login."""

    pk: t.Any
    scope: str
    user: Login


def holder(secret: str, address: str = "") -> Bearer | None:
    """The active token `secret` is, with its login able to use it; else None.

    Asked on every API request, so it reads two documents by their indexed keys and
    builds no document objects."""
    if not isinstance(secret, str) or not secret.startswith(PREFIX) or len(secret) > 200:
        return None
    found = ApiToken._get_collection().find_one({"digest": digest(secret)})
    moment = now()
    if found is None or found.get("revoked") is not None or found["expires"] <= moment:
        return None
    user = User._get_collection().find_one({"_id": found["user"]},
                                           {"email": 1, "role": 1, "active": 1})
    # Staff only (a WebGuest never holds one), and not disabled: `User.usable` for staff.
    if user is None or user.get("role") not in STAFF_ROLES or not user.get("active", True):
        return None
    used = found.get("last_used")
    if used is None or moment - used >= _LAST_USED_EVERY \
            or found.get("last_used_from", "") != address:
        ApiToken._get_collection().update_one(
            {"_id": found["_id"]}, {"$set": {"last_used": moment, "last_used_from": address}})
    return Bearer(found["_id"], found["scope"],
                  Login(user["_id"], user.get("email", ""), user["role"]))


def of_user(user: User) -> t.Any:
    return ApiToken.objects(user=user).order_by("-created")


def listed() -> t.Any:
    """Every token, newest first (the admin's screen pages through them)."""
    return ApiToken.objects.order_by("-created")
