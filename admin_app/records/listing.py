"""A record list as its URL says it: the filters, the search, the tab, the columns and the
sort, read once into a `ListState` that the list screens, the API and any feature that
works on "what the list shows" (saved views, bulk changes, an export) share.

The URL arguments (one scheme for every list of Customers, Orgs and Contacts), beside
Flask-Admin's own `page`:

- `f.<field>=<value>`: a choice or several choices (the argument repeated: any of
  them), a reference (the record's id), a boolean (`yes` / `no`), a text (each typed
  word starts a word of the field); `f.<field>.exact=<text>`: the whole text, whatever
  its case;
- `f.<field>.min=<v>` / `f.<field>.max=<v>` (inclusive): dates (YYYY-MM-DD) and numbers
  (`f.<field>=<v>`: that one value);
- `search=<words>` (the search box), `archived=1` (the Archived tab);
- `sort=<column index>` and `desc=1` (Flask-Admin's: the index into the columns shown);
  or `sort_field=<field>`, the sort by the column's field, which a saved view keeps so
  that a column added or taken away later does not move its sort (`to_args(kept=True)`);
- `cols=<field>,<field>`: the columns shown, in order (default: the dictionary's list
  columns on this Level's form).

Field names are the dictionary's names, never labels, so a link survives a relabel. An
empty value is no filter (a GET form sends its empty boxes). A name that is not a
filtered field of the entity (retired, not filterable, never a field) is dropped and
said in `notices`; a value a field's type cannot read is a sentence in `problems` and
that filter is left out: a list URL never fails.

The query every list sends is an equality on the Level and the Archive flag and, for
each filter and each search word, one equality (or `$in`) on the records' search keys
(`filter_keys.py`): one index, (Level, Archive flag, search_keys, name, _id), serves any
combination in name order. So a filtered or searched list sorts by name (either way)
only; an unfiltered list sorts by any column a list index orders
(`models.records.LIST_INDEXES`).

How many records match is counted only up to COUNT_BOUND, from the index
(`store.bounded_count`): "1–20 of 7,342", or "of more than 10,000". On the embedded
store a count reads no more than COUNT_WORK rows of its keys table; past that the list
says "of many" and offers `count=all`, which counts them (up to the same bound).
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field, replace
from decimal import Decimal

from bson import ObjectId
from flask import current_app, has_app_context

from .. import store
from ..dictionary.rules import Invalid
from ..models import search
from ..models.records import LIST_INDEXES
from ..targets import TARGETS, object_id
from . import filter_keys
from .filter_keys import BOOLEAN, CHOICE, DATES, RANGED, REFERENCE, TEXT

FILTER = "f."  # a filter argument's prefix
EXACT, MIN, MAX = "exact", "min", "max"  # after the field's name: f.<field>.<part>
SEARCH, ARCHIVED, SORT, DESC, COLUMNS = "search", "archived", "sort", "desc", "cols"
SORT_FIELD = "sort_field"
COUNT, ALL = "count", "all"  # count=all: count however many rows that reads
# Counted up to here: past it a list says "more than COUNT_BOUND".
COUNT_BOUND = 10_000
# The keys-table rows a list's count reads before it says "of many" instead: about what
# the rest of a filtered page costs at 110,000 records (bench/list_filters_bench.py).
COUNT_WORK = 4_096
# Names from a URL are quoted back in a notice at most this long.
_SHOWN = 40


@dataclass(frozen=True)
class Sort:
    """The column a list is sorted by, and which way."""

    name: str
    descending: bool = False


@dataclass(frozen=True)
class Filter:
    """One filter: a field, its control (`filter_keys.mode`) and what was asked."""

    field: t.Any  # the dictionary's Field (`dictionary.Field`)
    mode: str
    values: tuple[t.Any, ...] = ()  # choices (text), references (ObjectId), a boolean
    words: str = ""  # text: the words typed
    exact: str = ""  # text: the whole value
    low: t.Any = None  # a date or number range (read by the field's type), inclusive
    high: t.Any = None

    @property
    def name(self) -> str:
        return str(self.field.name)

    def conditions(self) -> list[t.Any]:
        """What the filter asks of `search_keys`: each a key, or {"$in": keys}; a record
        must hold every one."""
        name = self.name
        if self.mode == TEXT:
            asked: list[t.Any] = filter_keys.wanted_words(name, self.words)
            if self.exact:
                asked.insert(0, filter_keys.exact(name, filter_keys.folded(self.exact)))
            return asked
        if self.mode in RANGED:
            return [{"$in": filter_keys.wanted_range(self.mode, name, self.low, self.high)}]
        if self.mode == BOOLEAN:
            return [filter_keys.exact(name, "yes" if self.values[0] else "no")]
        held = [filter_keys.exact(name, str(value)) for value in self.values]
        return [held[0]] if len(held) == 1 else [{"$in": held}]

    def args(self) -> list[tuple[str, str]]:
        """The URL arguments that ask for this filter."""
        key = FILTER + self.name
        if self.mode == TEXT:
            return [*([(key, self.words)] if self.words else []),
                    *([(f"{key}.{EXACT}", self.exact)] if self.exact else [])]
        if self.mode in RANGED:
            return [*([(f"{key}.{MIN}", _text(self.field, self.low))]
                      if self.low is not None else []),
                    *([(f"{key}.{MAX}", _text(self.field, self.high))]
                      if self.high is not None else [])]
        if self.mode == BOOLEAN:
            return [(key, "yes" if self.values[0] else "no")]
        return [(key, str(value)) for value in self.values]

    def describe(self, named: t.Callable[[t.Any, ObjectId], str] | None = None) -> str:
        """The filter in words, with the field's current label: "SLA is Gold or Silver",
        "Department starts with Fin", "Expiry Date from 2026-01-01 to 2026-03-31"."""
        label = self.field.label
        if self.mode == TEXT:
            said = [f"starts with {self.words}"] if self.words else []
            if self.exact:
                said.append(f"is exactly {self.exact}")
            return f"{label} {' and '.join(said)}"
        if self.mode in RANGED:
            low, high = (_text(self.field, v) if v is not None else None
                         for v in (self.low, self.high))
            if low is not None and low == high:
                return f"{label} is {low}"
            parts = [*([f"from {low}"] if low is not None else []),
                     *([f"to {high}"] if high is not None else [])]
            return f"{label} {' '.join(parts)}"
        if self.mode == BOOLEAN:
            return f"{label} is {'yes' if self.values[0] else 'no'}"
        if self.mode == REFERENCE:
            shown = [(named or record_name)(self.field, value) for value in self.values]
        else:
            shown = [str(value) for value in self.values]
        return f"{label} is {' or '.join(shown)}"


@dataclass(frozen=True)
class ListState:
    """What one list shows: read from its URL (`from_args`), sent to the store
    (`query`, `order`), written back as a URL (`to_args`) and said in words
    (`describe`). Immutable: `without` gives the state less a filter."""

    entity: str
    level: str | None  # the Level listed (customers), None for contacts
    archived: bool = False
    search: str = ""
    filters: tuple[Filter, ...] = ()
    columns: tuple[t.Any, ...] = ()  # the dictionary's Fields shown, in order
    chosen_columns: bool = False  # `cols` was given (else the dictionary's list columns)
    sort: Sort | None = None
    count_all: bool = False  # count=all: counted however many rows that reads
    notices: tuple[str, ...] = ()  # what the URL named that was dropped, in words
    problems: tuple[str, ...] = ()  # a sentence per filter whose value could not be read
    available: tuple[t.Any, ...] = ()  # the Fields this list can filter on (the panel)
    typed: dict[str, str] = field(default_factory=dict, compare=False)  # as typed: f.x…

    # -- reading a URL -------------------------------------------------------------------

    @classmethod
    def from_args(cls, args: t.Any, snapshot: t.Any, entity: str,
                  level: str | None = None) -> ListState:
        """The state a list URL's arguments (a MultiDict, or a list of pairs) ask for,
        on this dictionary `snapshot`, for `entity` at `level` (customers)."""
        pairs = _pairs(args)
        level = level if entity == "customer" else None
        available = tuple(_filterable(snapshot, entity, level))
        notices: list[str] = []
        problems: list[str] = []
        typed: dict[str, str] = {}
        asked: dict[str, dict[str, list[str]]] = {}
        for key, value in pairs:
            if not key.startswith(FILTER):
                continue
            name, _, part = key[len(FILTER):].partition(".")
            if part not in ("", EXACT, MIN, MAX):
                notices.append(_quoted(key))
                continue
            if value.strip():
                asked.setdefault(name, {}).setdefault(part, []).append(value)
                typed.setdefault(key, value)
            else:
                asked.setdefault(name, {})
        live = {f.name: f for f in available}
        filters: list[Filter] = []
        for name, parts in asked.items():
            definition = live.get(name)
            if definition is None:
                notices.append(_why_not(snapshot, entity, name))
                continue
            try:
                made = _filter(definition, parts)
            except Invalid as refused:
                problems.append(str(refused))
                continue
            if made is not None:
                filters.append(made)
        columns, chosen = _columns(snapshot, entity, level, pairs, notices)
        state = cls(entity, level, archived=_one(pairs, ARCHIVED) == "1",
                    search=_one(pairs, SEARCH).strip(), filters=tuple(filters),
                    columns=tuple(columns), chosen_columns=chosen,
                    count_all=_one(pairs, COUNT) == ALL, notices=(),
                    problems=tuple(problems), available=available, typed=typed)
        sort = _sort(state, snapshot, pairs)
        said = [f"These filters or columns were dropped: {', '.join(notices)}."] \
            if notices else []
        return replace(state, sort=sort, notices=tuple(said))

    # -- what is sent to the store -------------------------------------------------------

    @property
    def narrowed(self) -> bool:
        """Whether a filter or a search narrows the list (it then sorts by name only)."""
        return bool(self.filters or self.search)

    def query(self) -> dict[str, t.Any]:
        """The MongoDB filter: the Level and the Archive flag, then every filter's and
        every search word's condition on the search keys (the most selective first)."""
        query: dict[str, t.Any] = {"level": self.level} if self.entity == "customer" else {}
        query["archived"] = self.archived
        typed_words = sorted(set(search.words(self.search)), key=len, reverse=True)
        if self.search and not typed_words:
            query["_id"] = {"$in": []}  # typed, but no word to look for: nothing found
        conditions = [c for f in self.filters for c in f.conditions()] + typed_words
        conditions.sort(key=_selectivity)
        if conditions:
            first, *rest = conditions
            query["search_keys"] = first
            if rest:
                query["$and"] = [{"search_keys": c} for c in rest]
        return query

    def order(self) -> list[tuple[str, int]]:
        """The sort as pymongo takes it: the one asked, else by name for a narrowed list
        (the order its index walks, which finds a page without reading every match;
        [] for the rest: the store's order)."""
        if self.sort is None:
            return [("name", 1)] if self.narrowed else []
        return [(self.sort.name, -1 if self.sort.descending else 1)]

    def sortable(self) -> list[str]:
        """The columns this list may be sorted by: those an index orders here."""
        return [f.name for f in self.columns
                if f.name in _sorts(self.entity, self.narrowed) and f.kind.sortable]

    # -- writing it back -----------------------------------------------------------------

    def to_args(self, kept: bool = False) -> list[tuple[str, str]]:
        """The canonical URL arguments of this state (no page); `kept`: as a saved view
        keeps it, the sort by its field's name (`sort_field`), not by column index, and
        without `count=all` (asked for one look, not kept)."""
        args: list[tuple[str, str]] = []
        if self.archived:
            args.append((ARCHIVED, "1"))
        if self.search:
            args.append((SEARCH, self.search))
        for one in self.filters:
            args += one.args()
        if self.chosen_columns:
            args.append((COLUMNS, ",".join(f.name for f in self.columns)))
        if self.sort is not None:
            index = [f.name for f in self.columns].index(self.sort.name)
            args.append((SORT_FIELD, self.sort.name) if kept else (SORT, str(index)))
            if self.sort.descending:
                args.append((DESC, "1"))
        if self.count_all and not kept:
            args.append((COUNT, ALL))
        return args

    def without(self, name: str | None = None) -> ListState:
        """This state less the filter on field `name` (None: less every filter)."""
        kept = tuple(f for f in self.filters if name is not None and f.name != name)
        state = replace(self, filters=kept)
        if self.sort is not None and self.sort.name not in state.sortable():
            state = replace(state, sort=None)
        return state

    def filter_on(self, name: str) -> Filter | None:
        return next((f for f in self.filters if f.name == name), None)

    def describe(self, named: t.Callable[[t.Any, ObjectId], str] | None = None) -> str:
        """The filters in words, with the current labels, "; " between them: "Department
        starts with Fin; SLA is Gold; Expiry Date from 2026-01-01"."""
        return "; ".join(one.describe(named) for one in self.filters)


