"""What a list request may ask for (its query arguments), as a plan of the read it sends
to the store, and as OpenAPI parameters for the description: one module decides both,
so the description says exactly what the list accepts.

The arguments, for any live field of the entity (the dictionary's, read per request):

- `name=value`: equality; the value is read by the field's type (`from_text`, as a form
  reads it), so a wrong value is a 400 naming the field by its current label with the
  rulebook's message. A blank value finds records without one.
- the argument repeated (`department=Finance&department=Sales`): any of the values
  (`in`). Repeating, not commas, because a value may hold a comma ("London, UK").
- `name[gt]`, `[gte]`, `[lt]`, `[lte]`: a range, on dates and numbers.
- `search=ada lov`: every word typed starts a word of a searchable field (the search
  keys, `models/search.py`), as the list screens' search box.
- `sort=name` or `sort=-name`: one of the columns a list index orders (models/records.py
  `LIST_INDEXES`); by name when not given. Ties are ordered by id.
- `archived=true`: the Archived tab (the default is current records); `level=Org`
  for customers (the default is every Level). Both are fields like any other.

Which index serves a list: the Level and Archive flag (and, when asked, the search or a
contact's record) by equality, then the sort column, then `_id`. A condition on one of
those goes to the store with the read; any other condition (a field with no index, or
one whose index orders another column) is checked here, on at most SCAN records per
page, walked in the sort's index order. A page so filtered may hold fewer than `limit`
records, even none, while the Link header still names the next page: a client follows
the Link until there is none, and each request costs at most SCAN records, whatever
the store's size. Filtering on the sort column (`department=Finance&sort=department`)
is answered from the index with full pages.

Nothing from the request is ever a query operator: argument names are field names of
the dictionary, values are what the field's type reads, and the cursor's value is a
plain value or a refusal.
"""

from __future__ import annotations

import math
import re
import typing as t
from dataclasses import dataclass, field
from datetime import datetime

from bson import ObjectId
from bson.errors import InvalidId

from .. import dictionary
from ..dictionary.rules import Invalid
from ..dictionary.values import to_storage
from ..models import search
from ..models.records import LIST_INDEXES
from ..targets import TARGETS
from . import paging
from .paging import LONGEST_PAGE, PAGE
from .problems import Problem, field_error
from .spec import plain

# The arguments the list itself reads (records_api.py): paging and the fields returned.
PAGING = ("after", "limit", "fields")
# The arguments this module reads besides field names.
OWN = ("search", "sort")
DEFAULT_SORT = "name"
# Range operators, as `field[op]`.
RANGES = {"gt": "$gt", "gte": "$gte", "lt": "$lt", "lte": "$lte"}
_RANGED = re.compile(r"(?P<name>[^\[\]]+)\[(?P<op>[a-z]+)\]")
# The most records one page reads when a condition has no index to go to the store with.
SCAN = 500
# The types a cursor's value may be (what a sort column stores): never a document.
_PLAIN = (str, int, float, bool, datetime, ObjectId, type(None))


@dataclass
class Condition:
    """What one argument (or the search) asks of a record: the store's form of it, on one
    key, and the same test in Python for when no index lets the store do it."""

    key: str
    ranged: bool  # a range (or both a range and values) rather than values only
    ops: dict[str, t.Any]  # {"$in": [...]} and / or {"$gte": …}: operators on `key`
    test: t.Callable[[t.Mapping[str, t.Any]], bool]
    fragment: dict[str, t.Any] = field(default_factory=dict)  # the search's own filter

    def query(self) -> dict[str, t.Any]:
        return self.fragment or {self.key: self.ops}


@dataclass
class Plan:
    """A list read: the conditions the store applies (its index serves them, in its
    order), those checked here, the sort column and direction."""

    sort: str
    direction: int
    pushed: list[Condition]
    checked: list[Condition]

    @property
    def order(self) -> list[tuple[str, int]]:
        return [(self.sort, self.direction), ("_id", self.direction)]

    def holds(self, document: t.Mapping[str, t.Any]) -> bool:
        return all(condition.test(document) for condition in self.checked)

    def query(self, after: tuple[t.Any, ObjectId] | None = None) -> dict[str, t.Any]:
        """The store's filter; after a cursor, the records past (value, id) in the sort's
        order: the same value and a later id, or a later value (an `$or` whose branches
        each the index serves). No value (null) sorts first, as MongoDB sorts it."""
        query: dict[str, t.Any] = {}
        on_sort: dict[str, t.Any] = {}
        for condition in self.pushed:
            if condition.key == self.sort and not condition.fragment:
                on_sort = condition.ops
            else:
                query.update(condition.query())
        if after is None:
            if on_sort:
                query[self.sort] = on_sort
            return query
        value, oid = after
        later = "$gt" if self.direction > 0 else "$lt"
        branches: list[dict[str, t.Any]] = [{self.sort: value, "_id": {later: oid}}]
        if value is None:
            if self.direction > 0:  # every value comes after null
                branches.append({self.sort: {**on_sort, "$ne": None}})
        else:
            branches.append({self.sort: {**on_sort, later: value}})
            if self.direction < 0 and (not on_sort or None in on_sort.get("$in", ())):
                branches.append({self.sort: {**on_sort, "$eq": None}})  # nulls come last
        query["$or"] = branches
        return query


