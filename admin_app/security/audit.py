"""The audit log: who signed in, failed, was locked out, signed out, what admins did to
logins, which record changes were reverted (an entry made in a request that changed
records links to those changes), and a whole store restored or copied (`flask store`).
Kept in MongoDB so that every worker and the command line write to one place, and
listed (filterable) on the admin's Audit log screen.

Every way in records through `record`, so an event is worded and stamped the same way
whether it came from the admin, the portal or the command line.
"""

from __future__ import annotations

import getpass
import typing as t

import mongoengine as me
from flask import g, has_request_context, request
from flask_login import current_user

from ..models.kept import now

EVENTS = {
    "sign_in": "Signed in",
    "sign_in_failed": "Sign-in failed",
    "lockout": "Locked out",
    "sign_out": "Signed out",
    "login_created": "Login created",
    "login_disabled": "Login disabled",
    "login_enabled": "Login enabled",
    "role_changed": "Role changed",
    "password_reset": "Password reset link issued",
    "password_set": "Password set",
    "password_changed": "Password changed",
    "webguest_link_issued": "WebGuest link issued",
    "webguest_link_used": "WebGuest link used",
    "record_reverted": "Record change reverted",
    "store_restored": "Store restored from a backup",
    "store_copied": "Store copied here",
    "api_token_created": "API token made",
    "api_token_revoked": "API token revoked",
}
AREAS = ("admin", "portal", "cli")


class AuditEvent(me.Document):
    meta = {"collection": "audit_log", "indexes": ["-at", ("event", "-at"), ("subject", "-at")]}

    at = me.DateTimeField(default=now, required=True)
    event = me.StringField(required=True, choices=tuple(EVENTS))
    area = me.StringField(required=True, choices=AREAS, default="admin")
    actor = me.StringField(default="")  # who did it (an email), "" for an anonymous visitor
    subject = me.StringField(default="")  # whose login it concerns (an email)
    address = me.StringField(default="")  # the client's address, when over the web
    detail = me.StringField(default="")
    # The request's id when it also changed records (`records.trace`): the entry links to
    # those changes in the records' history.
    request = me.StringField(default="")

    @property
    def words(self) -> str:
        return EVENTS.get(self.event, self.event)


def record(event: str, *, subject: str = "", detail: str = "", area: str | None = None,
           actor: str | None = None) -> AuditEvent:
    """Store one event. The actor defaults to whoever is signed in, the address to the
    request's client, the area to the portal for /portal pages and the admin otherwise."""
    if event not in EVENTS:
        raise ValueError(f"Unknown audit event {event!r}")
    address, changes = "", ""
    if has_request_context():
        address = request.remote_addr or ""
        changes = str(g.get("record_request_id") or "")
        if area is None:
            area = "portal" if request.path.startswith("/portal") else "admin"
        if actor is None and getattr(current_user, "is_authenticated", False):
            actor = current_user.email
    entry = AuditEvent(event=event, area=area or "cli", actor=actor or "",
                       subject=subject or "", address=address, detail=detail,
                       request=changes)
    entry.save(force_insert=True)
    return entry


def command_line_actor() -> str:
    """Who ran a command, for the audit log (the command line has no signed-in login)."""
    try:
        return f"{getpass.getuser()} (command line)"
    except (KeyError, OSError):
        return "command line"


def events(**filters: t.Any) -> me.QuerySet:
    """Newest first; filters are AuditEvent fields (event, area, subject, actor)."""
    chosen = {name: value for name, value in filters.items() if value}
    return AuditEvent.objects(**chosen).order_by("-at")
