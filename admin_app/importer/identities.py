"""Natural keys → record ids, so a load can create-or-update and resolve references.

Each map is filled once per load with a projection read of the identity fields only
(a scan the embedded store and mongomock do as fast as any query), then kept current
as records are created, so a reference to an org created earlier in the same load
resolves. Its size follows the store, not the file.
"""

from __future__ import annotations

import typing as t

from bson import ObjectId

from .kinds import Kind

AMBIGUOUS = object()


def _email(value: t.Any) -> t.Any:
    return value.strip().lower() if isinstance(value, str) else value


class Identities:
    """The identity maps of one kind (orgs, customers…)."""

    def __init__(self, kind: Kind) -> None:
        self.kind = kind
        self.maps: dict[str, dict[t.Any, t.Any]] = {f: {} for f in kind.identity}
        collection = kind.model._get_collection()
        query = {"level": kind.level} if kind.level else {}
        wanted = {"external_id": 1, "name": 1, "email": 1, "customer": 1}
        for doc in collection.find(query, wanted):
            self.add(doc, doc["_id"])

    def add(self, values: t.Mapping[str, t.Any], oid: ObjectId) -> None:
        for field, mapping in self.maps.items():
            key = self._key(field, values)
            if key is None:
                continue
            previous = mapping.get(key)
            mapping[key] = oid if previous in (None, oid) else AMBIGUOUS

    def identify(self, values: t.Mapping[str, t.Any]) -> tuple[str, t.Any, t.Any]:
        """(field used, key, existing id | None | AMBIGUOUS) for a record about to load."""
        for field in self.kind.identity:
            key = self._key(field, values)
            if key is not None:
                return field, key, self.maps[field].get(key)
        return "", None, None

    def lookup(self, text: str) -> t.Any:
        """Resolve a reference written as external id, email or name (in that order)."""
        for field in ("external_id", "email", "name"):
            if field in self.maps:
                found = self.maps[field].get(_email(text) if field == "email" else text)
                if found is not None:
                    return found
        return None

    @staticmethod
    def _key(field: str, values: t.Mapping[str, t.Any]) -> t.Any:
        if field == "customer+name":
            customer, name = values.get("customer"), values.get("name")
            return (customer, name) if customer is not None and name else None
        value = values.get(field)
        if value in (None, ""):
            return None
        return _email(value) if field == "email" else value