# -- reading the arguments -----------------------------------------------------------------

def _refused(name: str, label: str, code: str, message: str) -> Problem:
    return Problem(400, "bad-filter", f"The list cannot be filtered so: {message}",
                   [field_error(name, label, code, message)])


def _read(entity_field: t.Any, text: str) -> t.Any:
    """One argument's value as the record stores it, read by the field's type."""
    kind = entity_field.kind
    try:
        if kind.is_reference:
            text = text.strip()
            if not text:
                return None
            try:
                return ObjectId(text)
            except (InvalidId, TypeError):
                words = TARGETS[entity_field.target].words \
                    if entity_field.target in TARGETS else "record"
                raise Invalid(f"{entity_field.label} must be the id of a {words} record "
                              f"(24 characters, 0-9 and a-f).") from None
        value = kind.from_texts(entity_field, [text]) if kind.has_choices \
            else kind.from_text(entity_field, text)
        if value is not None and kind.has_choices:
            kind.check(entity_field, value)  # a choice that is not one says the choices
    except Invalid as exc:
        raise _refused(entity_field.name, entity_field.label, exc.code, str(exc)) from exc
    stored = to_storage(entity_field, value)
    return stored[0] if isinstance(stored, list) and len(stored) == 1 else stored


def _stored(document: t.Mapping[str, t.Any], entity_field: t.Any) -> t.Any:
    value = document.get(entity_field.name)
    return entity_field.kind.unset if value is None and entity_field.kind.always_set else value


def _comparable(value: t.Any, bound: t.Any) -> bool:
    """Whether MongoDB would compare the two (the same kind of value), as a range does."""
    if isinstance(bound, datetime):
        return isinstance(value, datetime)
    numbers = (int, float)
    return isinstance(value, numbers) and not isinstance(value, bool) \
        and not (isinstance(value, float) and math.isnan(value))


def _condition(entity_field: t.Any, values: list[t.Any] | None,
               bounds: dict[str, t.Any]) -> Condition:
    ops: dict[str, t.Any] = {}
    if values is not None:
        ops["$in"] = values
    ops.update(bounds)

    def test(document: t.Mapping[str, t.Any]) -> bool:
        stored = _stored(document, entity_field)
        held = stored if isinstance(stored, list) else [stored]
        if values is not None and not any(v in values for v in held) \
                and not (None in values and stored in (None, [])):
            return False
        for op, bound in bounds.items():
            if not _comparable(stored, bound):
                return False
            if not {"$gt": stored > bound, "$gte": stored >= bound,
                    "$lt": stored < bound, "$lte": stored <= bound}[op]:
                return False
        return True

    return Condition(entity_field.name, bool(bounds), ops, test)


def _search(term: str) -> Condition | None:
    wanted = set(search.words(term))
    criteria = search.criteria(term)
    if not term.strip():
        return None
    if criteria is None:
        raise Problem(400, "bad-search", "search needs at least one word (letters or digits) "
                                         "to look for.")
    return Condition("search_keys", False, {}, lambda d: wanted <= set(d.get("search_keys")
                                                                      or ()), criteria)


def sorts(entity: str, snapshot: t.Any) -> list[str]:
    """The columns a list may be sorted by: live, sortable, with a list index ordering
    them after the Level and Archive flag alone."""
    live = {f.name: f for f in snapshot.live_fields(entity)}
    base = _base(entity)
    return [keys[len(base)] for keys in LIST_INDEXES[entity]
            if keys[:len(base)] == base and len(keys) == len(base) + 2
            and keys[len(base)] in live and live[keys[len(base)]].kind.sortable]


def _base(entity: str) -> tuple[str, ...]:
    return ("level", "archived") if entity == "customer" else ("archived",)


