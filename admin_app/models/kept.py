"""What every kind of record that people or the importer write carries.

The importer writes documents straight to their collection (insert_many, $set) and
stamps `archived` and `updated_at` on every kind it writes. A kind that did not declare
them could not be read back (MongoEngine raises FieldDoesNotExist on an undeclared
key), so they are declared once, here, and every written kind inherits them.
"""

from __future__ import annotations

from datetime import UTC, datetime

import mongoengine as me

# The keys the importer stamps on every document it writes (see importer.engine).
STAMPED = ("archived", "updated_at")


def now() -> datetime:
    """UTC without tzinfo: what MongoDB hands back, so stored and fresh values compare."""
    return datetime.now(UTC).replace(tzinfo=None)


class Kept:
    """Mixin for MongoEngine documents: Archive (hide, never delete) and the last change."""

    archived = me.BooleanField(default=False)
    updated_at = me.DateTimeField(default=now)

    def clean(self) -> None:
        self.updated_at = now()
