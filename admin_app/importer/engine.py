"""The load engine shared by `flask seed load` and the upload page.

Records are validated with schemas built from the live dictionary, their references
resolved through natural keys, then written in batches straight to the collection
(insert_many for new records, an update per changed one): a load of 100,000
records must cost about what inserting them costs. Nothing is ever deleted, and an
update sets only the fields the file gives, so a field the file leaves out keeps its value.
"""

from __future__ import annotations

import time
import typing as t
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial

from bson import ObjectId
from marshmallow import ValidationError

from .. import dictionary
from ..dictionary.values import to_storage
from .identities import AMBIGUOUS, Identities
from .kinds import BY_NAME, KINDS, TIERS, Kind
from .report import Failure, Report
from .schemas import CATALOG_SCHEMAS, record_schema, record_schema_class
from .source import Item, SeedFileError, Source, open_source

BATCH = 1000
TARGET_KINDS = {"org": ("orgs",), "customer": ("customers",), "record": ("customers", "orgs"),
                "contact": ("contacts",), "contract": ("contracts",), "sla": ("slas",)}


@dataclass(frozen=True)
class Options:
    dry_run: bool = False
    atomic: bool = False
    on_existing: str = "update"  # or "skip"
    ignore_unknown: bool = False
    create_missing_orgs: bool = False


@dataclass(frozen=True)
class _Rules:
    declared: frozenset[str]  # the keys a record may carry
    labels: dict[str, str]  # field name → label, for messages
    schema: t.Callable[[frozenset[str]], t.Any]  # the schema for records with these keys


class _Reject(Exception):
    def __init__(self, failures: list[Failure]) -> None:
        self.failures = failures


def load(paths: t.Sequence[t.Any], options: Options = Options(),
         progress: t.Callable[[int], None] | None = None) -> Report:
    """Load seed files. With `atomic`, a first pass checks everything and writes only if
    no record failed."""
    started = time.perf_counter()
    try:
        sources = [open_source(p) for p in paths]
    except SeedFileError as exc:
        return Report(dry_run=options.dry_run, file_error=str(exc))
    if options.atomic and not options.dry_run:
        check = _Run(sources, replace(options, dry_run=True), progress).run()
        if not check.ok:
            check.atomic_refused = True
            check.seconds = time.perf_counter() - started
            return check
    report = _Run(sources, options, progress).run()
    report.seconds = time.perf_counter() - started
    return report


def count_records(paths: t.Sequence[t.Any]) -> int:
    return sum(open_source(p).count() for p in paths)