def _one(args: t.Any, name: str) -> str | None:
    given = args.getlist(name) if hasattr(args, "getlist") else [args[name]] \
        if name in args else []
    if len(given) > 1:
        raise Problem(400, "bad-argument", f"Give {name} once, not {len(given)} times.")
    return given[0] if given else None


def _names(args: t.Any) -> list[str]:
    return list(dict.fromkeys(args.keys()))


def list_query(entity: str, args: t.Any) -> Plan:
    """The plan of the read for a list request's arguments; a 400 problem naming what it
    cannot use (an unknown argument, a value its field's type refuses, a sort with no
    index). `args` is the request's MultiDict (a repeated argument is `in`)."""
    snapshot = dictionary.current()
    live = {f.name: f for f in snapshot.live_fields(entity)}
    allowed_sorts = sorts(entity, snapshot)

    unknown, values, bounds = [], {}, {}
    for name in _names(args):
        texts = args.getlist(name) if hasattr(args, "getlist") else [args[name]]
        ranged = _RANGED.fullmatch(name)
        if name in PAGING or name in OWN:
            continue
        if name in live:
            values[name] = [_read(live[name], text) for text in texts]
        elif ranged and ranged["name"] in live and ranged["op"] in RANGES:
            target = live[ranged["name"]]
            if not target.kind.ranged:
                raise _refused(target.name, target.label, "not_ranged",
                               f"{target.label} is {target.kind.json_words}: only dates and "
                               f"numbers take ranges ([gt], [gte], [lt], [lte]).")
            if len(texts) > 1:
                raise Problem(400, "bad-argument", f"Give {name} once, not {len(texts)} "
                                                   f"times.")
            bound = _read(target, texts[0])
            if bound is None:
                raise _refused(target.name, target.label, "blank_bound",
                               f"{name} needs a value: {target.kind.json_words}.")
            bounds.setdefault(target.name, {})[RANGES[ranged["op"]]] = bound
        else:
            unknown.append(name)
    if unknown:
        raise Problem(400, "unknown-argument",
                      f"The list does not take {', '.join(repr(n) for n in unknown)}: its "
                      f"arguments are the fields of {entity} records (with [gt], [gte], "
                      f"[lt] or [lte] on dates and numbers), search, sort, after, limit and "
                      f"fields, as GET /api/v1/openapi.json describes.")

    # The Archived tab is asked for; current records otherwise. Every Level otherwise.
    if "archived" in live:
        values.setdefault("archived", [False])
    if entity == "customer" and "level" in live:
        values.setdefault("level", [lv.name for lv in snapshot.entity(entity).levels])

    conditions = {name: _condition(live[name], values.get(name), bounds.get(name, {}))
                  for name in dict.fromkeys([*values, *bounds])}
    found = _search(_one(args, "search") or "")
    if found is not None:
        conditions["search_keys"] = found

    sort_text = _one(args, "sort") or DEFAULT_SORT
    direction = -1 if sort_text.startswith("-") else 1
    sort = sort_text.lstrip("-")
    if sort not in allowed_sorts:
        raise Problem(400, "bad-sort", f"sort must be one of {', '.join(allowed_sorts)} "
                                       f"(a minus before it, as -{allowed_sorts[0]}, sorts "
                                       f"the other way), not {sort_text!r}.")
    return _plan(entity, conditions, sort, direction)


def _plan(entity: str, conditions: dict[str, Condition], sort: str, direction: int) -> Plan:
    """Which list index the read walks: of those ending (sort, _id), the one whose other
    keys are all asked for by equality, the longest (it narrows most). Those conditions
    and any on the sort column go with the read; the others are checked here."""
    best: tuple[str, ...] | None = None
    for keys in LIST_INDEXES[entity]:
        *prefix, last_but_one, _id = keys
        if last_but_one != sort or _id != "_id":
            continue
        if all(name in conditions and not conditions[name].ranged for name in prefix) \
                and (best is None or len(keys) > len(best)):
            best = keys
    if best is None:  # every sort offered has its (base…, column, _id) index
        raise Problem(400, "bad-sort", f"No index orders a list by {sort}.")
    served = set(best[:-1])
    pushed = [c for name, c in conditions.items() if name in served]
    checked = [c for name, c in conditions.items() if name not in served]
    return Plan(sort, direction, pushed, checked)


# -- the cursor ------------------------------------------------------------------------

def cursor(plan: Plan, document: t.Mapping[str, t.Any]) -> str:
    """An opaque `after`: the sort it was made for, and the record's sort value and id."""
    return paging.cursor({"sort": ("-" if plan.direction < 0 else "") + plan.sort,
                          "value": document.get(plan.sort), "id": document["_id"]})


