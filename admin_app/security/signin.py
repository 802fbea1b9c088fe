"""The one way to sign in, for the admin and the portal alike.

`attempt` hears an email and password only when the throttle allows, answers a wrong
password, an unknown email, a disabled login, a login of another role and a login with no
password yet with the same sentence and status, and spends about the same time on each
(a password hash is always checked: the login's, or a dummy one), so that neither the
words nor the clock tell whether a login exists. Every attempt is in the audit log.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

from flask import flash, request

from ..models import User
from ..models.users import normal_email, spend_a_check
from . import audit, sessions, throttle

MISMATCH = "That email and password do not match an active account."
# The longest address SMTP carries (RFC 5321), so no login's email is longer. The portal's
# form takes any text: beyond this, what was typed is cut (and marked, so that it matches
# no login) before it is looked up, counted or written to the audit log.
LONGEST_EMAIL = 254

@dataclass(frozen=True)
class Outcome:
    user: User | None  # signed in (the session has begun) or None
    message: str = ""  # one sentence for the visitor; "" on success
    status: int = 200  # the HTTP status to answer with
    retry_after: int = 0  # seconds, for a Retry-After header when refused


def attempt(email: str, password: str, *, area: str, roles: tuple[str, ...],
            check: t.Callable[[User, str], bool] | None = None) -> Outcome:
    """Sign in with `email` and `password` to `area` ("admin", "portal") as one of `roles`.

    `check(user, password)` says whether the password is right; by default the stored hash
    (the portal passes one that binds to the directory for directory customers). On
    success the session has begun (see `sessions.begin`); the caller redirects.
    """
    email = normal_email(email)  # the form logins are stored in
    if len(email) > LONGEST_EMAIL:
        email = email[:LONGEST_EMAIL] + "…"
    password = password if isinstance(password, str) else ""
    address = request.remote_addr or "unknown"

    wait = throttle.reserve(area, email, address)
    if wait:
        audit.record("sign_in_failed", subject=email, area=area, actor="",
                     detail=f"refused: too many failed sign-ins (wait {wait} s)")
        return Outcome(None, f"Too many failed sign-ins. Try again in {_duration(wait)}.",
                       429, wait)

    try:
        user = User.objects(email=email).first() if email else None
        reason = _refusal(user, roles, own_password=check is None)
        if reason:
            spend_a_check(password)  # the time a real check would take
        elif not (check or User.check_password)(user, password):
            reason = "wrong password"
    except Exception:
        throttle.failed(area, email, address)  # settled, not left in flight
        raise

    if not reason:
        throttle.succeeded(area, email, address)
        sessions.begin(user)
        audit.record("sign_in", subject=email, area=area, actor=email)
        return Outcome(user)

    failure = throttle.failed(area, email, address)
    audit.record("sign_in_failed", subject=email, area=area, actor="", detail=reason)
    minutes = throttle.lock_minutes()
    if "account" in failure.locked:
        audit.record("lockout", subject=email, area=area, actor="",
                     detail=f"the login is locked for {minutes} minutes")
    if "address" in failure.locked:
        audit.record("lockout", subject=email, area=area, actor="",
                     detail=f"the address {throttle.counted_as(address)} is locked for "
                            f"{minutes} minutes")
    message = MISMATCH
    if failure.wait:
        message += f" Wait {_duration(failure.wait)} before trying again."
    return Outcome(None, message, 401, failure.wait)


def _refusal(user: User | None, roles: tuple[str, ...], own_password: bool) -> str:
    """Why `user` cannot sign in here whatever the password (for the audit log only).

    A login without a password yet is refused only when the stored hash is what checks
    (`own_password`): a directory customer's password is the directory's."""
    if user is None:
        return "no such login"
    if not user.is_active:
        return "login disabled"
    if user.role not in roles:
        return f"a {user.role} login cannot sign in here"
    if own_password and not user.has_password:
        return "no password set yet"
    if not user.usable():
        return "the customer is archived"
    return ""


def _duration(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = -(-seconds // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


@dataclass(frozen=True)
class Answer:
    """How a sign-in page answers a visit: `signed_in`, or the page again with this
    status and these headers (the refusal is already flashed)."""

    signed_in: bool
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


def from_form(form: t.Any, *, area: str, roles: tuple[str, ...],
              check: t.Callable[[User, str], bool] | None = None) -> Answer:
    """Handle a sign-in page's visit: a valid post is an `attempt`, a refusal is flashed
    (429 with Retry-After when throttled), an invalid post is 400, a visit shows the form.
    The form must be built from `request.form` only: a JSON body's values could be
    objects ({"$gt": ""}) rather than the text a sign-in form sends."""
    if form.validate_on_submit():
        outcome = attempt(form.email.data, form.password.data, area=area, roles=roles,
                          check=check)
        if outcome.user is not None:
            return Answer(True)
        flash(outcome.message, "error")
        headers = {"Retry-After": str(outcome.retry_after)} if outcome.retry_after else {}
        return Answer(False, outcome.status, headers)
    return Answer(False, 400 if request.method == "POST" else 200)

