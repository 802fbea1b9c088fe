"""The load engine shared by `flask seed load` and the upload page.

Records are validated with schemas built from the live dictionary, their references
resolved through natural keys, then written in batches of BATCH through the record write
path (`records.batch`), which stamps them and logs their history in the same batches: a
load of 100,000 records must cost about what inserting them costs. Contracts and SLAs are
no records (no history, no rulebook): they are written here, straight to their collections.

Nothing is ever deleted, and an update sets only the fields the file gives, so a field the
file leaves out keeps its value. So a mandatory field is required of a new record only: an
update is checked by the write path on the record as it will be (the stored values plus
the file's), as a form save is.
"""

from __future__ import annotations

import time
import typing as t
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial

from bson import ObjectId
from marshmallow import ValidationError

from .. import dictionary, records
from ..dictionary.values import to_storage
from ..records import upkeep
from ..records.trace import Trace
from ..store import disk_full
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


class _Row(t.NamedTuple):
    """A record ready to write: its values, the stored record it updates (None: new), and
    how to report a failure of it."""

    values: dict
    existing: t.Any
    fail: t.Callable[..., Failure]


class LoadStopped(Exception):
    """The store failed part-way through a load (a full disk): `report` counts what had
    been written before it; `__cause__` is the store's error."""

    def __init__(self, report: Report) -> None:
        super().__init__("the load stopped part-way")
        self.report = report


class _Reject(Exception):
    def __init__(self, failures: list[Failure]) -> None:
        self.failures = failures


def load(paths: t.Sequence[t.Any], options: Options = Options(),
         progress: t.Callable[[int], None] | None = None, job: t.Any = None) -> Report:
    """Load seed files. With `atomic`, a first pass checks everything and writes only if
    no record failed. `job`: the upload job running this load (None: the command line),
    which the records' history names."""
    started = time.perf_counter()
    trace = _trace(job)
    try:
        sources = [open_source(p) for p in paths]
    except SeedFileError as exc:
        return Report(dry_run=options.dry_run, file_error=str(exc))
    if options.atomic and not options.dry_run:
        check = _Run(sources, replace(options, dry_run=True), progress, trace).run()
        if not check.ok:
            check.atomic_refused = True
            check.seconds = time.perf_counter() - started
            return check
    if not options.dry_run:
        upkeep.bring_up_to_date()  # older stores: the Archive flag and search keys
    report = _Run(sources, options, progress, trace).run()
    report.seconds = time.perf_counter() - started
    return report


def _trace(job: t.Any) -> Trace:
    """Who the history says loaded the records: the upload job, or the command line (each
    load a batch of its own)."""
    if job is None:
        return Trace(records.trace.COMMAND_LINE, records.trace.IMPORT, batch=uuid.uuid4().hex)
    return Trace(records.trace.import_job(job), records.trace.IMPORT, batch=str(job))


def count_records(paths: t.Sequence[t.Any]) -> int:
    return sum(open_source(p).count() for p in paths)


