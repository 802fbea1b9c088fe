"""What a reference field may point at: one table for the dictionary, the forms' search
boxes, the importer and the screens' words.

A target names the model its records live in, the Levels a referenced record must have
(an `org` reference only ever points at an Org), the seed-file kinds those records load
as, and the word the screens use for it. `Target.get` finds the record a stored
reference points at: the domain's way to follow a reference (the forms' search boxes,
`forms/lookups.py`, are the screens').
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

import mongoengine
from bson import ObjectId
from bson.errors import InvalidId

from .models import SLA, Contact, Contract, Customer


def object_id(value: t.Any) -> ObjectId | None:
    """`value` as an ObjectId (a stored reference, or its text from a form or a URL);
    None when it is not one."""
    if isinstance(value, ObjectId):
        return value
    try:
        return ObjectId(str(value))
    except (InvalidId, TypeError):
        return None


@dataclass(frozen=True)
class Target:
    name: str
    model: type[mongoengine.Document]
    levels: tuple[str, ...] | None  # the Levels a referenced record may have; None: any
    kinds: tuple[str, ...]  # the seed-file lists its records load from
    words: str  # how messages name it

    def restriction(self) -> dict[str, t.Any]:
        """The query that keeps a lookup to records this reference may point at."""
        if self.levels is None:
            return {}
        return {"level": self.levels[0]} if len(self.levels) == 1 \
            else {"level__in": list(self.levels)}

    def get(self, pk: t.Any) -> mongoengine.Document | None:
        """The record a reference holding `pk` points at, or None (not an id, no such
        record, or one this reference may not point at, e.g. a Customer for `org`).
        Archived records are found: an existing link to one must still read."""
        oid = object_id(pk)
        if oid is None:
            return None
        return self.model.objects(pk=oid, **self.restriction()).first()


TARGETS: dict[str, Target] = {target.name: target for target in (
    Target("org", Customer, ("Org",), ("orgs",), "Org"),
    Target("customer", Customer, ("Customer",), ("customers",), "Customer"),
    Target("record", Customer, None, ("customers", "orgs"), "Customer or Org"),
    Target("contact", Contact, None, ("contacts",), "Contact"),
    Target("contract", Contract, None, ("contracts",), "Contract"),
    Target("sla", SLA, None, ("slas",), "SLA"),
)}
