"""One-time, expiring links to set a password: how every new or reset login gets one.

Nobody ever chooses, sees or mails a password for someone else. An admin (a new or
reset login) or Make WebGuest Login issues a link; its owner opens it and sets the
password. Only the SHA-256 of the link's random token is stored, so the links collection
cannot be used to sign anyone in. A link works once, until it expires, and only while it
is the newest link of its login: issuing a new one cancels the older ones.

Redeeming is one conditional update of the link (`used_at` empty → set), atomic on every
store, so of two tabs (or two workers) posting the same link, one sets the password and
the other is told it was used. "The newest link" is decided when a link is read, not by
the cancelling write alone: two links issued at once could each cancel the other's
predecessors before either was stored, and both would stay open; a link with a newer
one beside it counts as cancelled whatever the order of those writes.
"""

from __future__ import annotations

import hashlib
import secrets
import typing as t
from dataclasses import dataclass
from datetime import timedelta

import mongoengine as me
from flask import current_app, url_for
from mongoengine.queryset.visitor import Q

from ..models.kept import now
from ..models.users import User

# Purpose -> (setting, hours when unset). A WebGuest may read the mail days later.
LIFETIMES = {"staff": ("STAFF_LINK_HOURS", 72), "webguest": ("WEBGUEST_LINK_HOURS", 7 * 24)}
STATES = ("ok", "unknown", "used", "expired", "cancelled", "disabled")


class SetPasswordLink(me.Document):
    meta = {"collection": "password_links",
            "indexes": [{"fields": ["token_hash"], "unique": True}, ("user", "-created_at")]}

    token_hash = me.StringField(required=True)
    purpose = me.StringField(required=True, choices=tuple(LIFETIMES))
    user = me.ObjectIdField(required=True)
    email = me.StringField(required=True)  # the login it was issued for, for the audit log
    issued_by = me.StringField(default="")
    created_at = me.DateTimeField(required=True, default=now)
    expires_at = me.DateTimeField(required=True)
    used_at = me.DateTimeField(null=True)
    cancelled_at = me.DateTimeField(null=True)


@dataclass(frozen=True)
class Issued:
    """A link just issued: `url` is shown (or mailed) once and never stored."""

    link: SetPasswordLink
    url: str


@dataclass(frozen=True)
class Found:
    """What a token leads to: the link and its login when `state` is "ok"."""

    state: str
    link: SetPasswordLink | None = None
    user: User | None = None


class LinkRefused(Exception):
    def __init__(self, state: str) -> None:
        super().__init__(state)
        self.state = state


def purpose_of(user: User) -> str:
    return "webguest" if user.role == "webguest" else "staff"


def lifetime(purpose: str) -> timedelta:
    setting, hours = LIFETIMES[purpose]
    return timedelta(hours=float(current_app.config.get(setting) or hours))


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def issue(user: User, issued_by: str = "") -> Issued:
    """A new link for `user`; every older link of that login stops working."""
    token = secrets.token_urlsafe(32)
    purpose = purpose_of(user)
    moment = now()
    link = SetPasswordLink(token_hash=_hash(token), purpose=purpose, user=user.pk,
                           email=user.email, issued_by=issued_by, created_at=moment,
                           expires_at=moment + lifetime(purpose))
    cancel(user, moment)
    link.save(force_insert=True)
    return Issued(link, url_for("password.set_password", token=token, _external=True))


def cancel(user: User, moment: t.Any = None) -> int:
    """Cancel the login's links not yet used (a new link, a disabled login)."""
    result = SetPasswordLink._get_collection().update_many(
        {"user": user.pk, "used_at": None, "cancelled_at": None},
        {"$set": {"cancelled_at": moment or now()}})
    return result.modified_count


def _replaced(link: SetPasswordLink) -> bool:
    """A newer link of the same login exists (issued later; at the same instant, the one
    with the greater id), so this one no longer works even if nothing cancelled it."""
    newer = Q(created_at__gt=link.created_at) | Q(created_at=link.created_at,
                                                   pk__gt=link.pk)
    return SetPasswordLink.objects(Q(user=link.user) & newer).only("id").first() is not None


def find(token: str) -> Found:
    """The state of the link `token` names, reading only."""
    if not token or len(token) > 200:
        return Found("unknown")
    link = SetPasswordLink.objects(token_hash=_hash(token)).first()
    if link is None:
        return Found("unknown")
    if link.used_at is not None:
        return Found("used", link)
    if link.cancelled_at is not None or _replaced(link):
        return Found("cancelled", link)
    if link.expires_at <= now():
        return Found("expired", link)
    user = User.objects(pk=link.user).first()
    if user is None or not user.active:
        return Found("disabled", link)
    return Found("ok", link, user)


def redeem(token: str, password: str) -> tuple[SetPasswordLink, User]:
    """Use the link once: mark it used and set the login's password.

    Raises LinkRefused with the link's state when it is not (or no longer) usable; the
    caller has checked the password against the policy before.
    """
    found = find(token)
    if found.state != "ok" or found.link is None or found.user is None:
        raise LinkRefused(found.state)
    moment = now()
    result = SetPasswordLink._get_collection().update_one(
        {"_id": found.link.pk, "used_at": None, "cancelled_at": None,
         "expires_at": {"$gt": moment}},
        {"$set": {"used_at": moment}})
    if not result.matched_count:
        raise LinkRefused(find(token).state)
    user = found.user
    user.set_password(password)
    user.save()
    found.link.used_at = moment
    return found.link, user
