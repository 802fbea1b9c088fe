"""What a customer record says at the moment a ticket is logged for it.

The ticket form (when it opens with a customer, and through the view's customer-facts
endpoint when the agent picks another one) and the save read it from here, so what
the agent was shown and what the ticket keeps come from one place. Which fields are
brought forward is the dictionary's `brought_forward` flag, read per request, so a
field an admin flags shows on the next ticket with no code change.

News, the Expiry Date, the Contract, the SLA and the Org are fields of the default
dictionary that the ticket's behaviour is built on; they are named here by their
field names (labels and words still come from the dictionary). A retired field is
treated as absent: an admin who retires News does not want it popping up.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from .. import dictionary
from ..dictionary import Field, Snapshot
from ..models import SLA, Contact, Contract, Customer

ENTITY = "customer"
MAX_CONTACTS = 200  # the contact drop-down lists at most this many (customer, then Org)


@dataclass(frozen=True)
class News:
    title: str  # the name of the record whose News it is
    text: str


@dataclass(frozen=True)
class Expiry:
    """An expiry date that has passed, and the sentence that says whose it is."""

    on: date
    message: str


@dataclass(frozen=True)
class Service:
    """The SLA that applies, and the record it comes from (the customer or its Org)."""

    sla: SLA
    source: Customer

    def due(self, at: datetime) -> tuple[datetime | None, datetime | None]:
        """Response and resolution due times for a ticket logged at `at`."""
        def after(hours: int | None) -> datetime | None:
            return None if hours is None else at + timedelta(hours=hours)

        return after(self.sla.response_hours), after(self.sla.resolution_hours)


@dataclass(frozen=True)
class CustomerFacts:
    record: Customer
    org: Customer | None
    copied: tuple[Field, ...]  # the brought-forward fields, with today's labels
    news: tuple[News, ...]
    expired: tuple[Expiry, ...]  # passed expiry dates: the record's, then its Contract's
    service: Service | None
    contacts: tuple[Contact, ...]

    def value(self, field: Field) -> t.Any:
        """The stored value of a brought-forward field on the chosen record."""
        return getattr(self.record, field.name, None)

    @property
    def expired_on(self) -> date | None:
        return self.expired[0].on if self.expired else None


def brought_forward(snapshot: Snapshot) -> tuple[Field, ...]:
    """The customer fields flagged brought forward, in the order the Customer form shows
    them (then the Org form's, then the rest by name)."""
    flagged = {f.name: f for f in snapshot.live_fields(ENTITY) if f.brought_forward}
    order: list[str] = []
    for level in snapshot.entity(ENTITY).levels:
        for section in snapshot.layout(ENTITY, level.name):
            order += [name for name in section.fields if name in flagged and name not in order]
    order += sorted(set(flagged) - set(order))
    return tuple(flagged[name] for name in order)


def facts_for(record: Customer, at: datetime, snapshot: Snapshot | None = None
              ) -> CustomerFacts:
    """What logging a ticket at `at` for `record` (a Customer or an Org) brings with it."""
    snapshot = snapshot or dictionary.current()
    live = {f.name: f for f in snapshot.live_fields(ENTITY)}
    org = org_of(record) if "org" in live else None
    return CustomerFacts(
        record=record, org=org, copied=brought_forward(snapshot),
        news=_news(record, org) if "news" in live else (),
        expired=_expired(record, at, live),
        service=_service(record, org) if "sla" in live else None,
        contacts=contacts_of(record, org))


def org_of(record: Customer) -> Customer | None:
    if record.level == "Org" or not getattr(record, "org", None):
        return None
    return Customer.objects(pk=record.org, level="Org").first()


def _news(record: Customer, org: Customer | None) -> tuple[News, ...]:
    """The record's News, then its Org's: each under the name of the record it is on."""
    found = []
    for source in (record, org):
        text = getattr(source, "news", None) if source is not None else None
        if isinstance(text, str) and text.strip():
            found.append(News(source.name or "", text.strip()))
    return tuple(found)


def _expired(record: Customer, at: datetime, live: dict[str, Field]) -> tuple[Expiry, ...]:
    """The record's Expiry Date and its Contract's, each only if it has passed at `at`
    (the expiry day itself still counts as covered)."""
    found = []
    expiry = _as_date(getattr(record, "expiry_date", None)) if "expiry_date" in live else None
    if expiry is not None and expiry < at.date():
        label = live["expiry_date"].label
        found.append(Expiry(expiry, f"{record.name}'s {label}, {expiry.isoformat()}, "
                                    f"has passed."))
    contract_id = getattr(record, "contract", None) if "contract" in live else None
    contract = Contract.objects(pk=contract_id).first() if contract_id else None
    expiry = _as_date(contract.expiry_date) if contract is not None else None
    if expiry is not None and expiry < at.date():
        found.append(Expiry(expiry, f"{live['contract'].label} {contract.name} expired on "
                                    f"{expiry.isoformat()}."))
    return tuple(found)


def _as_date(value: t.Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else None


def _service(record: Customer, org: Customer | None) -> Service | None:
    """The customer's SLA, or its Org's when the customer has none."""
    for source in (record, org):
        sla_id = getattr(source, "sla", None) if source is not None else None
        sla = SLA.objects(pk=sla_id).first() if sla_id else None
        if sla is not None:
            return Service(sla, source)
    return None


def contacts_of(record: Customer, org: Customer | None) -> tuple[Contact, ...]:
    """The customer's own live contacts, then its Org's, by name."""
    found: list[Contact] = []
    for owner in (record, org):
        if owner is not None and len(found) < MAX_CONTACTS:
            found += Contact.objects(customer=owner.pk, archived=False) \
                .order_by("name").limit(MAX_CONTACTS - len(found))
    return tuple(found)
