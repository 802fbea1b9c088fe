"""People who sign in: admins and agents to the admin, WebGuests (customers) to the portal.

Passwords are stored hashed. A login made by an admin or by Make WebGuest Login has no
password until its owner follows a one-time link; until then nobody can sign in with it.
`session_version` is copied into every session at sign-in and checked on every request:
raising it (sign-out, a password change, disabling, a role change) ends every session of
that login at once, although the session itself lives in a signed cookie.

An address is stored, looked up and compared in one form, `normal_email`. Beside it each
login keeps its address's confusable skeleton (Unicode TS #39, `look_alike_key`) under a
unique index, so that a login whose address merely looks like another's (a Cyrillic "а"
for a Latin "a") cannot be made, and finding the one it looks like is one indexed query.
Logins are made only by `security.accounts.create`.
"""

from __future__ import annotations

import typing as t
import unicodedata

import mongoengine as me
from disarm import skeleton_key
from flask_login import UserMixin
from werkzeug.security import check_password_hash, generate_password_hash

from .kept import now

ROLES = ("admin", "agent", "webguest")
STAFF_ROLES = ("admin", "agent")


# Hashed once, with the method real passwords use, so that checking it costs the same.
_DUMMY_HASH = generate_password_hash("no such login: the time a real check takes")


def spend_a_check(password: str) -> None:
    """The time a real password check takes, for answers that must not be quicker when
    there is nothing to check (no such login, no password yet)."""
    check_password_hash(_DUMMY_HASH, password)


def normal_email(text: t.Any) -> str:
    """The one form an email address of a login is stored, looked up and compared in:
    NFKC (a fullwidth "ａ" or a ligature becomes the plain letters), lower case, without
    the spaces around it. Anything that is not text is "" (it matches no login)."""
    if not isinstance(text, str):
        return ""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).lower()).strip()


def look_alike_key(email: str) -> str:
    """The address's confusable skeleton: two addresses a reader cannot tell apart have
    the same one ("аgent@example.com" with a Cyrillic "а", "agent@exаmple.com",
    "agent@example.com").

    Unicode TS #39's skeleton by disarm, with the digits TS #39 puts with letters ("1"
    with "l", "0" with "O": "a1ice" looks like "alice"), taken of the normal form, so
    that case never tells two logins apart where the address itself does not."""
    return skeleton_key(normal_email(email), digit_policy="tr39")


class User(UserMixin, me.Document):
    # A customer's WebGuest login is asked for by customer and role.
    meta = {"collection": "users", "indexes": [("customer", "role")]}

    email = me.StringField(required=True, unique=True)  # in its `normal_email` form
    # `look_alike_key(email)`: unique, so no second login can look like this one. Sparse:
    # a login made before it was kept has none until `security.logins_upkeep` gives it
    # one (and one that looks like an older login keeps none, and is reported).
    skeleton = me.StringField(unique=True, sparse=True)
    password_hash = me.StringField(default="")  # "" until the owner sets one
    role = me.StringField(required=True, choices=ROLES, default="agent")
    active = me.BooleanField(default=True)
    session_version = me.IntField(default=0)
    # A WebGuest's customer record; None for admins and agents.
    customer = me.ReferenceField("Customer", null=True)
    # Which admin disabled the login (shown on its page). Archiving a customer does not
    # disable its login: `usable()` reads the customer's state on every request.
    disabled_by = me.StringField(default="")
    created_at = me.DateTimeField(default=now)
    password_set_at = me.DateTimeField(null=True)

    def clean(self) -> None:
        """A new login is stored under its address's normal form, with its skeleton."""
        if self.pk is None:
            self.email = normal_email(self.email)
            self.skeleton = look_alike_key(self.email)

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return bool(self.active)

    @property
    def has_password(self) -> bool:
        return bool(self.password_hash)

    def get_id(self) -> str:
        return str(self.pk)

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)
        self.password_set_at = now()

    def check_password(self, password: str) -> bool:
        """Always one hash check, even with no password set, so the time taken never
        tells whether a login has a password."""
        if not self.password_hash:
            spend_a_check(password)
            return False
        return check_password_hash(self.password_hash, password)

    @property
    def customer_id(self) -> t.Any:
        """The WebGuest's customer's id, without loading (or failing on) the record."""
        value = self._data.get("customer")
        return getattr(value, "pk", None) or getattr(value, "id", None) or value

    def customer_archived(self) -> bool:
        """True when this WebGuest's customer is archived or no longer exists."""
        from .records import Customer

        found = Customer.objects(pk=self.customer_id).only("archived").first() \
            if self.customer_id is not None else None
        return found is None or bool(found.archived)

    def usable(self) -> bool:
        """May this login sign in, and may its sessions go on?

        A disabled login may not; nor may a WebGuest whose customer is archived. That is
        derived from the customer on every call, not stored: every way a customer is
        archived (the form, the list, a directory sync, a seed import) shuts the portal
        to it, and restoring the customer opens it again, with no flag to keep in step.
        """
        if not self.active:
            return False
        return self.role != "webguest" or not self.customer_archived()