# -- counting --------------------------------------------------------------------------------

def counted(state: ListState, collection: t.Any, bound: int | None = None) -> int | None:
    """How many records the state's query matches, up to `bound` + 1 (more than `bound`;
    default COUNT_BOUND); None when the store cannot tell without reading the records
    or, unless the state asks to count all, more than COUNT_WORK rows of its keys (the
    LIST_COUNT_WORK setting overrides it)."""
    work = (current_app.config.get("LIST_COUNT_WORK") if has_app_context() else None) \
        or COUNT_WORK
    return store.bounded_count(collection, state.query(), (bound or COUNT_BOUND) + 1,
                               work=None if state.count_all else int(work))


def count_words(first: int, shown: int, total: int | None, bound: int | None = None,
                tried_all: bool = False) -> str:
    """"1–20 of 7,342", "1–20 of more than 10,000", "1–20 of many" (not counted: too
    many to count cheaply), or "1–20" (`tried_all`: the store cannot count them)."""
    bound = bound or COUNT_BOUND
    if shown == 0:
        return "No records" if total in (0, None) else f"None on this page, of {total:,}"
    span = f"{first:,}–{first + shown - 1:,}"
    if total is None:
        return span if tried_all else f"{span} of many"
    if total > bound:
        return f"{span} of more than {bound:,}"
    return f"{span} of {total:,}"