class _Run:
    def __init__(self, sources: list[Source], options: Options,
                 progress: t.Callable[[int], None] | None, trace: Trace) -> None:
        self.sources = sources
        self.options = options
        self.trace = trace
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
        except LoadStopped:
            raise
        except Exception as exc:
            if disk_full(exc):  # outside a record batch (Contracts, SLAs, an upgrade)
                raise LoadStopped(self.report) from exc
            raise
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
        by_kind: dict[str, list[_Row]] = {}
        for item, kind, values, fail in checked:
            try:
                values, existing = self._settle(item, kind, values, fail, keys)
            except _Reject as rejected:
                self.report.fail(rejected.failures)
                continue
            by_kind.setdefault(kind.name, []).append(_Row(values, existing, fail))
        keys.commit()
        for kind_name, rows in by_kind.items():
            kind = BY_NAME[kind_name]
            if kind.entity is None:
                self._write_catalog(kind, rows)
            else:
                self._write(kind, rows)
        self.progress(len(items))

    def _write(self, kind: Kind, rows: list[_Row]) -> None:
        """Records, through the write path: new ones created, the others merged field by
        field (the write path counts those that change nothing); what it refuses fails."""
        creates: list[_Row] = []
        # Each stored record once per write: two records of a file may name one stored
        # record by different keys (an email, a name), and both are written, in order.
        rounds: list[dict[t.Any, _Row]] = [{}]
        for row in rows:
            if row.existing is None:
                creates.append(row)
            elif self.options.on_existing == "skip":
                self.report.count(kind.name, "skipped")
            else:
                free = next((r for r in rounds if row.existing not in r), None)
                if free is None:
                    rounds.append(free := {})
                free[row.existing] = row
        for number, updates in enumerate(rounds):
            self._write_batch(kind, creates if number == 0 else [], updates)

    def _write_batch(self, kind: Kind, creates: list[_Row], updates: dict[t.Any, _Row]) -> None:
        if not (creates or updates):
            return
        try:
            outcome = records.batch.write(
                t.cast(str, kind.entity), [row.values for row in creates],
                [(oid, row.values) for oid, row in updates.items()], self.trace,
                dry_run=self.options.dry_run)
        except records.batch.Interrupted as stopped:
            self._count(kind, stopped.outcome)
            raise LoadStopped(self.report) from stopped.__cause__
        for position, problems in sorted(outcome.refused_creates.items()):
            self._refused(creates[position], problems)
        for oid, problems in outcome.refused_updates.items():
            self._refused(updates[oid], problems)
        for oid in outcome.missing:  # deleted, or rewritten again and again, meanwhile
            self.report.fail([updates[oid].fail(
                "", "its record was deleted or kept changing while the load wrote it; load "
                    "the file again.")])
        self._count(kind, outcome)

    def _count(self, kind: Kind, outcome: records.batch.Outcome) -> None:
        self.report.count(kind.name, "created", len(outcome.created))
        self.report.count(kind.name, "updated", len(outcome.updated))
        self.report.count(kind.name, "unchanged", outcome.unchanged)

    def _refused(self, row: _Row, problems: list[records.Problem]) -> None:
        self.report.fail([row.fail(p.label, p.message) for p in problems])

    def _write_catalog(self, kind: Kind, rows: list[_Row]) -> None:
        """Contracts and SLAs: short lists of terms, not records (no revision, no history)."""
        collection = kind.model._get_collection()
        matched = [row.existing for row in rows if row.existing is not None]
        current = {d["_id"]: d for d in collection.find({"_id": {"$in": matched}})} \
            if matched else {}
        creates, updates = [], []
        for values, existing, _fail in rows:
            if existing is None:
                creates.append(values)
            elif self.options.on_existing == "skip":
                self.report.count(kind.name, "skipped")
            else:
                stored = current.get(existing, {})
                changed = {k: v for k, v in values.items() if stored.get(k) != v}
                if changed:
                    kept = {} if "archived" in stored else {"archived": False}  # older stores
                    updates.append((existing, {**changed, **kept, "updated_at": self.now}))
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
                keys: BatchKeys) -> tuple[dict, t.Any]:
        """Resolve references, then decide: new record (which must hold every mandatory
        field), existing one (whose stored values count), or a duplicate."""
        self._resolve(kind, values, fail, keys, item.position)
        key = identity(kind, values)
        if key is None:
            return self._creating(kind, values, fail), None
        words = key.field.replace("+", " and ")
        first, existing = keys.existing(kind, key)
        if existing is AMBIGUOUS:
            raise _Reject([fail("", f"its {words} matches more than one existing record; add an "
                                    f"external_id to say which.")])
        if first is not None:
            raise _Reject([fail("", f"duplicate of {first} (same {words}) in this load.")])
        if existing is None:
            values = self._creating(kind, values, fail)
        keys.register(kind, values, existing or values["_id"], item.position)
        return values, existing

    def _creating(self, kind: Kind, values: dict, fail: t.Callable[..., Failure]) -> dict:
        """A new record: refused, as a form refuses it, when it lacks a mandatory value (the
        schemas leave that to here: an update keeps the stored values)."""
        if kind.entity is not None:
            missing = records.write.lacking(kind.entity, values, self.snapshot)
            if missing:
                raise _Reject([fail(p.label, p.message)
                               for p in sorted(missing, key=lambda p: p.field)])
        return self._new_document(kind, values)

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
                     if f.kind.is_reference},
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
            if not definition.kind.is_reference:
                values[name] = to_storage(definition, value)
                continue
            found = keys.reference(definition.target, value)
            if found is None and definition.target == "org" and self.options.create_missing_orgs:
                found = self._create_org(value, keys, position)
                if isinstance(found, list):
                    problems.append(fail(definition.label, f"{value!r} does not match any Org, "
                                         f"and a new Org cannot be made of that name alone: "
                                         + " ".join(p.message for p in found)))
                    continue
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

    def _create_org(self, name: str, keys: BatchKeys,
                    position: str) -> ObjectId | list[records.Problem]:
        """The Org a customer names that no record is (--create-missing-orgs), made now so
        the customers of this batch can refer to it; or what the rulebook says against it."""
        kind = BY_NAME["orgs"]
        org = self._new_document(kind, {"name": name, "level": "Org"})
        outcome = records.batch.write("customer", [org], [], self.trace,
                                      dry_run=self.options.dry_run)
        if outcome.refused_creates:
            return outcome.refused_creates[0]
        keys.register(kind, org, org["_id"], position)
        self.report.count("orgs", "created")
        return t.cast(ObjectId, org["_id"])

    def _new_document(self, kind: Kind, values: dict) -> dict:
        """A new record's values with its id chosen now (later records may refer to it);
        a Contract or an SLA also gets the stamps the write path gives records."""
        document = {"_id": ObjectId(), **values}
        if kind.entity is None:
            document.update(archived=values.get("archived", False), updated_at=self.now)
        return {k: v for k, v in document.items() if v is not None}


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
