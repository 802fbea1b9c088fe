"""Writes records in the seed format, so export → load → export gives the same file.

References are written as natural keys (external_id when the target has one, else an
org's name, a customer's email or name), dates as YYYY-MM-DD, and empty values and
`archived: false` are left out. Records are sorted, keys too, so files diff cleanly.
"""

from __future__ import annotations

import json
import typing as t
from datetime import datetime
from pathlib import Path

from bson import ObjectId

from .. import dictionary
from .identities import NAMED_BY, TARGET_KINDS
from .kinds import BY_NAME, KINDS, Kind

# Kept by the app, not values (`last_change`: the record's last change set, records/history.py).
SKIPPED = {"_id", "updated_at", "level", "revision", "search_keys", "last_change"}


def export(path: str | Path, entities: t.Sequence[str] = (), include_archived: bool = False
           ) -> dict[str, int]:
    """Write the chosen entities (all by default); return how many records of each."""
    path = Path(path)
    kinds = [BY_NAME[e] for e in entities] if entities else list(KINDS)
    names = _NaturalNames()
    counts: dict[str, int] = {}
    lines = path.suffix.lower() == ".jsonl"
    with path.open("w", encoding="utf-8") as out:
        if not lines:
            out.write("{")
        for index, kind in enumerate(sorted(kinds, key=lambda k: k.name)):
            fields = dictionary.current().fields.get(kind.entity, {}) if kind.entity else {}
            records = sorted((_record(doc, fields, names)
                              for doc in _documents(kind, include_archived)), key=_order)
            counts[kind.name] = len(records)
            if lines:
                for record in records:
                    out.write(json.dumps({"entity": kind.name, **record}, sort_keys=True,
                                         ensure_ascii=False) + "\n")
                continue
            out.write(("," if index else "") + f"\n  {json.dumps(kind.name)}: [")
            for number, record in enumerate(records):
                body = json.dumps(record, sort_keys=True, indent=2, ensure_ascii=False)
                out.write(("," if number else "") + "\n    " + body.replace("\n", "\n    "))
            out.write("\n  ]" if records else "]")
        if not lines:
            out.write("\n}\n")
    return counts


def _documents(kind: Kind, include_archived: bool) -> t.Iterator[dict]:
    query: dict[str, t.Any] = {"level": kind.level} if kind.level else {}
    if not include_archived:
        query["archived"] = False  # every writer stores a boolean (records/upkeep.py)
    return kind.model._get_collection().find(query)


def _record(doc: dict, fields: t.Mapping[str, dictionary.Field], names: _NaturalNames) -> dict:
    record = {}
    for key, value in doc.items():
        if key in SKIPPED or value is None or value == "" or (key == "archived" and not value):
            continue
        definition = fields.get(key)
        if definition is not None and definition.retired:
            continue
        if definition is not None and definition.kind.is_reference:
            value = names.of(definition.target, value)
        elif isinstance(value, datetime):
            value = value.date().isoformat()
        record[key] = value
    return record


def _order(record: dict) -> tuple:
    return tuple(str(record.get(k, "")) for k in ("name", "customer", "email", "external_id"))


class _NaturalNames:
    """id → the text a seed file uses to refer to that record, cached per export."""

    def __init__(self) -> None:
        self.cache: dict[ObjectId, str] = {}

    def of(self, target: str, oid: t.Any) -> str:
        if oid not in self.cache:
            kinds = [BY_NAME[name] for name in TARGET_KINDS[target]]
            doc = kinds[0].model._get_collection().find_one(
                {"_id": oid}, {"external_id": 1, "email": 1, "name": 1, "level": 1})
            kind = next((k for k in kinds if doc and k.level in (None, doc.get("level"))),
                        kinds[0])
            self.cache[oid] = _natural(doc, kind) if doc else str(oid)
        return self.cache[oid]


def _natural(doc: dict, kind: Kind) -> str:
    """The most specific key the loader resolves for this record's kind."""
    for field in NAMED_BY[kind.name]:
        if doc.get(field):
            return doc[field]
    return str(doc["_id"])
