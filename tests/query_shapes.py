"""The query shapes the app sends, and whether a declared index serves each (issue 14).

No MongoDB server runs here, so "every screen is index-served on MongoDB" is proven the
other way round: while a flow runs, every read the app sends to mongomock (and to the
embedded store's vendored mongomock) is recorded as a *shape* — which fields it tests
and how (equality, range, an unanchored pattern…), its sort and its skip — and each
shape is checked against the indexes the models declare, in equality–sort–range order,
as MongoDB's planner would use them.

An index serves a shape when its keys are, in order: the shape's equality fields (in any
order among themselves), then its sort keys (in order and direction, or all reversed),
then at most its range fields; and it skips at most MAX_SKIP rows. A filter on `_id`
alone is always served, and so is a plain read of a whole collection in natural order
(an export, a snapshot load: it wants every document). `$or` is served when each
branch (with the fields around it) is.
"""

from __future__ import annotations

import contextlib
import re
import threading
import typing as t
from dataclasses import dataclass, field

from mongoengine.base.common import _document_registry

from admin_app.store import sharding

EQUALITY, RANGE, SCAN = "equality", "range", "scan"
# The deepest skip a served query makes: a skip walks every index entry it passes
# (list views stop at page 50 of 20, views/references.py).
MAX_SKIP = 1000
_RANGE_OPS = {"$gt", "$gte", "$lt", "$lte", "$ne", "$nin", "$exists", "$type"}
_EQUALITY_OPS = {"$eq", "$in", "$all"}
# A regular expression an index can bound: anchored, case-sensitive, a literal prefix.
_ANCHORED = re.compile(r"^\^[^.*+?()\[\]{}|\\$^]")


@dataclass(frozen=True)
class Shape:
    """One read: the collection, each field tested and how, the sort, the skip."""

    collection: str
    fields: tuple[tuple[str, str], ...]  # (field, EQUALITY / RANGE / SCAN), sorted
    sort: tuple[tuple[str, int], ...] = ()
    branches: tuple[tuple[tuple[str, str], ...], ...] = ()  # an $or's alternatives
    skip: int = 0

    def __str__(self) -> str:
        parts = [f"{name}:{how}" for name, how in self.fields]
        if self.branches:
            parts.append("$or[" + " | ".join(",".join(f"{n}:{h}" for n, h in b)
                                             for b in self.branches) + "]")
        text = f"{self.collection} {{{', '.join(parts)}}}"
        if self.sort:
            text += " sort " + ",".join(f"{'-' if d < 0 else ''}{k}" for k, d in self.sort)
        if self.skip:
            text += f" skip {self.skip}"
        return text


def _how(condition: t.Any) -> str:
    if not isinstance(condition, dict) or not any(str(k).startswith("$") for k in condition):
        return EQUALITY  # a value (a list or a sub-document is compared whole)
    ops = set(condition) - {"$options"}
    if "$regex" in ops:
        pattern = condition["$regex"]
        pattern = pattern.pattern if hasattr(pattern, "pattern") else str(pattern)
        literal = "i" not in str(condition.get("$options", "")) \
            and not (getattr(condition["$regex"], "flags", 0) & re.IGNORECASE)
        return RANGE if literal and _ANCHORED.match(pattern) else SCAN
    if ops <= _EQUALITY_OPS:
        return EQUALITY
    if ops <= _RANGE_OPS | _EQUALITY_OPS:
        return RANGE
    return SCAN  # $where, $elemMatch, $not, $expr…: nothing we promise an index for


def _fields(query: t.Mapping[str, t.Any]) -> tuple[list[tuple[str, str]], list[dict]]:
    """(field, how) for each plain condition, and the $or lists found ($and flattened)."""
    found: list[tuple[str, str]] = []
    alternatives: list[dict] = []
    for key, condition in query.items():
        if key == "$and":
            for part in condition:
                more, ors = _fields(part)
                found += more
                alternatives += ors
        elif key == "$or":
            alternatives.append(condition)
        elif key.startswith("$"):
            found.append((key, SCAN))
        elif hasattr(condition, "pattern"):  # a compiled regular expression as the value
            found.append((key, _how({"$regex": condition})))
        else:
            found.append((key, _how(condition)))
    return found, alternatives


def shape_of(collection: str, query: t.Mapping[str, t.Any] | None,
             sort: t.Any = None, skip: int = 0) -> Shape:
    found, alternatives = _fields(query or {})
    branches: list[tuple[tuple[str, str], ...]] = []
    for alternative in alternatives:  # one $or per query is all the app sends
        for branch in alternative:
            more, _ = _fields(branch)
            branches.append(tuple(sorted(set(more))))
    if isinstance(sort, dict):
        sort = list(sort.items())
    return Shape(collection, tuple(sorted(set(found))), tuple(tuple(s) for s in sort or ()),
                 tuple(branches), skip or 0)


# -- the declared indexes --------------------------------------------------------------


