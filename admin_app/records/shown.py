"""How a stored value reads to a person: in the History tab and in a revert's sentences.

History keeps values as they were stored (a date as a midnight datetime, a reference as
an ObjectId, a tick box as a boolean), whatever the field's type is now; so a value is
read by what it is, and a reference is named by the record it points at. `Names` looks
those up once per page: one query per target, not one per value.
"""

from __future__ import annotations

import typing as t
from datetime import datetime

from bson import ObjectId

from ..targets import TARGETS


class Names:
    """The names of referenced records, fetched in one query per target."""

    def __init__(self) -> None:
        self._names: dict[tuple[str, ObjectId], str] = {}

    def prime(self, wanted: t.Iterable[tuple[str | None, t.Any]]) -> None:
        """Fetch the names of these (target, value) pairs not fetched yet."""
        by_target: dict[str, set[ObjectId]] = {}
        for target, value in wanted:
            if target in TARGETS and isinstance(value, ObjectId) \
                    and (target, value) not in self._names:
                by_target.setdefault(target, set()).add(value)
        for target, ids in by_target.items():
            for oid in ids:
                # A record that is gone is named as such, and not looked up again.
                self._names[(target, oid)] = f"(missing {TARGETS[target].words})"
            for doc in TARGETS[target].model.objects(pk__in=list(ids)).only("name"):
                self._names[(target, doc.pk)] = doc.name or "(no name)"

    def name(self, target: str, oid: ObjectId) -> str:
        if (target, oid) not in self._names:
            self.prime([(target, oid)])
        return self._names[(target, oid)]


def readable(value: t.Any, target: str | None = None, names: Names | None = None) -> str:
    """A stored value as a person reads it ("" for no value): dates as dates, Yes / No,
    a reference as its record's name (when the field's `target` is known)."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d}" if (value.hour, value.minute, value.second) == (0, 0, 0) \
            else f"{value:%Y-%m-%d %H:%M} UTC"
    if isinstance(value, ObjectId):
        if target in TARGETS:
            return (names or Names()).name(target, value)
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list | tuple):
        return ", ".join(readable(item, target, names) for item in value)
    return str(value)