def after(plan: Plan, text: str) -> tuple[t.Any, ObjectId]:
    """The (value, id) an `after` holds, for this plan's sort; a 400 problem otherwise."""
    held = paging.resumed(text)
    sort, value, oid = held.get("sort"), held.get("value"), held.get("id")
    if not isinstance(oid, ObjectId) or not isinstance(value, _PLAIN):
        raise paging.not_ours()
    asked = ("-" if plan.direction < 0 else "") + plan.sort
    if sort != asked:
        raise Problem(400, "bad-cursor", f"The 'after' cursor was made for sort={sort}, not "
                                         f"sort={asked}: follow the Link header's next URL "
                                         f"with the same arguments.")
    return value, oid


# -- the description ---------------------------------------------------------------------

def _value_schema(entity_field: t.Any) -> dict[str, t.Any]:
    """A value's schema as an argument: its type's, less the checks a filter does not
    make (a filter may look for values a later pattern or bound refuses); choices are
    checked, and a multichoice takes one choice per argument."""
    if entity_field.kind.is_reference:  # a record's id, or blank: no record
        return {"type": "string", "pattern": "^([0-9a-fA-F]{24})?$"}
    schema = entity_field.kind.json_schema(entity_field)
    if schema.get("type") == "array":
        schema = dict(schema["items"])
    return {k: v for k, v in schema.items() if k in ("type", "format", "enum")}


def list_parameters(entity: str, snapshot: t.Any) -> list[dict[str, t.Any]]:
    """The OpenAPI parameters `list_query` and the list read: every live field (equality;
    repeated for `in`), `[gt]` … `[lte]` on dates and numbers, search, sort, and the
    list's own after, limit and fields."""
    allowed_sorts = sorts(entity, snapshot)
    parameters: list[dict[str, t.Any]] = []
    for entity_field in snapshot.live_fields(entity):
        if entity_field.name in PAGING or entity_field.name in OWN:
            continue
        schema = _value_schema(entity_field)
        default = {"archived": " The default is false: current records, not the Archived "
                               "tab.",
                   "level": " The default is every Level."}.get(entity_field.name, "")
        parameters.append({
            # (Optional, and a form-style array sent as repeated arguments: the defaults
            # for a query parameter, so not written out for each field.)
            "name": entity_field.name, "in": "query",
            "description": f"Only records whose {plain(entity_field.label)} is this value"
                           f"{' (the id of a record)' if entity_field.kind.is_reference else ''}"
                           f" (the argument repeated: any of the values; blank: no value)."
                           f"{default}",
            "schema": {"type": "array", "items": schema}})
        if entity_field.kind.ranged:
            for op, words in (("gt", "after"), ("gte", "from"), ("lt", "before"),
                              ("lte", "up to")):
                parameters.append({
                    "name": f"{entity_field.name}[{op}]", "in": "query",
                    "description": f"Only records whose {plain(entity_field.label)} is {words} "
                                   f"this{' (inclusive)' if op.endswith('e') else ''}.",
                    "schema": schema})
    parameters += [
        {"name": "search", "in": "query", "required": False,
         "description": "Words, each starting a word of a searchable field (as the list "
                        "screens' search).",
         "schema": {"type": "string"}},
        {"name": "sort", "in": "query", "required": False,
         "description": f"The order: a column, or a minus and a column for the other way "
                        f"(default {DEFAULT_SORT}); ties are ordered by id.",
         "schema": {"type": "string", "default": DEFAULT_SORT,
                    "enum": [*allowed_sorts, *(f"-{s}" for s in allowed_sorts)]}},
        {"name": "after", "in": "query", "required": False,
         "description": "The cursor of the next page: take it from the Link header "
                        "(rel=\"next\"); it holds the sort, so keep the other arguments. A "
                        f"page filtered on a field with no index reads at most {SCAN} "
                        "records and may hold fewer than limit, even none: follow the Link "
                        "until there is none.",
         "schema": {"type": "string"}},
        {"name": "limit", "in": "query", "required": False,
         "description": f"The most records on a page (default {PAGE}).",
         "schema": {"type": "integer", "minimum": 1, "maximum": LONGEST_PAGE,
                    "default": PAGE}},
        {"name": "fields", "in": "query", "required": False, "style": "form",
         "explode": False,
         "description": "Only these fields in each record, separated by commas (id, "
                        "revision and archived always come).",
         "schema": {"type": "array", "items": {"type": "string", "enum": [
             "id", "revision", *(f.name for f in snapshot.live_fields(entity))]}}},
    ]
    return parameters
