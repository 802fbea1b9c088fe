"""The kinds of record a seed file holds, in the order they must load.

Orgs load before the customers that name them, customers before the contacts that name
them, whatever the order in the file: each tier is loaded across all files first.
"""

from __future__ import annotations

from dataclasses import dataclass

import mongoengine

from ..models import SLA, Contact, Contract, Customer


@dataclass(frozen=True)
class Kind:
    name: str  # the list name in a file: "orgs"
    singular: str  # accepted as `entity` in JSON Lines too: "org"
    tier: int
    model: type[mongoengine.Document]
    entity: str | None  # the dictionary entity, or None for contracts and SLAs
    level: str | None
    # The fields that identify a record, most specific first; an external_id wins.
    identity: tuple[str, ...]


KINDS: tuple[Kind, ...] = (
    Kind("contracts", "contract", 0, Contract, None, None, ("name",)),
    Kind("slas", "sla", 0, SLA, None, None, ("name",)),
    Kind("orgs", "org", 1, Customer, "customer", "Org", ("external_id", "name")),
    Kind("customers", "customer", 2, Customer, "customer", "Customer",
         ("external_id", "email", "name")),
    Kind("contacts", "contact", 3, Contact, "contact", None, ("external_id", "customer+name")),
)
BY_NAME: dict[str, Kind] = {k.name: k for k in KINDS} | {k.singular: k for k in KINDS}
TIERS: tuple[int, ...] = tuple(sorted({k.tier for k in KINDS}))
LIST_NAMES = ", ".join(k.name for k in KINDS)