def declared_indexes() -> dict[str, list[tuple[tuple[str, int], ...]]]:
    """Collection → the key lists its MongoEngine documents declare (meta indexes,
    unique fields), as MongoEngine creates them on MongoDB."""
    indexes: dict[str, list[tuple[tuple[str, int], ...]]] = {}
    for document in list(_document_registry.values()):
        meta = getattr(document, "_meta", {})
        if meta.get("abstract") or not meta.get("collection"):
            continue
        for spec in meta.get("index_specs") or ():
            keys = tuple((name, int(direction)) for name, direction in spec["fields"])
            listed = indexes.setdefault(meta["collection"], [])
            if keys not in listed:
                listed.append(keys)
    return indexes


def _served_plain(fields: t.Sequence[tuple[str, str]], sort: t.Sequence[tuple[str, int]],
                  index: t.Sequence[tuple[str, int]]) -> bool:
    if any(how == SCAN for _, how in fields):
        return False
    equal = {name for name, how in fields if how == EQUALITY}
    ranges = {name for name, how in fields if how == RANGE}
    keys = list(index)
    if {name for name, _ in keys[:len(equal)]} != equal:
        return False
    rest = keys[len(equal):]
    # Sort keys that are also equality fields are constant: they need no index order.
    order = [(name, direction) for name, direction in sort if name not in equal]
    if order:
        head = rest[:len(order)]
        flipped = [(name, -direction) for name, direction in order]
        if head != order and head != flipped:
            return False
        rest = rest[len(order):]
        # A range on a sort key bounds the walk along that key: the index serves it.
        ranges -= {name for name, _ in order}
    return ranges <= {name for name, _ in rest[:len(ranges)]}


def served_by(shape: Shape, indexes: t.Sequence[t.Sequence[tuple[str, int]]]) -> bool:
    """Whether one declared index serves `shape` in equality–sort–range order."""
    if shape.skip > MAX_SKIP:
        return False
    fields = dict(shape.fields)
    if "_id" in fields and fields["_id"] == EQUALITY:
        return True  # one document, or a list of them, by primary key
    if not shape.branches:
        if not shape.fields and not shape.sort:
            return True  # the whole collection, in natural order: nothing to narrow
        return any(_served_plain(shape.fields, shape.sort, index) for index in indexes)
    return all(
        dict(branch).get("_id") == EQUALITY
        or any(_served_plain(sorted(set(shape.fields) | set(branch)), shape.sort, index)
               for index in indexes)
        for branch in shape.branches)


# -- recording -------------------------------------------------------------------------


@dataclass
class Recorder:
    """The shapes sent while it is installed, each with the flow that sent it first."""

    flow: str = "setup"
    seen: dict[Shape, str] = field(default_factory=dict)
    counts: list[tuple[Shape, str]] = field(default_factory=list)
    # Each count's limit (None: counted to the end), with its shape and flow.
    count_limits: list[tuple[Shape, str, int | None]] = field(default_factory=list)
    flows: set[str] = field(default_factory=set)  # every flow that sent anything
    sent_by: dict[Shape, set[str]] = field(default_factory=dict)  # every flow, per shape

    def add(self, shape: Shape, count: bool = False, limit: int | None = None) -> None:
        self.seen.setdefault(shape, self.flow)
        self.sent_by.setdefault(shape, set()).add(self.flow)
        self.flows.add(self.flow)
        if count:
            self.counts.append((shape, self.flow))
            self.count_limits.append((shape, self.flow, limit))

    @contextlib.contextmanager
    def running(self, flow: str) -> t.Iterator[None]:
        self.flow = flow
        yield
        self.flow = "between flows"


_inside = threading.local()  # set while a recorded call runs its own inner reads


def _quiet(method: t.Callable[..., t.Any], record: t.Callable[..., None]) -> t.Callable[..., t.Any]:
    def wrapper(self: t.Any, *args: t.Any, **kwargs: t.Any) -> t.Any:
        if getattr(_inside, "busy", False):
            return method(self, *args, **kwargs)
        record(self, *args, **kwargs)
        _inside.busy = True
        try:
            return method(self, *args, **kwargs)
        finally:
            _inside.busy = False
    return wrapper