def record_name(definition: t.Any, oid: ObjectId) -> str:
    """The name of the record a reference filter names (its id, when it is gone)."""
    target = TARGETS.get(definition.target or "")
    found = target.model.objects(pk=oid).only("name").first() if target else None
    return str(found.name or "") if found is not None else f"(missing {definition.label})"


# -- reading the arguments ---------------------------------------------------------------------

def _pairs(args: t.Any) -> list[tuple[str, str]]:
    if hasattr(args, "items") and hasattr(args, "getlist"):
        return [(str(k), str(v)) for k, v in args.items(multi=True)]
    if isinstance(args, t.Mapping):
        return [(str(k), str(v)) for k, v in args.items()]
    return [(str(k), str(v)) for k, v in args]


def _one(pairs: list[tuple[str, str]], name: str) -> str:
    return next((value for key, value in pairs if key == name), "")


def _quoted(text: str) -> str:
    return repr(text if len(text) <= _SHOWN else text[:_SHOWN] + "…")


def _why_not(snapshot: t.Any, entity: str, name: str) -> str:
    definition = snapshot.fields.get(entity, {}).get(name)
    if definition is None:
        return f"{_quoted(name)} (not a field)"
    if definition.retired:
        return f"{definition.label} (retired)"
    if name in filter_keys.NOT_FILTERED:
        return f"{definition.label} (not a filter)"
    return f"{definition.label} (not filterable here)"


