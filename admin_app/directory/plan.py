"""What a run would do, entry by entry and record by record, before anything is written.

The preview and the load share this one function: the preview shows the plan, the load
applies it (`sync.apply`), so what an admin reviewed is what happens. Every directory
value goes through the rulebook like any other way in; an entry that fails is *skipped*
and, because its key was seen, is never taken for a person who left.

Identity is the entry's stable key (objectGUID, entryUUID or DN, chosen by the reader),
stored on the record as `directory = {"connector", "key"}`: a rename or an OU move
keeps the record. A record this connector did not create is never taken over: an
entry whose email it shares is a *conflict* until an admin approves the link.

What the map may fill and what is wrong with it is `mapping.py`'s; what a record must
hold to be created is the record write path's (`records.write.lacking`), so an entry
skipped for a missing value gets the message the admin's form gives.
"""

from __future__ import annotations

import hashlib
import json
import typing as t
from dataclasses import dataclass, field

from bson import ObjectId

from .. import dictionary, store
from ..dictionary.rules import Invalid, rule
from ..dictionary.snapshot import Snapshot
from ..dictionary.values import to_storage
from ..models import Customer
from ..records.write import lacking
from ..store import bulk_reads
from .approvals import approved_links
from .mapping import BECOMES, check_map, default_value, usable_map
from .orgs import OrgDirectory

KINDS = ("create", "update", "archive", "restore", "conflict", "skip", "unchanged")
IN_CHUNK = 100


@dataclass
class Change:
    field: str
    label: str
    before: str
    after: str


@dataclass
class Action:
    kind: str
    key: str
    dn: str = ""
    name: str = ""
    record: str | None = None  # the record's id, when there is one
    changes: list[Change] = field(default_factory=list)
    values: dict[str, t.Any] = field(default_factory=dict)  # stored values to $set
    org_name: str | None = None  # an Org this load creates, to link the record to
    link: bool = False  # an approved conflict: the record becomes this entry's
    reason: str = ""
    messages: list[str] = field(default_factory=list)

    @property
    def writes(self) -> bool:
        return self.kind in ("create", "update", "archive", "restore")


@dataclass
class Guard:
    name: str
    passed: bool
    verdict: str


