"""Natural keys → records, for create-or-update and for references, a batch at a time.

A batch first says every key it will ask about, then each (kind, field) is asked once:
of the load's own keys (`LoadKeys`, on disk), then of the store for the keys the load
has not met (`$in` queries: hash-indexed on the embedded store, a B-tree on MongoDB).
So a record this load has met wins: a customer naming "Acme" means the Acme of its own
file, even if the store holds another. A store that held no record of a kind when the
load began is not asked about that kind: only this load can have made one. Records
earlier in the same batch are seen through the batch's own entries. Nothing outlives a
batch in memory, so a load's memory does not grow with its file.

mongomock has no indexes, so there every `$in` is a scan comparing each record with
each listed value; with it the store's keys are read once per load instead (mongomock
holds the whole store in memory anyway, and it serves tests only).

Emails are stored lower-cased (`dictionary.values`); the text as written is asked too,
for addresses stored before that rule.
"""

from __future__ import annotations

import typing as t
from collections import defaultdict

from bson import ObjectId

from .. import store
from ..targets import TARGETS
from .kinds import BY_NAME, KINDS, Kind
from .load_keys import Entry, LoadKeys

AMBIGUOUS = object()
IN_CHUNK = 100  # values per `$in` query
# A reference names its record by one of these, tried in this order.
REFERENCE_FIELDS = ("external_id", "email", "name")
TARGET_KINDS = {name: target.kinds for name, target in TARGETS.items()}
# How a reference may name a record of each kind (a contact: by its external_id only).
NAMED_BY = {kind.name: tuple(f for f in REFERENCE_FIELDS if f in kind.identity)
            for kind in KINDS}
# For each target, field by field: the kinds whose records a reference may name that way.
_TARGET_FIELDS = {target: tuple((field, tuple(k for k in kinds if field in NAMED_BY[k]))
                                for field in REFERENCE_FIELDS)
                  for target, kinds in TARGET_KINDS.items()}
_TARGETS_OF = {kind.name: tuple(t for t, kinds in TARGET_KINDS.items() if kind.name in kinds)
               for kind in KINDS}


class Key(t.NamedTuple):
    """How a record is identified: `field` as messages say it, looked up as `lookup`."""

    field: str  # "email", or "customer+name" for a contact
    lookup: str  # the stored field holding the key
    key: str
    scope: str  # the contact's customer, or ""


def normalise(field: str, value: t.Any) -> str | None:
    if value is None or value == "":
        return None
    if field == "email" and isinstance(value, str):
        return value.strip().lower()
    return value


def _keys(kind: Kind, values: t.Mapping[str, t.Any]) -> t.Iterator[Key]:
    """Every key the record carries, the one that identifies it first."""
    for field in kind.identity:
        if field == "customer+name":
            customer, name = values.get("customer"), values.get("name")
            if customer is not None and name:
                yield Key(field, "name", name, str(customer))
            continue
        key = normalise(field, values.get(field))
        if key is not None:
            yield Key(field, field, key, "")


def identity(kind: Kind, values: t.Mapping[str, t.Any]) -> Key | None:
    return next(_keys(kind, values), None)


class Finder:
    """One load's view of who is who; ask it for a `BatchKeys` per batch."""

    def __init__(self) -> None:
        self.load_keys = LoadKeys()
        self.unindexed: dict[tuple[str, str], dict[str, list[Entry]]] = {}  # mongomock only
        # Asked before anything is written: afterwards the store holds this load's records.
        self.store_had = {kind.name: _store_has(kind) for kind in KINDS}

    def stored(self, kind: Kind, field: str,
               wanted: dict[str, set[str]]) -> t.Iterable[tuple[str, Entry]]:
        """Stored records of `kind` whose `field` is one of the wanted keys."""
        if not store.in_memory():
            return _store_entries(kind, field, wanted)
        if (kind.name, field) not in self.unindexed:
            every: dict[str, list[Entry]] = defaultdict(list)
            for key, entry in _store_entries(kind, field, None):
                every[key].append(entry)
            self.unindexed[(kind.name, field)] = every
        every = self.unindexed[(kind.name, field)]
        return [(key, entry) for key in wanted for entry in every.get(key, ())]

    def batch(self) -> BatchKeys:
        return BatchKeys(self)

    def close(self) -> None:
        self.load_keys.close()


