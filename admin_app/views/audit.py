"""The Audit log screen: who signed in, failed, was locked out, and what was done to logins.

Admins only, read-only, newest first. The filters are exact matches read as text (a
query string cannot smuggle an operator in: `email[$ne]=` is just another, unknown,
argument), and an email matches the login an event concerns or the one that did it.
"""

from __future__ import annotations

import typing as t

from flask import request
from flask_admin import BaseView, expose
from mongoengine.queryset.visitor import Q

from ..models.users import normal_email
from ..security.audit import AREAS, EVENTS, AuditEvent
from .paging import page_of
from .secure import AdminOnly

PAGE_SIZE = 50


def _chosen() -> dict[str, str]:
    """The filters as asked for; an unknown event or area is kept, so the list says so
    (shows nothing) rather than silently showing everything."""
    return {name: request.args.get(name, "").strip() for name in ("event", "area", "email")}


class AuditView(AdminOnly, BaseView):
    @expose("/")
    def index(self) -> t.Any:
        chosen = _chosen()
        query = Q()
        if chosen["event"]:
            query &= Q(event=chosen["event"])
        if chosen["area"]:
            query &= Q(area=chosen["area"])
        if chosen["email"]:
            email = normal_email(chosen["email"])  # as logins are stored
            query &= Q(subject=email) | Q(actor=email)
        shown = page_of(AuditEvent.objects(query).order_by("-at", "-id"), PAGE_SIZE)
        return self.render("dictadmin/audit_log.html", entries=shown.pop("items"), **shown,
                           chosen=chosen, events=EVENTS, areas=AREAS,
                           filtered=any(chosen.values()),
                           args={name: value for name, value in chosen.items() if value})
