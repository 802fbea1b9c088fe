"""People who sign in to the admin (admins and agents), with hashed passwords."""

from __future__ import annotations

import secrets

import mongoengine as me
from flask_login import UserMixin
from werkzeug.security import check_password_hash, generate_password_hash

ROLES = ("admin", "agent")


class User(UserMixin, me.Document):
    meta = {"collection": "users"}

    email = me.StringField(required=True, unique=True)
    password_hash = me.StringField(required=True)
    role = me.StringField(required=True, choices=ROLES, default="agent")
    active = me.BooleanField(default=True)

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return bool(self.active)

    def get_id(self) -> str:
        return str(self.pk)

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)


def ensure_first_admin(email: str, password: str | None) -> tuple[User, str | None]:
    """Create the first admin when there is none.

    Returns the admin and the generated password (only when one was generated, so that
    it can be shown once and never stored in clear).
    """
    existing = User.objects(role="admin").first()
    if existing is not None:
        return existing, None
    generated = None if password else secrets.token_urlsafe(12)
    user = User(email=email.strip().lower(), role="admin")
    user.set_password(password or generated)
    user.save()
    return user, generated