class BatchKeys:
    """The keys one batch asks about, fetched together, plus the records it has met."""

    def __init__(self, finder: Finder) -> None:
        self.finder = finder
        self.pending: dict[tuple[str, str], dict[str, set[str]]] = defaultdict(dict)
        self.fetched: dict[tuple[str, str], dict[str, dict[ObjectId, Entry]]] = \
            defaultdict(dict)
        self.local: dict[tuple[str, str, str], dict[ObjectId, Entry]] = defaultdict(dict)
        self.rows: list[tuple[str, str, str, str, ObjectId, str]] = []
        self.asked: set[tuple[str, t.Any]] = set()  # (target, text) wanted already
        self.answers: dict[str, dict[str, t.Any]] = defaultdict(dict)  # target → text → id

    # -- saying what will be asked -------------------------------------------------------

    def want(self, kind: str, field: str, text: t.Any) -> None:
        key = normalise(field, text)
        if isinstance(key, str) and key not in self.fetched[(kind, field)]:
            self.pending[(kind, field)].setdefault(key, set()).add(text)

    def want_record(self, kind: Kind, values: t.Mapping[str, t.Any],
                    references: t.Mapping[str, str]) -> None:
        """Before the batch's questions: this record's identity and the texts it refers by."""
        key = identity(kind, values)
        if key is not None:
            self.want(kind.name, key.lookup, key.key)
        for name, target in references.items():
            text = values.get(name)
            if text is None or (target, text) in self.asked:
                continue
            self.asked.add((target, text))
            for field, kind_names in _TARGET_FIELDS[target]:
                for kind_name in kind_names:
                    self.want(kind_name, field, text)

    # -- asking --------------------------------------------------------------------------

    def reference(self, target: str, text: str) -> t.Any:
        """The record `text` names (by external id, email or name), None, or AMBIGUOUS."""
        answers = self.answers[target]
        if text not in answers:
            answers[text] = self._reference(target, text)
        return answers[text]

    def _reference(self, target: str, text: str) -> t.Any:
        for field, kind_names in _TARGET_FIELDS[target]:
            hits = {entry.oid for kind_name in kind_names
                    for entry in self._entries(kind_name, field, text)}
            if hits:
                return hits.pop() if len(hits) == 1 else AMBIGUOUS
        return None

    def existing(self, kind: Kind, key: Key) -> tuple[str | None, t.Any]:
        """(where this load met a record with this key, or None; its id, None or AMBIGUOUS)."""
        entries = [e for e in self._entries(kind.name, key.lookup, key.key)
                   if e.scope == key.scope]
        met = next((e.position for e in entries if e.position is not None), None)
        if met is not None:
            return met, None
        if len(entries) > 1:
            return None, AMBIGUOUS
        return None, entries[0].oid if entries else None

    def register(self, kind: Kind, values: t.Mapping[str, t.Any], oid: ObjectId,
                 position: str) -> None:
        """This load has met the record: later records see it as theirs."""
        for key in _keys(kind, values):
            self.local[(kind.name, key.lookup, key.key)][oid] = Entry(oid, key.scope, position)
            self.rows.append((kind.name, key.lookup, key.key, key.scope, oid, position))
        for target in _TARGETS_OF[kind.name]:  # answers naming this kind may change now
            self.answers.pop(target, None)

    def commit(self) -> None:
        if self.rows:
            self.finder.load_keys.add(self.rows)

    # -- fetching ------------------------------------------------------------------------

    def _entries(self, kind: str, field: str, text: t.Any) -> t.Iterable[Entry]:
        key = normalise(field, text)
        if not isinstance(key, str):
            return ()
        found = self.fetched[(kind, field)].get(key)
        if found is None:
            self.want(kind, field, text)
            self._fetch()
            found = self.fetched[(kind, field)][key]
        local = self.local.get((kind, field, key))
        return ({**found, **local} if local else found).values()

    def _fetch(self) -> None:
        """The load's own records first; the store only for keys the load has not met."""
        for (kind_name, field), wanted in self.pending.items():
            found = self.fetched[(kind_name, field)]
            for key in wanted:
                found[key] = {}
            for key, entries in self.finder.load_keys.find(kind_name, field, wanted).items():
                found[key].update((e.oid, e) for e in entries)
            unmet = {key: texts for key, texts in wanted.items() if not found[key]}
            if unmet and self.finder.store_had[kind_name]:
                for key, entry in self.finder.stored(BY_NAME[kind_name], field, unmet):
                    if key in found:
                        found[key][entry.oid] = entry
        self.pending.clear()


def _store_has(kind: Kind) -> bool:
    query = {"level": kind.level} if kind.level else {}
    return kind.model._get_collection().find_one(query, {"_id": 1}) is not None


def _store_entries(kind: Kind, field: str,
                   wanted: dict[str, set[str]] | None) -> t.Iterator[tuple[str, Entry]]:
    """Stored records of `kind` whose `field` is one of the wanted keys (None: any)."""
    collection = kind.model._get_collection()
    projection = {field: 1, "level": 1, "customer": 1}
    if wanted is None:
        queries: t.Iterable[dict] = [{field: {"$exists": True}}]
    else:
        texts = sorted({text for variants in wanted.values() for text in variants}
                       | set(wanted))
        # The Level and the Archive flag (any value: an archived record is still who it
        # is; None for records an older version stored without it) come first, so the
        # (level, archived, name|email) index serves a name or an email on MongoDB;
        # external ids and contacts' emails have indexes of their own. The embedded
        # store's `$in` compares each candidate with every listed value: short lists.
        narrowing = _scope(kind, field)
        queries = ({**narrowing, field: {"$in": texts[i:i + IN_CHUNK]}}
                   for i in range(0, len(texts), IN_CHUNK))
    for query in queries:
        for doc in collection.find(query, projection):
            key = normalise(field, doc.get(field))
            if not isinstance(key, str) or (kind.level and doc.get("level") != kind.level):
                continue
            scope = str(doc.get("customer", "")) if "customer+name" in kind.identity \
                and field == "name" else ""
            yield key, Entry(doc["_id"], scope, None)


def _scope(kind: Kind, field: str) -> dict[str, t.Any]:
    """The equalities that put an identity look-up in its index (models/records.py)."""
    if kind.entity and field in ("name", "email") and (kind.level or field == "name"):
        any_flag = {"archived": {"$in": [False, True, None]}}
        return {"level": kind.level, **any_flag} if kind.level else any_flag
    return {}