class _Run:
    def __init__(self, sources: list[Source], options: Options,
                 progress: t.Callable[[int], None] | None) -> None:
        self.sources = sources
        self.options = options
        self.progress = progress or (lambda n: None)
        self.report = Report(dry_run=options.dry_run)
        self.snapshot = dictionary.current()
        self.identities: dict[str, Identities] = {}
        self.seen: dict[tuple[str, t.Any], str] = {}
        self._rules: dict[str, _Rules] = {}
        self.now = datetime.now(UTC).replace(tzinfo=None)

    def ids(self, kind_name: str) -> Identities:
        if kind_name not in self.identities:
            self.identities[kind_name] = Identities(BY_NAME[kind_name])
        return self.identities[kind_name]

    def run(self) -> Report:
        for number, tier in enumerate(TIERS):
            for source in self.sources:
                batch: list[Item] = []
                for item in source.items(tier, first_pass=number == 0):
                    batch.append(item)
                    if len(batch) >= BATCH:
                        self._batch(batch)
                        batch = []
                if batch:
                    self._batch(batch)
        return self.report

    # -- one batch ---------------------------------------------------------------------

    def _batch(self, items: list[Item]) -> None:
        prepared: list[tuple[Kind, dict, t.Any]] = []
        for item in items:
            try:
                prepared.append(self._prepare(item))
            except _Reject as rejected:
                self.report.fail(rejected.failures)
        by_kind: dict[str, list[tuple[dict, t.Any]]] = {}
        for kind, values, existing in prepared:
            by_kind.setdefault(kind.name, []).append((values, existing))
        for kind_name, rows in by_kind.items():
            self._write(BY_NAME[kind_name], rows)
        self.progress(len(items))

    def _write(self, kind: Kind, rows: list[tuple[dict, t.Any]]) -> None:
        collection = kind.model._get_collection()
        matched = [existing for _values, existing in rows if existing is not None]
        current = {d["_id"]: d for d in collection.find({"_id": {"$in": matched}})} \
            if matched else {}
        creates, updates = [], []
        for values, existing in rows:
            if existing is None:
                creates.append(values)
            elif self.options.on_existing == "skip":
                self.report.count(kind.name, "skipped")
            else:
                stored = current.get(existing, {})
                changed = {k: v for k, v in values.items() if stored.get(k) != v}
                if changed:
                    updates.append((existing, {**changed, "updated_at": self.now}))
                else:
                    self.report.count(kind.name, "unchanged")
        if not self.options.dry_run:
            if creates:
                collection.insert_many(creates, ordered=False)
            # One update per changed record: mongomock's bulk_write does not accept the
            # UpdateOne of pymongo ≥ 4.9 (its `sort` argument), and changes are the rare case.
            for oid, changes in updates:
                collection.update_one({"_id": oid}, {"$set": changes})
        self.report.count(kind.name, "created", len(creates))
        self.report.count(kind.name, "updated", len(updates))

    # -- one record --------------------------------------------------------------------

    def _prepare(self, item: Item) -> tuple[Kind, dict, t.Any]:
        kind = item.kind
        entity_name = kind.name if kind else "record"
        if item.problem:
            raise _Reject([Failure(entity_name, item.position, "", "", item.problem)])
        raw = item.raw
        if not isinstance(raw, dict):
            raise _Reject([Failure(entity_name, item.position, "", "",
                                   "must be a JSON object of field names and values.")])
        key_text = _key_text(kind, raw)
        fail = partial(Failure, kind.name, item.position, key_text)  # fail(label, message)
        values = self._validate(kind, raw, fail)
        self._resolve(kind, values, fail)
        field, key, existing = self.ids(kind.name).identify(values)
        if existing is AMBIGUOUS:
            raise _Reject([fail("", f"its {field.replace('+', ' and ')} matches more than one "
                                    f"existing record; add an external_id to say which.")])
        if key is not None:
            first = self.seen.get((kind.name, key))
            if first is not None:
                raise _Reject([fail("", f"duplicate of {first} (same {field.replace('+', ' and ')})"
                                        f" in this load.")])
            self.seen[(kind.name, key)] = item.position
        if existing is None:
            values = self._new_document(kind, values)
            self.ids(kind.name).add(values, values["_id"])
        return kind, values, existing

    def rules(self, kind: Kind) -> _Rules:
        """What a record of this kind may hold, worked out once per load, not per record."""
        if kind.name not in self._rules:
            if kind.entity is None:
                schema = CATALOG_SCHEMAS[kind.name]
                self._rules[kind.name] = _Rules(
                    frozenset(schema.fields),
                    {name: name.replace("_", " ").capitalize() for name in schema.fields},
                    lambda present: schema)
            else:
                entity = kind.entity
                level = kind.level or self.snapshot.entity(entity).levels[0].name
                declared = record_schema_class(self.snapshot, entity, level)._declared_fields
                self._rules[kind.name] = _Rules(
                    frozenset(declared),
                    {f.name: f.label for f in self.snapshot.live_fields(entity)},
                    lambda present: record_schema(self.snapshot, entity, level, present))
        return self._rules[kind.name]

    def _validate(self, kind: Kind, raw: dict, fail: t.Callable[..., Failure]) -> dict:
        rules = self.rules(kind)
        if kind.level and "level" in raw and raw["level"] != kind.level:
            raise _Reject([fail(rules.labels.get("level", "Level"),
                                f"must be {kind.level} for records in {kind.name!r}.")])
        unknown = sorted(str(k) for k in raw if k not in rules.declared)
        if unknown and not self.options.ignore_unknown:
            raise _Reject([fail("", f"unknown field{'s' if len(unknown) > 1 else ''} "
                                    f"{', '.join(unknown)}; check the names against the "
                                    f"dictionary, or load with --ignore-unknown to skip them.")])
        data = {k: v for k, v in raw.items() if k in rules.declared}
        if kind.level:
            data["level"] = kind.level
        try:
            return rules.schema(frozenset(data)).load(data)
        except ValidationError as exc:
            raise _Reject([fail(rules.labels.get(name, name), " ".join(_messages(msgs)))
                           for name, msgs in sorted(exc.normalized_messages().items())]) from exc

    def _resolve(self, kind: Kind, values: dict, fail: t.Callable[..., Failure]) -> None:
        """Turn reference texts into ids; convert other values to their stored form."""
        if kind.entity is None:
            return
        problems = []
        for name, value in list(values.items()):
            definition = self.snapshot.fields[kind.entity].get(name)
            if definition is None or value is None:
                continue
            if definition.type != "reference":
                values[name] = to_storage(definition, value)
                continue
            found = self._find(definition.target, value)
            if found is None and definition.target == "org" and self.options.create_missing_orgs:
                found = self._create_org(value)
            if found is None:
                problems.append(fail(definition.label, f"{value!r} does not match any "
                                     f"{_target_words(definition.target)}; load it first"
                                     + (" or use --create-missing-orgs." if definition.target
                                        == "org" else ".")))
            elif found is AMBIGUOUS:
                problems.append(fail(definition.label, f"{value!r} matches more than one "
                                     f"{_target_words(definition.target)}; use its external_id."))
            else:
                values[name] = found
        if problems:
            raise _Reject(problems)

    def _find(self, target: str, text: str) -> t.Any:
        hits = {found for name in TARGET_KINDS[target]
                if (found := self.ids(name).lookup(text)) is not None}
        if len(hits) > 1:
            return AMBIGUOUS
        return hits.pop() if hits else None

    def _create_org(self, name: str) -> ObjectId:
        org = self._new_document(BY_NAME["orgs"], {"name": name, "level": "Org"})
        if not self.options.dry_run:
            BY_NAME["orgs"].model._get_collection().insert_one(org)
        self.ids("orgs").add(org, org["_id"])
        self.report.count("orgs", "created")
        return org["_id"]

    def _new_document(self, kind: Kind, values: dict) -> dict:
        document = {"_id": ObjectId(), "archived": False, **values, "updated_at": self.now}
        return {k: v for k, v in document.items() if v is not None}


def _messages(value: t.Any) -> list[str]:
    if isinstance(value, dict):
        return [m for v in value.values() for m in _messages(v)]
    if isinstance(value, list):
        return [m for v in value for m in _messages(v)]
    return [str(value)]


def _key_text(kind: Kind, raw: dict) -> str:
    """The record's natural key as the file wrote it, to say which record a message is about."""
    for field in kind.identity:
        value = raw.get("name" if field == "customer+name" else field)
        if isinstance(value, str) and value:
            return value
    return ""


def _target_words(target: str) -> str:
    return {"org": "Org", "customer": "Customer", "record": "Customer or Org",
            "contact": "Contact", "contract": "Contract", "sla": "SLA"}[target]


__all__ = ["KINDS", "Options", "count_records", "load"]
