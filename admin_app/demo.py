"""Loads the small demo data set (`seed/demo.json`) into an empty store.

A deliberately minimal loader: orgs first, then customers that name their org, then
contacts that name their customer. The full, validated importer is a separate module.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from . import dictionary
from .models import SLA, Contact, Contract, Customer

DEMO_FILE = Path(__file__).resolve().parents[1] / "seed" / "demo.json"


def is_empty() -> bool:
    return Customer.objects.count() == 0 and Contact.objects.count() == 0


def load(path: Path = DEMO_FILE) -> dict[str, int]:
    """Insert the demo records; return how many of each were added."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    contracts = {c["name"]: Contract(**c).save() for c in data.get("contracts", [])}
    slas = {s["name"]: SLA(**s).save() for s in data.get("slas", [])}
    orgs: dict[str, Customer] = {}
    for raw in data.get("orgs", []):
        orgs[raw["name"]] = _record(raw, "Org", {}, contracts, slas)
    customers = {}
    for raw in data.get("customers", []):
        customer = _record(raw, "Customer", orgs, contracts, slas)
        customers[raw.get("email") or raw["name"]] = customer
    everyone = {**customers, **orgs}
    for raw in data.get("contacts", []):
        values = dict(raw)
        values["customer"] = everyone[values["customer"]].pk
        Contact(**values).save()
    return {"contracts": len(contracts), "slas": len(slas), "orgs": len(orgs),
            "customers": len(customers), "contacts": len(data.get("contacts", []))}


def _record(raw: dict, level: str, orgs: dict, contracts: dict, slas: dict) -> Customer:
    values = dict(raw, level=level)
    fields = dictionary.current().fields["customer"]
    for key, value in values.items():
        if key in fields and fields[key].type == "date":
            values[key] = datetime.fromisoformat(value)
    if "org" in values:
        values["org"] = orgs[values["org"]].pk
    if "contract" in values:
        values["contract"] = contracts[values["contract"]].pk
    if "sla" in values:
        values["sla"] = slas[values["sla"]].pk
    return Customer(**values).save()