def _patches(recorder: Recorder, module: t.Any) -> dict[tuple[t.Any, str], t.Callable]:
    collection_class, cursor_class = module.collection.Collection, module.collection.Cursor

    def on_cursor(cursor: t.Any, *_a: t.Any, **_k: t.Any) -> None:
        if getattr(cursor, "_recorded_for", None) is cursor._factory:
            return  # called again for each document of the same query
        cursor._recorded_for = cursor._factory
        recorder.add(shape_of(cursor.collection.name, cursor._spec, cursor._sort,
                              cursor._skip))

    def on_filter(collection: t.Any, filter: t.Any = None, *_a: t.Any, **_k: t.Any) -> None:
        recorder.add(shape_of(collection.name, filter if isinstance(filter, dict) else
                              {"_id": filter}))

    def on_count(collection: t.Any, filter: t.Any = None, *_a: t.Any, **kwargs: t.Any) -> None:
        recorder.add(shape_of(collection.name, filter, skip=kwargs.get("skip", 0)), count=True,
                     limit=kwargs.get("limit"))

    def on_estimate(collection: t.Any, *_a: t.Any, **_k: t.Any) -> None:
        recorder.add(shape_of(collection.name, {}), count=True)

    def on_modify(collection: t.Any, filter: t.Any, *_a: t.Any, **kwargs: t.Any) -> None:
        recorder.add(shape_of(collection.name, filter, kwargs.get("sort")))

    def on_distinct(collection: t.Any, key: str, filter: t.Any = None, *_a: t.Any,
                    **_k: t.Any) -> None:
        recorder.add(shape_of(collection.name, filter))

    def on_aggregate(collection: t.Any, pipeline: t.Sequence[dict], *_a: t.Any,
                     **_k: t.Any) -> None:
        first = pipeline[0] if pipeline else {}
        sort = pipeline[1].get("$sort") if len(pipeline) > 1 else None
        recorder.add(shape_of(collection.name, first.get("$match", {}), sort))

    patches: dict[tuple[t.Any, str], t.Callable] = {
        (cursor_class, "_compute_results"): on_cursor,
        (collection_class, "count_documents"): on_count,
        (collection_class, "estimated_document_count"): on_estimate,
        (collection_class, "distinct"): on_distinct,
        (collection_class, "aggregate"): on_aggregate,
    }
    for name in ("update_one", "update_many", "replace_one", "delete_one", "delete_many"):
        patches[(collection_class, name)] = on_filter
    for name in ("find_one_and_update", "find_one_and_replace", "find_one_and_delete"):
        patches[(collection_class, name)] = on_modify
    return patches


@contextlib.contextmanager
def recording() -> t.Iterator[Recorder]:
    """Record every read sent to mongomock or the embedded store while inside."""
    import mongomock
    from litemongo._vendor import mongomock as vendored

    recorder = Recorder()
    originals = []
    for module in (mongomock, vendored):
        for (owner, name), record in _patches(recorder, module).items():
            method = owner.__dict__[name]
            originals.append((owner, name, method))
            setattr(owner, name, _quiet(method, record))
    try:
        yield recorder
    finally:
        for owner, name, method in reversed(originals):
            setattr(owner, name, method)


def unserved(recorder: Recorder, allowed: t.Mapping[Shape, str] | t.Collection[Shape] = (),
             ) -> list[str]:
    """A line per recorded shape no declared index serves (and not allowed)."""
    indexes = declared_indexes()
    return [f"{shape}  (from: {flow})" for shape, flow in recorder.seen.items()
            if shape not in allowed and not served_by(shape, indexes.get(shape.collection, []))]


# -- on a sharded cluster ----------------------------------------------------------------

TARGETED, BROADCAST = "targeted", "broadcast"


def routing(shape: Shape, placements: t.Mapping[str, sharding.Placement] | None = None) -> str:
    """TARGETED when mongos can send `shape` to the shards owning the values it pins
    (every shard-key field by equality or `$in`, or each `$or` branch does so with the
    fields around it; any shape of an unsharded collection), else BROADCAST."""
    where = sharding.placement(shape.collection) if placements is None \
        else placements[shape.collection]
    pinned = {name for name, how in shape.fields if how == EQUALITY}
    if where.targeted(pinned):
        return TARGETED
    if shape.branches and all(
            where.targeted(pinned | {name for name, how in branch if how == EQUALITY})
            for branch in shape.branches):
        return TARGETED
    return BROADCAST


def filter_fields(shape: Shape) -> tuple[str, ...]:
    """The fields a shape's filter tests, however: what a broadcast's reason is keyed by
    (`sharding.Placement.broadcasts`), whatever the sort column or the skip."""
    return tuple(sorted({name for name, _ in shape.fields}))


def routing_table(recorder: Recorder) -> list[str]:
    """One line per recorded shape: targeted or broadcast, and the flows that sent it."""
    return [f"{routing(shape):9}  {shape}  (from: {', '.join(sorted(recorder.sent_by[shape]))})"
            for shape in sorted(recorder.seen, key=lambda s: (s.collection, str(s)))]


def unjustified_broadcasts(recorder: Recorder, hot: t.Callable[[str], bool]) -> list[str]:
    """A line per shape a hot flow sends to every shard with no reason declared for it."""
    problems = []
    for shape, flows in recorder.sent_by.items():
        hot_flows = sorted(flow for flow in flows if hot(flow))
        if not hot_flows or routing(shape) == TARGETED:
            continue
        if filter_fields(shape) not in sharding.placement(shape.collection).broadcasts:
            problems.append(f"{shape}  (from: {', '.join(hot_flows)})")
    return problems