def _filterable(snapshot: t.Any, entity: str, level: str | None) -> list[t.Any]:
    """The filtered fields shown on this Level's form (all of them for contacts)."""
    fields = filter_keys.filtered(entity, snapshot)
    if level is None:
        return fields
    shown = {n for section in snapshot.layout(entity, level) for n in section.fields}
    return [f for f in fields if f.name in shown]


def _filter(definition: t.Any, parts: dict[str, list[str]]) -> Filter | None:
    """The filter the arguments on one field ask for (None: nothing asked); Invalid, in
    the type's words, for a value it cannot read."""
    how = filter_keys.mode(definition)
    kind = definition.kind
    plain = parts.get("", [])
    if how == TEXT:
        typed = " ".join(plain)
        exact = (parts.get(EXACT) or [""])[0].strip()
        if typed and not search.words(typed):
            raise Invalid(f"{definition.label}: type letters or digits to look for.")
        return Filter(definition, how, words=typed.strip(), exact=exact) \
            if typed or exact else None
    if how in RANGED:
        if parts.get(EXACT):
            raise Invalid(f"{definition.label}: only a text is matched exactly; give a "
                          f"range with .min and .max.")
        low = _bound(definition, (parts.get(MIN) or plain or [""])[0])
        high = _bound(definition, (parts.get(MAX) or plain or [""])[0])
        if low is not None and high is not None and low > high:
            raise Invalid(f"{definition.label}: “from” {_text(definition, low)} is after "
                          f"“to” {_text(definition, high)}.")
        return Filter(definition, how, low=low, high=high) \
            if low is not None or high is not None else None
    if parts.get(EXACT) or parts.get(MIN) or parts.get(MAX):
        raise Invalid(f"{definition.label} is {kind.json_words}: it is matched by its "
                      f"values, not by a range or an exact text.")
    if how == BOOLEAN:
        said = set()
        for text in plain:
            if text.strip().lower() not in ("yes", "no"):
                raise Invalid(f"{definition.label} must be yes or no.")
            said.add(text.strip().lower() == "yes")
        return Filter(definition, how, values=(said.pop(),)) if len(said) == 1 else None
    values: list[t.Any] = []
    if how == REFERENCE:  # a lookup box sends its records' ids separated by commas
        plain = [one for text in plain for one in text.split(",") if one.strip()]
    for text in plain:
        if how == REFERENCE:
            oid = object_id(text.strip())
            if oid is None:
                raise Invalid(f"{definition.label} must be a record chosen from the list "
                              f"(its id: 24 characters, 0-9 and a-f).")
            values.append(oid)
        else:  # a choice
            value = text.strip()
            kind.check(definition, [value] if how == CHOICE and kind.name == "multichoice"
                       else value)
            values.append(value)
    values = list(dict.fromkeys(values))
    return Filter(definition, how, values=tuple(values)) if values else None


