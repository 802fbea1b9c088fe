"""What admins (and, for WebGuests, agents) do to logins: create, disable, re-enable,
reset, change role, and Make WebGuest Login.

`create` is the one way a login is made: the Logins screen (`invite`), Make WebGuest
Login (`make_webguest`), `flask user create` and the first admin (`ensure_first_admin`)
all go through it, so every login gets the same checks (a valid address, in its normal
form, that no login has or looks like; the role; the password policy when a password
is given) and the same `login_created` audit entry. "Looks like" is the confusable
skeleton of Unicode TS #39 (`models.users.look_alike_key`), stored on each login under a
unique index: the check is one indexed query, and two look-alikes made at the same moment
cannot both be saved.

The screens (`views/logins.py`, `views/webguests.py`) only ask and show; the rules live
here so that they hold whoever calls. Every change is audited, and every change that
takes something away (disable, reset, role change) ends the login's sessions at once.
An admin cannot disable, demote or reset the last admin who can sign in. No lock makes
that hold (none would, on a MongoDB server): the change is written first, the admins
who can sign in are counted after it, and a change that left none is undone and
refused (`_save_keeping_an_admin`).
"""

from __future__ import annotations

import secrets
import typing as t
import unicodedata
from dataclasses import dataclass

import mongoengine as me
from email_validator import EmailNotValidError, validate_email

from ..mail import OutboxMessage, deliver, outbox
from ..mail.delivery import settings as mail_settings
from ..models import Customer
from ..models.users import ROLES, STAFF_ROLES, User, look_alike_key, normal_email
from . import audit, links, logins_upkeep, passwords

STATES = {
    "active": "active",
    "awaiting": "awaiting password",
    "directory": "active (signs in with the directory password)",
    "disabled": "disabled",
    "archived": "disabled because the customer is archived",
}


class LoginRefused(Exception):
    """A change that is not allowed, said in one sentence for the admin."""


@dataclass(frozen=True)
class PortalLogin:
    user: User
    state: str  # a key of STATES

    @property
    def words(self) -> str:
        return STATES[self.state]


def state_of(user: User, customer: Customer | None = None) -> str:
    """One of STATES' keys: what the login can do now."""
    if not user.active:
        return "disabled"
    if user.role == "webguest":
        if customer is None and user.customer_id is not None:
            customer = Customer.objects(pk=user.customer_id).first()
        if customer is None or customer.archived:
            return "archived"
        if not user.has_password and from_directory(customer):
            return "directory"
    return "active" if user.has_password else "awaiting"


def from_directory(customer: Customer) -> str:
    """The connector that made this customer, "" when it was typed in or imported."""
    directory = getattr(customer, "directory", None)
    return str(directory.get("connector") or "") if isinstance(directory, dict) else ""


def _end_sessions(user: User) -> None:
    from . import sessions

    sessions.end_all(user)


# -- making a login ----------------------------------------------------------------------

def checked_address(email: str) -> str:
    """`email` in its normal form, when a new login may have it; otherwise LoginRefused
    says why: it is not an email address, or a login has it or one that looks the same."""
    address = normal_email(email)
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError as exc:
        raise LoginRefused(f"{address or 'That'} is not an email address: {exc}") from None
    logins_upkeep.bring_up_to_date()  # older logins get their skeletons first (once)
    _refuse_taken(address)
    return address


def _refuse_taken(address: str) -> None:
    if User.objects(email=address).only("email").first() is not None:
        raise LoginRefused(f"A login for {address} already exists.")
    like = User.objects(skeleton=look_alike_key(address)).only("email").first()
    if like is not None:
        raise LoginRefused(f"{address} looks the same as the existing login {like.email}"
                           f"{_unusual_letters(address, like.email)}, so it cannot be a login "
                           f"of its own.")


def _unusual_letters(address: str, other: str) -> str:
    """Which of the address's characters the other login's lacks, by their Unicode names:
    on a screen the two addresses look the same, which is the very problem."""
    odd = [c for c in dict.fromkeys(address) if c not in other]
    if not odd:
        return ""
    return " (it has " + ", ".join(
        f"{c}, {unicodedata.name(c, f'U+{ord(c):04X}').lower()}" for c in odd) + ")"


