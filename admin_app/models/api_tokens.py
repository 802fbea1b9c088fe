"""API tokens: what lets a script act for a staff login through the REST API.

Only a token's SHA-256 digest is stored. A token is 32 random bytes, so a fast hash is
enough: there is nothing to guess, unlike a password, and the digest is looked up once per
request under a unique index. The token itself is shown once, when it is made.
"""

from __future__ import annotations

import typing as t

import mongoengine as me

from .kept import now
from .users import User

SCOPES = ("read", "read-write")


class ApiToken(me.Document):
    meta = {"collection": "api_tokens",
            "indexes": [{"fields": ["digest"], "unique": True}, ("user", "-created")]}

    digest = me.StringField(required=True)  # SHA-256 of the token, hex
    hint = me.StringField(default="")  # the token's last characters, to tell tokens apart
    name = me.StringField(default="")  # what it is for, in the admin's words
    user = me.ReferenceField(User, required=True)  # whose role it acts with
    scope = me.StringField(required=True, choices=SCOPES)
    created = me.DateTimeField(default=now, required=True)
    created_by = me.StringField(default="")
    expires = me.DateTimeField(required=True)
    revoked = me.DateTimeField(null=True)
    revoked_by = me.StringField(default="")
    last_used = me.DateTimeField(null=True)
    last_used_from = me.StringField(default="")

    def state(self, at: t.Any) -> str:
        """"revoked", "expired" or "active" at the moment `at`."""
        if self.revoked is not None:
            return "revoked"
        return "expired" if self.expires <= at else "active"
