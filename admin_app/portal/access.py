"""Who is using the portal: a signed-in WebGuest and the one customer record it belongs to.

Every portal page after sign-in goes through `guest_only`, and every page finds the
customer through the login, never through an id the visitor sends, so no URL can show
or change another customer's data. A WebGuest whose login was disabled, or whose
customer was archived (or is gone), is signed out on its next request.
"""

from __future__ import annotations

import functools
import typing as t
from dataclasses import dataclass

from bson import DBRef, ObjectId
from flask import flash, redirect, session, url_for
from flask_login import current_user, logout_user

from ..models import Customer, User
from ..security import audit, sessions

ROLE = "webguest"


@dataclass(frozen=True)
class Guest:
    user: User
    customer: Customer


def _customer_id(user: User) -> ObjectId | None:
    """The id the login stores, read without dereferencing (a customer deleted from the
    store would make MongoEngine raise)."""
    raw = user._data.get("customer")
    if isinstance(raw, DBRef):
        return raw.id
    if isinstance(raw, ObjectId):
        return raw
    return getattr(raw, "pk", None)


def may_use_portal(user: t.Any) -> bool:
    """A WebGuest login that is active and whose customer exists and is not archived."""
    if not getattr(user, "is_authenticated", False) or getattr(user, "role", None) != ROLE:
        return False
    return not _shut_out(user)


def _shut_out(user: User) -> bool:
    """The login is disabled, or its customer archived or gone (not merely this session
    out of date, which another sign-in or sign-out causes)."""
    if not user.active:
        return True
    usable = getattr(user, "usable", None)  # the login's own verdict, where it gives one
    if callable(usable) and not usable():
        return True
    customer_id = _customer_id(user)
    return customer_id is None or Customer.objects(
        pk=customer_id, archived__ne=True).only("id").first() is None


def current_guest() -> Guest | None:
    """The signed-in WebGuest and its customer, or None."""
    if not may_use_portal(current_user):
        return None
    user = current_user._get_current_object()
    customer = Customer.objects(pk=_customer_id(user)).first()
    return Guest(user, customer) if customer is not None else None


def guest_only(view: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
    """The page for a signed-in WebGuest; anyone else goes to the portal's sign-in form.
    A WebGuest that may no longer use the portal is signed out first."""

    @functools.wraps(view)
    def wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
        guest = current_guest()
        if guest is None:
            if end_webguest_session():
                flash("Your sign-in has ended. Sign in again if your account is still "
                      "open; otherwise contact the service desk.", "info")
            return redirect(url_for("portal.sign_in"))
        return view(guest, *args, **kwargs)

    return wrapper


def end_webguest_session() -> bool:
    """End the session of a WebGuest that may no longer use the portal (login disabled,
    customer archived or gone), and every other session of that login, so restoring the
    customer later does not bring an old session back. A staff session is left alone."""
    user_id = session.get("_user_id")
    if not user_id or not ObjectId.is_valid(user_id):
        return False
    user = User.objects(pk=ObjectId(user_id)).first()
    if user is not None and user.role != ROLE:
        return False
    if user is not None and _shut_out(user):
        sessions.end_all(user)
        audit.record("sign_out", subject=user.email, area="portal", actor="",
                     detail="ended by the portal: the login is disabled or its customer "
                            "is archived")
    logout_user()
    session.clear()
    return True