def create(email: str, role: str, *, customer: Customer | None = None,
           password: str | None = None, detail: str = "", area: str | None = None,
           actor: str | None = None) -> User:
    """Make a login: the one way there is (see the module's docstring). Without
    `password` the login has none until its owner follows a one-time link; a WebGuest's
    `customer` is its record. Refused with LoginRefused, in one sentence."""
    if role not in ROLES:
        raise LoginRefused("Choose the role admin, agent or webguest.")
    if (role == "webguest") != (customer is not None):
        raise LoginRefused("A WebGuest login belongs to a customer, and only a WebGuest "
                           "login does.")
    address = checked_address(email)
    if password is not None:
        found = passwords.problems(password, address)
        if found:
            raise LoginRefused("That password cannot be used. " + " ".join(found))
    user = User(email=address, role=role, customer=customer)
    if password is not None:
        user.set_password(password)
    try:
        user.save(force_insert=True)
    except me.NotUniqueError:  # it, or a look-alike, was made by someone else a moment ago
        _refuse_taken(address)
        raise LoginRefused(f"A login for {address} already exists.") from None
    audit.record("login_created", subject=user.email, detail=detail or f"role {role}",
                 area=area, actor=actor)
    return user


def invite(email: str, role: str) -> tuple[User, links.Issued]:
    """A new agent or admin login, without a password, and its one-time link (the
    Logins screen)."""
    if role not in STAFF_ROLES:
        raise LoginRefused("Choose the role admin or agent.")
    user = create(email, role, detail=f"role {role}")
    return user, links.issue(user, issued_by=_actor())


def ensure_first_admin(email: str, password: str | None, *, actor: str = "",
                       detail: str = "the first admin login") -> tuple[User, str | None]:
    """Create the first admin when there is none (`flask setup`, from ADMIN_EMAIL).

    Returns the admin and the generated password (only when one was generated, so that
    it can be shown once and never stored in clear)."""
    existing = User.objects(role="admin").first()
    if existing is not None:
        return existing, None
    generated = None if password else secrets.token_urlsafe(12)
    user = create(email, "admin", password=password or generated, area="cli", actor=actor,
                  detail=detail)
    return user, generated


def _admins_with_a_password(**more: t.Any) -> int:
    # Not `password_hash__ne=""`: saving "" (a reset) removes the field, and a missing
    # field is not equal to "", so a reset admin would count as one with a password.
    return User.objects(role="admin", active=True, password_hash__nin=["", None],
                        **more).count()


def _able_admins(excluding: User) -> int:
    """Admins other than `excluding` who can sign in now."""
    return _admins_with_a_password(pk__ne=excluding.pk)


def _able_admin(user: User) -> bool:
    return user.role == "admin" and bool(user.active) and user.has_password


def _last_admin(user: User, doing: str) -> LoginRefused:
    return LoginRefused(f"{user.email} is the last admin who can sign in, so it cannot be "
                        f"{doing}. Make another admin first.")


def _keep_an_admin(user: User, doing: str) -> None:
    if _able_admin(user) and _able_admins(user) == 0:
        raise _last_admin(user, doing)


def _save_keeping_an_admin(user: User, doing: str, **values: t.Any) -> None:
    """Save `values` on `user` (checked by `check_allowed` just before), then count the
    admins who can sign in; if none is left, undo this write and refuse.

    The check before the write alone would let two admins removing each other at once
    both pass it. Each write is one single-document update, and each is followed by the
    count: whichever count comes after both writes sees nobody left, so at least that
    change is undone (both, when both count before either undoes), never neither, on
    every store and without a lock. An undo only gives back admin rights, so it never
    empties another count. For the moment between a write and its undo the login is
    without them; a process killed in that moment could leave no admin, and then
    `flask user create EMAIL --role admin` makes one."""
    before = {name: getattr(user, name) for name in values}
    was_able = _able_admin(user)
    for name, value in values.items():
        setattr(user, name, value)
    user.save()
    if was_able and not _admins_with_a_password():
        _undo(user, values, before)
        raise _last_admin(user, doing)


def _undo(user: User, written: dict[str, t.Any], before: dict[str, t.Any]) -> None:
    """Put `before` back, only while the login still holds what this change wrote (a
    change someone made since is not overwritten). "" and None are stored as no field."""
    def empty(value: t.Any) -> bool:
        return value is None or value == ""

    still = {f"{name}__in": [value, None] if value == "" else [value]
             for name, value in written.items()}
    back = {(f"unset__{name}" if empty(value) else f"set__{name}"): True if empty(value)
            else value for name, value in before.items()}
    User.objects(pk=user.pk, **still).update_one(**back)
    for name, value in before.items():
        setattr(user, name, value)


