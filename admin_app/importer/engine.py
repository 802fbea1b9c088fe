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
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial

from bson import ObjectId
from marshmallow import ValidationError

from .. import dictionary
from ..dictionary.values import to_storage
from ..models import search, upkeep
from ..targets import TARGETS
from .identities import AMBIGUOUS, BatchKeys, Finder, identity
from .kinds import BY_NAME, KINDS, TIERS, Kind
from .report import Failure, Report
from .schemas import CATALOG_SCHEMAS, record_schema, record_schema_class
from .source import Item, SeedFileError, Source, open_source

BATCH = 1000
SHAPES = 32  # record shapes (key sets) given a schema of their own


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
    build: t.Callable[[frozenset[str] | None], t.Any]  # the schema for records with these keys
    references: dict[str, str]  # reference field → its target
    definitions: dict[str, t.Any]  # field name → dictionary Field (records only)
    schemas: dict[frozenset[str], t.Any] = field(default_factory=dict)

    def schema(self, present: frozenset[str]) -> t.Any:
        """A schema limited to the keys present (faster); a file with many shapes of
        record gets the whole schema after the first few, so this stays small."""
        found = self.schemas.get(present)
        if found is None:
            found = self.build(present if len(self.schemas) < SHAPES else None)
            self.schemas[present] = found
        return found


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
    if not options.dry_run:
        upkeep.bring_up_to_date()  # older stores: the Archive flag and search keys
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
        self._rules: dict[str, _Rules] = {}
        self.now = datetime.now(UTC).replace(tzinfo=None)

    def run(self) -> Report:
        finder = Finder()
        try:
            for number, tier in enumerate(TIERS):
                for source in self.sources:
                    batch: list[Item] = []
                    for item in source.items(tier, first_pass=number == 0):
                        batch.append(item)
                        if len(batch) >= BATCH:
                            self._batch(batch, finder.batch())
                            batch = []
                    if batch:
                        self._batch(batch, finder.batch())
        finally:
            finder.close()
        return self.report

    # -- one batch ---------------------------------------------------------------------

    def _batch(self, items: list[Item], keys: BatchKeys) -> None:
        """Check every record, ask about all their keys at once, then settle each in order."""
        checked: list[tuple[Item, Kind, dict, t.Callable[..., Failure]]] = []
        for item in items:
            try:
                kind, values, fail = self._check(item)
            except _Reject as rejected:
                self.report.fail(rejected.failures)
                continue
            keys.want_record(kind, values, self.rules(kind).references)
            checked.append((item, kind, values, fail))
        prepared: list[tuple[Kind, dict, t.Any]] = []
        for item, kind, values, fail in checked:
            try:
                prepared.append(self._settle(item, kind, values, fail, keys))
            except _Reject as rejected:
                self.report.fail(rejected.failures)
        keys.commit()
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
                    updates.append((existing, {**changed, **self._kept(kind, stored, changed),
                                               "updated_at": self.now}))
                else:
                    self.report.count(kind.name, "unchanged")
        if not self.options.dry_run:
            if creates:
                collection.insert_many(creates, ordered=False)
            # One update per changed record: mongomock's bulk_write does not accept the
            # UpdateOne of pymongo ≥ 4.9 (its `sort` argument), and changes are the rare case.
            # A record's revision moves too, so a form opened before the load is refused
            # rather than overwriting what the load wrote.
            bump = {"$inc": {"revision": 1}} if _revised(kind) else {}
            for oid, changes in updates:
                collection.update_one({"_id": oid}, {"$set": changes, **bump})
        self.report.count(kind.name, "created", len(creates))
        self.report.count(kind.name, "updated", len(updates))

    # -- one record --------------------------------------------------------------------

    def _check(self, item: Item) -> tuple[Kind, dict, t.Callable[..., Failure]]:
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
        return kind, self._validate(kind, raw, fail), fail

    def _settle(self, item: Item, kind: Kind, values: dict, fail: t.Callable[..., Failure],
                keys: BatchKeys) -> tuple[Kind, dict, t.Any]:
        """Resolve references, then decide: new record, existing one, or a duplicate."""
        self._resolve(kind, values, fail, keys, item.position)
        key = identity(kind, values)
        if key is None:
            return kind, self._new_document(kind, values), None
        words = key.field.replace("+", " and ")
        first, existing = keys.existing(kind, key)
        if existing is AMBIGUOUS:
            raise _Reject([fail("", f"its {words} matches more than one existing record; add an "
                                    f"external_id to say which.")])
        if first is not None:
            raise _Reject([fail("", f"duplicate of {first} (same {words}) in this load.")])
        if existing is None:
            values = self._new_document(kind, values)
        keys.register(kind, values, existing or values["_id"], item.position)
        return kind, values, existing

    def rules(self, kind: Kind) -> _Rules:
        """What a record of this kind may hold, worked out once per load, not per record."""
        if kind.name not in self._rules:
            if kind.entity is None:
                schema = CATALOG_SCHEMAS[kind.name]
                self._rules[kind.name] = _Rules(
                    frozenset(schema.fields),
                    {name: name.replace("_", " ").capitalize() for name in schema.fields},
                    lambda present: schema, {}, {})
            else:
                entity = kind.entity
                level = kind.level or self.snapshot.entity(entity).levels[0].name
                declared = record_schema_class(self.snapshot, entity, level)._declared_fields
                self._rules[kind.name] = _Rules(
                    frozenset(declared),
                    {f.name: f.label for f in self.snapshot.live_fields(entity)},
                    lambda present: record_schema(self.snapshot, entity, level, present),
                    {f.name: f.target for f in self.snapshot.live_fields(entity)
                     if f.type == "reference"},
                    {f.name: f for f in self.snapshot.live_fields(entity)})
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

    def _resolve(self, kind: Kind, values: dict, fail: t.Callable[..., Failure],
                 keys: BatchKeys, position: str) -> None:
        """Turn reference texts into ids; convert other values to their stored form."""
        definitions = self.rules(kind).definitions
        problems = []
        for name, value in list(values.items()):
            definition = definitions.get(name)
            if definition is None or value is None:
                continue
            if definition.type != "reference":
                values[name] = to_storage(definition, value)
                continue
            found = keys.reference(definition.target, value)
            if found is None and definition.target == "org" and self.options.create_missing_orgs:
                found = self._create_org(value, keys, position)
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

    def _create_org(self, name: str, keys: BatchKeys, position: str) -> ObjectId:
        org = self._new_document(BY_NAME["orgs"], {"name": name, "level": "Org"})
        if not self.options.dry_run:
            BY_NAME["orgs"].model._get_collection().insert_one(org)
        keys.register(BY_NAME["orgs"], org, org["_id"], position)
        self.report.count("orgs", "created")
        return org["_id"]

    def _new_document(self, kind: Kind, values: dict) -> dict:
        document = {"_id": ObjectId(), "archived": False, **values, "updated_at": self.now}
        if _revised(kind):
            document["revision"] = 1
        document = {k: v for k, v in document.items() if v is not None}
        if kind.entity:
            document["search_keys"] = search.keys_for(kind.entity, document)
        return document

    @staticmethod
    def _kept(kind: Kind, stored: dict, changed: dict) -> dict[str, t.Any]:
        """What an update keeps current besides the file's values: the search keys of
        the values it leaves, and an Archive flag where an older store has none."""
        kept: dict[str, t.Any] = {} if "archived" in stored else {"archived": False}
        if kind.entity:
            keys = search.keys_for(kind.entity, {**stored, **changed})
            if keys != stored.get("search_keys"):
                kept["search_keys"] = keys
        return kept


def _revised(kind: Kind) -> bool:
    """Records (not Contracts or SLAs) count their writes in `revision`."""
    return "revision" in kind.model._fields


def _messages(value: t.Any) -> list[str]:
    if isinstance(value, dict):
        return [m for v in value.values() for m in _messages(v)]
    if isinstance(value, list):
        return [m for v in value for m in _messages(v)]
    return [str(value)]


def _key_text(kind: Kind, raw: dict) -> str:
    """The record's natural key as the file wrote it, to say which record a message is about."""
    for identity_field in kind.identity:
        value = raw.get("name" if identity_field == "customer+name" else identity_field)
        if isinstance(value, str) and value:
            return value
    return ""


def _target_words(target: str) -> str:
    return TARGETS[target].words


__all__ = ["KINDS", "Options", "count_records", "load"]
