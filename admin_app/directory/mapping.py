"""A connector's attribute map: what its entries become, which fields the map may fill,
and what is wrong with it before any run.

Kept apart from the planner (`plan.py`): the connector screen checks a map without
reading the directory, and the planner asks these same checks for the fields it writes,
so the warnings an admin reads beside the map are the ones a run shows. Whether a field
is mandatory, and whether a value or a default is acceptable, is the rulebook's
(`dictionary/rules.py`), asked at the Level the entries become.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from .. import dictionary
from ..dictionary.rules import Invalid, rule
from ..dictionary.snapshot import Field, Snapshot
from ..dictionary.values import to_storage
from ..models import Contact, Customer

# Fields a map cannot write: the sync sets them itself (Level, Archive) or from the
# company attribute (the Org reference).
NOT_MAPPABLE = frozenset({"level", "archived"})


@dataclass(frozen=True)
class Becomes:
    """What a connector's entries become."""

    entity: str
    level: str
    model: t.Any
    org_field: str  # the reference the company attribute fills


BECOMES = {
    "customer": Becomes("customer", "Customer", Customer, "org"),
    "contact": Becomes("contact", "Contact", Contact, "customer"),
}


def usable_map(connector: t.Any, snapshot: Snapshot) -> tuple[dict[str, Field], list[str]]:
    """The attribute map as fields the sync may write, and what is wrong with the rest."""
    target = BECOMES[connector.becomes]
    fields = snapshot.fields.get(target.entity, {})
    usable: dict[str, Field] = {}
    warnings: list[str] = []
    for attribute, name in (connector.attribute_map or {}).items():
        definition = fields.get(name)
        if definition is None:
            warnings.append(f"The attribute {attribute} is mapped to {name!r}, which is not a "
                            f"field of {target.entity} records; it is ignored.")
        elif definition.retired:
            warnings.append(f"The attribute {attribute} is mapped to {definition.label}, a "
                            f"retired field; it is ignored.")
        elif name in NOT_MAPPABLE or definition.kind.is_reference:
            warnings.append(f"The attribute {attribute} cannot fill {definition.label}: the "
                            f"sync sets it itself (the Org comes from the company attribute); "
                            f"it is ignored.")
        else:
            usable[attribute] = definition
    return usable, warnings


def check_map(connector: t.Any, snapshot: Snapshot | None = None) -> list[str]:
    """What is wrong with a connector's map before any run: fields it cannot write, and
    fields mandatory at its Level that nothing fills."""
    snapshot = snapshot or dictionary.current()
    target = BECOMES[connector.becomes]
    usable, warnings = usable_map(connector, snapshot)
    filled = {f.name for f in usable.values()} | set(connector.field_defaults or {})
    if connector.org_attribute and connector.org_policy != "leave_empty":
        filled.add(target.org_field)
    if connector.org_attribute and connector.org_policy == "leave_empty" \
            and connector.default_org:
        filled.add(target.org_field)
    for definition in snapshot.live_fields(target.entity):
        if definition.name in NOT_MAPPABLE or definition.name in filled:
            continue
        if rule(snapshot, target.entity, definition.name, target.level).mandatory:
            warnings.append(f"{definition.label} is mandatory for a {target.level} but the "
                            f"map fills it from no attribute and there is no default value "
                            f"for it: entries cannot be created. Map an attribute to it or "
                            f"give it a default value.")
    for name, value in (connector.field_defaults or {}).items():
        try:
            default_value(snapshot, target, name, value)
        except (Invalid, KeyError) as exc:
            warnings.append(f"The default value for {name!r} cannot be used: "
                            f"{_words(exc, name)}")
    return warnings


def default_value(snapshot: Snapshot, target: Becomes, name: str, value: t.Any) -> t.Any:
    """A connector's default for field `name`, read by the rulebook and as stored; raises
    `Invalid` for one the rulebook refuses, `KeyError` for a field that does not exist."""
    definition = snapshot.field(target.entity, name)
    if definition.kind.is_reference or name in NOT_MAPPABLE:
        raise Invalid(f"{definition.label} cannot be given a default value here.")
    accepted = rule(snapshot, target.entity, name, target.level).accept_text(
        None if value is None else str(value))
    return to_storage(definition, accepted)


def _words(exc: Exception, name: str) -> str:
    return str(exc) if isinstance(exc, Invalid) else f"{name!r} is not a field."