def check_allowed(user: User, action: str, role: str = "") -> None:
    """Raise LoginRefused when `action` (disable, reset, role) may not be done to `user`;
    the confirmation page asks before the admin confirms."""
    if action == "disable":
        _keep_an_admin(user, "disabled")
    elif action == "reset":
        _keep_an_admin(user, "reset")
    elif action == "role":
        if user.role not in STAFF_ROLES or role not in STAFF_ROLES:
            raise LoginRefused("Only an agent can become an admin, or an admin an agent.")
        if role == user.role:
            raise LoginRefused(f"{user.email} is already an {role}.")
        if role != "admin":
            _keep_an_admin(user, "made an agent")


def disable(user: User) -> None:
    user.reload()
    check_allowed(user, "disable")
    _save_keeping_an_admin(user, "disabled", active=False, disabled_by=_actor() or "admin")
    links.cancel(user)
    _end_sessions(user)
    audit.record("login_disabled", subject=user.email)


def enable(user: User) -> None:
    user.active, user.disabled_by = True, ""
    user.save()
    audit.record("login_enabled", subject=user.email)


def reset(user: User) -> links.Issued:
    """The old password stops working, every session ends, and a new link is issued."""
    user.reload()
    check_allowed(user, "reset")
    _save_keeping_an_admin(user, "reset", password_hash="", password_set_at=None)
    _end_sessions(user)
    issued = links.issue(user, issued_by=_actor())
    audit.record("password_reset", subject=user.email)
    if user.role == "webguest":
        audit.record("webguest_link_issued", subject=user.email, detail="after a reset")
        mail_link(user, issued)
    return issued


def change_role(user: User, role: str) -> None:
    user.reload()
    check_allowed(user, "role", role)
    before = user.role
    _save_keeping_an_admin(user, "made an agent", role=role)
    _end_sessions(user)
    audit.record("role_changed", subject=user.email, detail=f"{before} → {role}")


# -- WebGuests -------------------------------------------------------------------------------

def portal_login(customer: Customer) -> PortalLogin | None:
    user = User.objects(customer=customer.pk, role="webguest").first()
    return PortalLogin(user, state_of(user, customer)) if user is not None else None


def make_webguest(customer: Customer, email: str) -> tuple[User, links.Issued | None]:
    """A WebGuest login for `customer` and its link; no link for a customer a directory
    connector made (the portal checks the directory password)."""
    if customer.level != "Customer":
        raise LoginRefused("Only a customer at Level Customer can have a portal login.")
    if customer.archived:
        raise LoginRefused("This customer is archived: restore it before making a portal "
                           "login.")
    if portal_login(customer) is not None:
        raise LoginRefused("This customer already has a portal login.")
    user = create(email, "webguest", customer=customer,
                  detail=f"WebGuest of {customer.name or customer.pk}")
    connector = from_directory(customer)
    if connector:
        return user, None
    issued = links.issue(user, issued_by=_actor())
    audit.record("webguest_link_issued", subject=user.email,
                 detail=f"WebGuest of {customer.name or customer.pk}")
    mail_link(user, issued)
    return user, issued


def new_webguest_link(user: User) -> links.Issued:
    """Another link for a WebGuest who has not set a password yet (the first was lost or
    expired); the older links stop working. A password already set is left alone: taking
    it away is a reset, on the Logins screen."""
    state = state_of(user)
    if user.role != "webguest" or state != "awaiting":
        raise LoginRefused(f"This portal login is {STATES[state]}: it needs no new link.")
    issued = links.issue(user, issued_by=_actor())
    audit.record("webguest_link_issued", subject=user.email, detail="a new link")
    mail_link(user, issued)
    return issued


def mail_link(user: User, issued: links.Issued) -> OutboxMessage | None:
    """Queue a WebGuest's link through the outbox and try it at once, only when mail is
    configured (otherwise the desk hands the link over itself)."""
    if not mail_settings().configured:
        return None
    expires = issued.link.expires_at.strftime("%Y-%m-%d %H:%M")
    body = (f"A login to the customer portal has been made for {user.email}.\n\n"
            f"Open this link to set your password (it works once, until {expires} UTC):\n"
            f"{issued.url}\n\nIf you did not expect this message, ignore it.\n")
    message = outbox.queue(OutboxMessage(key=f"password-link:{issued.link.pk}",
                                         kind="password_link", to=user.email,
                                         subject="Set your password for the customer portal",
                                         body=body))
    if message.status == "queued":
        deliver(message)
        message.reload()
    return message


def _actor() -> str:
    from flask import has_request_context
    from flask_login import current_user

    if has_request_context() and getattr(current_user, "is_authenticated", False):
        return t.cast(str, current_user.email)
    return ""