@dataclass
class Plan:
    connector: str
    becomes: str
    config_revision: int
    complete: bool
    reason: str | None
    entries: int
    pages: int
    records: int  # the connector's records that are not archived
    actions: list[Action] = field(default_factory=list)
    orgs_to_create: list[str] = field(default_factory=list)
    map_warnings: list[str] = field(default_factory=list)
    guards: list[Guard] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return not self.complete

    @property
    def held(self) -> bool:
        return any(not g.passed for g in self.guards if g.name in HOLDING_GUARDS)

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(KINDS, 0)
        for action in self.actions:
            counts[action.kind] += 1
        return counts

    def fingerprint(self) -> str:
        """What a load would write, as one hash: equal plans write the same things."""
        writes = sorted(([a.kind, a.key, a.record, a.values, a.org_name, a.link]
                         for a in self.actions if a.writes), key=lambda w: (w[1], w[0]))
        text = json.dumps([writes, sorted(self.orgs_to_create)], sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    def as_stored(self, limit: int = 5000) -> list[dict[str, t.Any]]:
        """The actions worth showing with a run: all but the unchanged, without the
        stored values (the changes show them), at most `limit` (a document's size is
        bounded; the counts and the fingerprint cover the rest)."""
        kept = [a for a in self.actions if a.kind != "unchanged"][:limit]
        # By hand, not dataclasses.asdict: its deep copies cost more than the plan itself.
        return [{"kind": a.kind, "key": a.key, "dn": a.dn, "name": a.name, "record": a.record,
                 "changes": [vars(c).copy() for c in a.changes], "org_name": a.org_name,
                 "link": a.link, "reason": a.reason, "messages": list(a.messages)}
                for a in kept]


HOLDING_GUARDS = ("entries", "archive limit")


# -- the plan -----------------------------------------------------------------------------------

def plan(connector: t.Any, extract: t.Any, snapshot: Snapshot | None = None) -> Plan:
    """One action for every entry of `extract` and every record the connector created."""
    return _Planner(connector, extract, snapshot or dictionary.current()).build()


class _Planner:
    def __init__(self, connector: t.Any, extract: t.Any, snapshot: Snapshot) -> None:
        self.connector, self.extract, self.snapshot = connector, extract, snapshot
        self.name = connector.name
        self.target = BECOMES[connector.becomes]
        self.collection = store.database()[self.target.model._get_collection_name()]
        self.mapped, _ = usable_map(connector, snapshot)
        self.warnings = check_map(connector, snapshot)
        self.defaults = self._defaults()
        self.orgs = OrgDirectory.load(connector.org_policy or "leave_empty",
                                      connector.default_org, connector.org_aliases)
        self.org_names: dict[ObjectId, str] = {}
        # Only what planning compares: the mapped fields, the Org, the flags.
        wanted = {"directory", "archived", "name", "email", self.target.org_field,
                  *(definition.name for definition in self.mapped.values())}
        self.mine = {doc["directory"]["key"]: doc for doc in bulk_reads.documents(
            self.collection, {"directory.connector": self.name}, wanted)}

    def _defaults(self) -> dict[str, t.Any]:
        values = {}
        for name, value in (self.connector.field_defaults or {}).items():
            try:
                values[name] = default_value(self.snapshot, self.target, name, value)
            except (Invalid, KeyError):
                continue  # check_map reports it
        return values

    def build(self) -> Plan:
        extract, connector = self.extract, self.connector
        result = Plan(self.name, connector.becomes, int(connector.config_revision or 0),
                      bool(extract.complete), extract.reason, len(extract.entries),
                      int(extract.pages or 0),
                      sum(1 for d in self.mine.values() if not d.get("archived")),
                      map_warnings=self.warnings)
        entries = self._readable()
        taken = self._others_by_email(entries)
        approvals = approved_links(self.name)
        seen: set[str] = set()
        new_emails: dict[str, str] = {}
        for entry, values, messages, org in entries:
            if entry.key in seen:
                result.actions.append(Action("skip", entry.key, entry.dn, reason=(
                    "The entry was returned twice (by two base DNs); the second is ignored.")))
                continue
            seen.add(entry.key)
            result.actions.append(self._entry_action(entry, values, messages, org, taken,
                                                     approvals, new_emails))
        if extract.complete:
            for key, doc in self.mine.items():
                if key not in seen and not doc.get("archived"):
                    result.actions.append(self._archive(doc, key, (
                        "The entry is no longer in the directory (missing from a complete "
                        "read).")))
        result.orgs_to_create = sorted({a.org_name for a in result.actions
                                        if a.org_name and a.kind in ("create", "update",
                                                                     "restore")})
        result.guards = guards(result, connector)
        return result

    # -- entries --------------------------------------------------------------------------------

    def _readable(self) -> list[tuple[t.Any, dict[str, t.Any], list[str], t.Any]]:
        """Each entry with its values as stored, the rulebook's messages, its Org."""
        out = []
        # One rule per mapped field for the whole extract, not one look-up per value.
        checks = {attribute: (definition, rule(self.snapshot, self.target.entity,
                                               definition.name, self.target.level))
                  for attribute, definition in self.mapped.items()}
        # Departments, offices and companies repeat: each text is checked once per field.
        # (A stored value is a str, number, bool, date or list: never changed in place.)
        seen: dict[str, dict[tuple[str, ...], t.Any]] = {attribute: {} for attribute in checks}
        for entry in self.extract.entries:
            attributes = {k.lower(): v for k, v in (entry.attributes or {}).items()}
            values: dict[str, t.Any] = {}
            messages: list[str] = []
            for attribute, (definition, check) in checks.items():
                texts = _texts(attributes.get(attribute.lower()))
                if not texts:
                    continue  # an empty attribute never clears a value
                known = seen[attribute]
                if texts not in known:  # the field's type reads one value or all of them
                    try:
                        known[texts] = to_storage(definition, check.accept_texts(texts))
                    except Invalid as exc:
                        known[texts] = Invalid(f"{attribute}: {exc}")
                outcome = known[texts]
                if isinstance(outcome, Invalid):
                    messages.append(str(outcome))
                else:
                    values[definition.name] = outcome
            org = None
            company = _first(attributes.get((self.connector.org_attribute or "").lower()))
            if company is not None and self.connector.org_attribute:
                org = self.orgs.match(company)
            out.append((entry, values, messages, org))
        return out

    def _others_by_email(self, entries: list) -> dict[str, dict[str, t.Any]]:
        """Records holding an email that an entry without a record of ours brings."""
        emails = sorted({values["email"] for entry, values, _m, _o in entries
                         if values.get("email") and entry.key not in self.mine})
        found: dict[str, dict[str, t.Any]] = {}
        for start in range(0, len(emails), IN_CHUNK):
            chunk = emails[start:start + IN_CHUNK]
            for doc in self.collection.find({"email": {"$in": chunk}}):
                found.setdefault(doc["email"], doc)
        return found

    def _entry_action(self, entry: t.Any, values: dict[str, t.Any], messages: list[str],
                      org: t.Any, taken: dict[str, dict[str, t.Any]],
                      approvals: dict[str, ObjectId], new_emails: dict[str, str]) -> Action:
        doc = self.mine.get(entry.key)
        name = values.get("name") or (doc or {}).get("name") or entry.dn
        record = str(doc["_id"]) if doc else None
        if messages:
            return Action("skip", entry.key, entry.dn, name, record, messages=messages,
                          reason="The entry's values fail the dictionary's rules; it is "
                                 "skipped and its record, if any, is left as it is.")
        org_name = None
        notes = []
        if org is not None:
            if org.problem:
                notes.append(org.problem)
            if org.org_id is not None:
                values[self.target.org_field] = org.org_id
                self.org_names[org.org_id] = org.name or ""
            elif org.create:
                org_name = org.name
        if doc is None:
            return self._new(entry, name, values, org_name, notes, taken, approvals, new_emails)
        changes = self._diff(doc, values, org_name)
        values = {f: v for f, v in values.items() if doc.get(f) != v}
        if entry.disabled:
            if doc.get("archived"):
                return Action("unchanged", entry.key, entry.dn, name, record,
                              reason="Disabled in the directory and already archived.")
            return self._archive(doc, entry.key, "The entry is disabled in the directory.")
        if doc.get("archived"):
            if not (doc.get("directory") or {}).get("archived"):
                return Action("unchanged", entry.key, entry.dn, name, record,
                              reason="The record was archived by hand, not by the sync; it "
                                     "stays archived.")
            return Action("restore", entry.key, entry.dn, name, record,
                          [Change("archived", "Archived", "yes", "no"), *changes],
                          values, org_name, reason=" ".join(
                              ["The entry is enabled in the directory again.", *notes]))
        if changes:
            return Action("update", entry.key, entry.dn, name, record, changes, values,
                          org_name, reason=" ".join(["The directory's values changed.",
                                                     *notes]))
        return Action("unchanged", entry.key, entry.dn, name, record,
                      reason=" ".join(["The record already holds the directory's values.",
                                       *notes]))

    def _new(self, entry: t.Any, name: str, values: dict[str, t.Any], org_name: str | None,
             notes: list[str], taken: dict[str, dict[str, t.Any]],
             approvals: dict[str, ObjectId], new_emails: dict[str, str]) -> Action:
        email = values.get("email")
        other = taken.get(email) if email else None
        if other is not None:
            owner = other.get("directory") or {}
            approved = approvals.get(entry.key) == other["_id"]
            if approved and not owner:
                changes = self._diff(other, values, org_name)
                return Action("update", entry.key, entry.dn, name, str(other["_id"]), changes,
                              {f: v for f, v in values.items() if other.get(f) != v},
                              org_name, link=True, reason=" ".join(
                                  ["An admin approved linking this entry to the existing "
                                   "record with the same email.", *notes]))
            whose = (f"the record of another directory entry ({owner.get('connector')}: "
                     f"{owner.get('key')})" if owner else
                     "a record that was not made by this connector (typed in or imported)")
            remedy = ("Two connectors never share a record: nothing is done."
                      if owner else "It is left untouched until an admin approves linking it.")
            return Action("conflict", entry.key, entry.dn, name, str(other["_id"]), reason=(
                f"The email {email} already belongs to {whose}. {remedy}"))
        if email and email in new_emails:
            return Action("conflict", entry.key, entry.dn, name, reason=(
                f"The email {email} is also the email of the entry {new_emails[email]} of "
                f"this run; neither record is made for this one."))
        if entry.disabled:
            return Action("skip", entry.key, entry.dn, name, reason=(
                "The entry is disabled in the directory; no record is created for it."))
        merged = {**self.defaults, **values}
        # The record as the load would create it; an Org this load creates fills its field.
        missing = [problem.message for problem in lacking(
                       self.target.entity, {"level": self.target.level, **merged},
                       self.snapshot)
                   if not (problem.field == self.target.org_field and org_name)]
        if missing:
            return Action("skip", entry.key, entry.dn, name, messages=missing, reason=(
                "The entry lacks a value the dictionary makes mandatory; give the connector "
                "a default value or map an attribute to it."))
        if email:
            new_emails[email] = entry.dn
        changes = self._diff({}, merged, org_name)
        return Action("create", entry.key, entry.dn, name, None, changes, merged, org_name,
                      reason=" ".join(["The entry has no record yet.", *notes]))

    def _archive(self, doc: dict[str, t.Any], key: str, reason: str) -> Action:
        return Action("archive", key, "", doc.get("name") or "", str(doc["_id"]),
                      [Change("archived", "Archived", "no", "yes")], reason=reason)

    # -- showing values ---------------------------------------------------------------------

    def _diff(self, doc: dict[str, t.Any], values: dict[str, t.Any],
              org_name: str | None) -> list[Change]:
        fields = self.snapshot.fields.get(self.target.entity, {})
        changes = []
        for name, after in values.items():
            before = doc.get(name)
            if before == after:
                continue
            definition = fields.get(name)
            label = definition.label if definition else name
            changes.append(Change(name, label, self._shown(before), self._shown(after)))
        if org_name:
            definition = fields.get(self.target.org_field)
            changes.append(Change(self.target.org_field,
                                  definition.label if definition else "Org",
                                  self._shown(doc.get(self.target.org_field)),
                                  f"{org_name} (a new Org)"))
        return changes

    def _shown(self, value: t.Any) -> str:
        if value is None or value == "":
            return ""
        if isinstance(value, ObjectId):
            if value not in self.org_names:
                doc = store.database()[Customer._get_collection_name()].find_one(
                    {"_id": value}, {"name": 1})
                self.org_names[value] = (doc or {}).get("name") or str(value)
            return self.org_names[value]
        if isinstance(value, list):
            return ", ".join(self._shown(item) for item in value)
        if hasattr(value, "date") and hasattr(value, "hour"):
            return value.date().isoformat()
        if isinstance(value, bool):
            return "yes" if value else "no"
        return str(value)


def _texts(values: t.Any) -> tuple[str, ...]:
    """The non-blank values of a (possibly multi-valued) attribute, as text."""
    if values is None:
        return ()
    if isinstance(values, str | bytes):
        values = [values]
    texts = (value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
             for value in values)
    return tuple(text.strip() for text in texts if text.strip())


def _first(values: t.Any) -> str | None:
    """The first non-blank value of a (possibly multi-valued) attribute."""
    texts = _texts(values)
    return texts[0] if texts else None


# -- guards -------------------------------------------------------------------------------------

def archive_limit(connector: t.Any, records: int) -> float:
    """The most a run may archive without an admin: max(N, X % of the connector's records)."""
    count = int(connector.max_archive_count if connector.max_archive_count is not None else 10)
    percent = float(connector.max_archive_percent
                    if connector.max_archive_percent is not None else 10)
    return max(count, records * percent / 100)


def guards(result: Plan, connector: t.Any) -> list[Guard]:
    """Each guard's verdict, in words, for the preview and the run's record."""
    out = []
    if result.complete:
        out.append(Guard("complete", True, f"The directory was read completely: "
                                           f"{result.entries} entries in {result.pages} "
                                           f"page(s)."))
    else:
        out.append(Guard("complete", False, f"The directory was not read completely: "
                                            f"{result.reason or 'no reason was given.'} "
                                            f"Nothing is written and nobody is archived."))
    if result.entries:
        out.append(Guard("entries", True, f"The directory returned {result.entries} "
                                          f"entries."))
    else:
        out.append(Guard("entries", False, "The directory returned no entries: that is "
                                           "taken for a wrong base DN, filter or account, "
                                           "not for everybody leaving. The run waits for "
                                           "an admin's approval."))
    archives = sum(1 for a in result.actions if a.kind == "archive")
    limit = archive_limit(connector, result.records)
    if archives > limit:
        out.append(Guard("archive limit", False, (
            f"The run would archive {archives} of the connector's {result.records} records, "
            f"more than the limit of {limit:g} (the larger of "
            f"{connector.max_archive_count} records and {connector.max_archive_percent} %). "
            f"It waits for an admin's approval.")))
    else:
        out.append(Guard("archive limit", True, (
            f"The run archives {archives} of the connector's {result.records} records "
            f"(limit {limit:g}).")))
    if result.map_warnings:
        out.append(Guard("map", False, f"The map has {len(result.map_warnings)} problem(s); "
                                       f"see the warnings."))
    return out