def _bound(definition: t.Any, text: str) -> t.Any:
    value = definition.kind.from_text(definition, text)
    if value is not None and filter_keys.mode(definition) == DATES:
        return definition.kind.to_storage(definition, value)  # midnight, as stored
    return value


def _text(definition: t.Any, value: t.Any) -> str:
    """A bound as a URL and a sentence write it (what `from_text` reads back)."""
    if filter_keys.mode(definition) == DATES:
        return definition.kind.shown(definition, value)
    if isinstance(value, float):
        return format(Decimal(repr(value)), "f")
    return str(value)


def _selectivity(condition: t.Any) -> tuple[int, int]:
    """Exact keys first, then typed words (longest first), then sets (smallest first)."""
    if isinstance(condition, dict):
        return (2, len(condition["$in"]))
    return (0 if condition.endswith(filter_keys.END) else 1, -len(condition))


def _columns(snapshot: t.Any, entity: str, level: str | None, pairs: list[tuple[str, str]],
             notices: list[str]) -> tuple[list[t.Any], bool]:
    """The columns `cols` asks for (repeated, or separated by commas), or the default."""
    asked = [name.strip() for key, value in pairs if key == COLUMNS
             for name in value.split(",") if name.strip()]
    live = {f.name: f for f in snapshot.live_fields(entity)}
    columns = []
    for name in dict.fromkeys(asked):
        if name in live:
            columns.append(live[name])
        else:
            notices.append(_why_not(snapshot, entity, name).replace("not filterable here",
                                                                    "not a column"))
    if columns:
        return columns, True
    return default_columns(snapshot, entity, level), False


def default_columns(snapshot: t.Any, entity: str, level: str | None) -> list[t.Any]:
    """The dictionary's list columns shown on this Level's form (every one for contacts)."""
    columns = snapshot.list_columns(entity)
    if level is None:
        return columns
    shown = {n for section in snapshot.layout(entity, level) for n in section.fields}
    return [f for f in columns if f.name in shown]


def _sorts(entity: str, narrowed: bool) -> list[str]:
    """The columns a list index orders after the Level and Archive flag (and, when the
    list is narrowed, the search keys)."""
    base = ("level", "archived") if entity == "customer" else ("archived",)
    if narrowed:
        base = (*base, "search_keys")
    return [keys[len(base)] for keys in LIST_INDEXES[entity]
            if keys[:len(base)] == base and len(keys) == len(base) + 2]


def _sort(state: ListState, snapshot: t.Any, pairs: list[tuple[str, str]]) -> Sort | None:
    name = _one(pairs, SORT_FIELD)
    if not name:
        text = _one(pairs, SORT)
        if not text.isdigit() or int(text) >= len(state.columns):
            return None
        name = state.columns[int(text)].name
    if name not in state.sortable():
        return None
    return Sort(name, _one(pairs, DESC) == "1")


__all__ = ["COUNT_BOUND", "Filter", "ListState", "Sort", "count_words", "counted",
           "default_columns", "record_name"]
