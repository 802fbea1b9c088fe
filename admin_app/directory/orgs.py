"""Orgs named by a directory attribute (`company`), matched the way people write them.

Directories spell one company many ways ("ACME Ltd.", "Acme Limited", "acme"): names
are compared after normalising case, spaces, punctuation and legal-form suffixes, and an
admin's alias list covers what normalising cannot ("ACME UK" → "Acme Manufacturing").
"""

from __future__ import annotations

import re
import typing as t
import unicodedata
from dataclasses import dataclass, field

from bson import ObjectId

from .. import store
from ..models import Customer
from ..store import bulk_reads

# Legal forms that say nothing about which company is meant; removed from the end.
SUFFIXES = frozenset({
    "ltd", "limited", "inc", "incorporated", "llc", "llp", "lp", "gmbh", "plc", "corp",
    "corporation", "co", "company", "ag", "sa", "sas", "sarl", "bv", "nv", "pty", "srl",
    "spa", "ab", "as", "oy", "kg", "kgaa", "se", "group",
})
_NOT_WORD = re.compile(r"[^\w]+")


def normalise(name: str) -> str:
    """The comparable form of a company name: lower case, words only, no legal form."""
    text = unicodedata.normalize("NFKC", name).casefold().replace("&", " and ")
    words = [w for w in _NOT_WORD.sub(" ", text).replace("_", " ").split() if w]
    while len(words) > 1 and words[-1] in SUFFIXES:
        words.pop()
    return " ".join(words)


@dataclass
class OrgMatch:
    """What a company value means: an existing Org, one to create, or nothing."""

    org_id: ObjectId | None = None
    name: str | None = None  # the Org's name (existing or to create)
    create: bool = False
    problem: str | None = None  # why the value gives no Org, in words


@dataclass
class OrgDirectory:
    """The store's Orgs by normalised name, and what this plan would add."""

    policy: str
    default_org: str | None
    aliases: dict[str, str]
    by_name: dict[str, tuple[ObjectId, str]] = field(default_factory=dict)
    ambiguous: set[str] = field(default_factory=set)
    to_create: dict[str, str] = field(default_factory=dict)  # normalised → name as first met

    @classmethod
    def load(cls, policy: str, default_org: str | None,
             aliases: t.Mapping[str, str] | None) -> OrgDirectory:
        orgs = cls(policy, default_org,
                   {normalise(a): n for a, n in (aliases or {}).items() if normalise(a)})
        collection = store.database()[Customer._get_collection_name()]
        current = (doc for doc in bulk_reads.documents(collection, {"level": "Org"},
                                                       ["name", "archived"])
                   if doc.get("archived") is not True)
        for doc in sorted(current, key=lambda doc: doc["_id"]):
            key = normalise(doc.get("name") or "")
            if not key:
                continue
            if key in orgs.by_name:
                orgs.ambiguous.add(key)  # the oldest wins; the plan says so
                continue
            orgs.by_name[key] = (doc["_id"], doc.get("name") or "")
        return orgs

    def match(self, company: str) -> OrgMatch:
        key = normalise(company)
        key = normalise(self.aliases.get(key, company)) if key in self.aliases else key
        if key in self.by_name:
            oid, name = self.by_name[key]
            problem = (f"More than one Org is called {name!r} once normalised; the oldest "
                       f"is used.") if key in self.ambiguous else None
            return OrgMatch(oid, name, problem=problem)
        if self.policy == "create":
            name = self.to_create.setdefault(key, company.strip())
            return OrgMatch(None, name, create=True)
        if self.policy == "default" and self.default_org:
            found = self.by_name.get(normalise(self.default_org))
            if found:
                return OrgMatch(found[0], found[1])
            return OrgMatch(problem=f"The default Org {self.default_org!r} does not exist; "
                                    f"the Org is left as it is.")
        return OrgMatch(problem=f"No Org is called {company.strip()!r}; the Org is left "
                                f"as it is.")
