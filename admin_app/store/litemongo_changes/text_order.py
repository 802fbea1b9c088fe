"""**A page sorted by a text field reads only that page.** A lookup ("Org" typed into the
Org box) matches every Org; mongomock decodes every match and sorts them all to return
ten, 1.2 s at 100,000 Orgs. litemongo's hash index on the sorted path already holds each
document's value; when every value there is a string (or nothing), the index keeps its
documents in value order too, and a sorted query walks that order, decoding only the
documents it yields. Ties keep the natural order and documents without a value come
first (last when descending), as upstream sorts them; any other value, a sort on several
keys or a short list of candidates takes the sort above. A sort on one key then `_id`
(what a cursor-paged list sends, so that ties have an order) is walked the same way, each
run of equal values ordered by `_id`, when every `_id` of the collection is an ObjectId
(whose store keys sort as the ids do).

`sort_keys` asks `in_index_order` before it sorts; nothing is replaced here.
"""

from __future__ import annotations

import itertools
import typing as t

from .candidates import held_by_all, holders
from .compact_index import CompactFieldIndex
from .keys_table import KeysHeld

# The sorted walk looks at WALKED keys, then twice as many each round, up to
# WALKED_MOST; it stops for a set of the keys table of fewer than TABLE_READ times the
# keys it has looked at (reading a document's number there costs about what looking at
# a key costs here).
WALKED = 64
WALKED_MOST = 256
TABLE_READ = 4


def in_index_order(collection: t.Any, spec: t.Any, order: list[t.Any]) -> t.Any:
    """The matching documents in the order of a one-key sort (or one key then `_id`),
    read along the index of that key (None: that index has no order to give)."""
    tie = order[1][1] if len(order) == 2 and order[1][0] == "_id" else None
    if len(order) != 1 and tie is None or not hasattr(collection._store, "_changes_seen"):
        return None
    (path, direction), store = order[0], collection._store
    store._remove_expired_documents()
    index = store._get_query_index()
    field = index._fields.get(path)
    in_order = field.in_order() if type(field) is CompactFieldIndex else None
    if in_order is None:
        return None
    natural = index._docs
    if tie is not None and not _object_ids(field, in_order, natural):
        return None
    ties = _by_id(tie < 0) if tie is not None else natural.__getitem__
    keys = _candidates_in_order(field, in_order, natural, holders(index, spec, store),
                                direction < 0, ties)
    return _documents_of(store, spec, keys)


def _by_id(descending: bool) -> t.Callable[[str], t.Any]:
    """The order of store keys by `_id`: an ObjectId's store key is `o:` and its 24 hex
    digits, which sort as the ids do."""
    if not descending:
        return lambda key: key
    return lambda key: tuple(-ord(c) for c in key)


def _object_ids(field: CompactFieldIndex, in_order: t.Any, natural: dict[t.Any, int]) -> bool:
    """Whether every document's `_id` is an ObjectId (kept while the order and the count
    of documents are those it was asked for)."""
    asked = (id(in_order), len(natural))
    known = getattr(field, "_object_ids", None)
    if known is None or known[0] != asked:
        known = (asked, all(isinstance(key, str) and key.startswith("o:") for key in natural))
        field._object_ids = known  # type: ignore[attr-defined]
    return bool(known[1])


def _candidates_in_order(field: CompactFieldIndex, in_order: tuple[list[str], list[t.Any]],
                         natural: dict[t.Any, int], held: list[t.Any] | None,
                         descending: bool, ties: t.Callable[[t.Any], t.Any]
                         ) -> t.Iterator[t.Any]:
    """The store keys in every holder, in sort order. Walking the whole order costs a
    page when the candidates are dense (the first keystroke of a lookup, a list filter
    most records pass) and every document when they are few or sort late; so the walk
    stops, and the rest comes from sorting the candidates by the values the index
    keeps, once it has looked at as many keys as the fewest in-process holder has, or
    at a TABLE_READth of the rows of a set of the keys table (whose documents are then
    read at once, `KeysHeld.read_if_few`). Either way, about no more than the cheaper
    of the two; and the table's sets are counted no further than the walk has gone, so
    a page of a dense filter reads no set whole (at 110,000 records, counting and
    reading them cost ten pages).

    The walk asks the in-process holders key by key, then the keys table for a round of
    keys at once: WALKED keys, then twice as many each round, up to WALKED_MOST."""
    if held is None:
        yield from _keys_in_order(field, in_order, natural, descending, ties)
        return
    tables = [keys for keys in held if type(keys) is KeysHeld]
    in_process = sorted((keys for keys in held if type(keys) is not KeysHeld), key=len)
    budget = len(in_process[0]) if in_process else len(natural)
    walk = _keys_in_order(field, in_order, natural, descending, ties)
    looked = found = 0
    size = WALKED
    while looked < budget and not any(
            table.read_if_few(TABLE_READ * max(looked, size)) is not None for table in tables):
        round_ = list(itertools.islice(walk, size))
        looked += len(round_)
        kept = [key for key in round_ if all(key in keys for keys in in_process)]
        for table in tables:
            kept = table.kept(kept)
        found += len(kept)
        yield from kept
        if len(round_) < size:
            return
        size = min(size * 2, WALKED_MOST)
    values = field._doc_keys
    # Ties first in their own order, then by value: the sort is stable (reversed too).
    matched = sorted((key for key in held_by_all(held) if key in natural), key=ties)
    matched.sort(key=lambda key: (1, values[key]) if key in values else (0, ""),
                 reverse=descending)
    yield from itertools.islice(matched, found, None)


def _keys_in_order(field: CompactFieldIndex, in_order: tuple[list[str], list[t.Any]],
                   natural: dict[t.Any, int], descending: bool,
                   ties: t.Callable[[t.Any], t.Any]) -> t.Iterator[t.Any]:
    """Every store key in sort order: by value, equal values in the order `ties` gives
    (natural order, or `_id`), documents without a value first (last when descending)."""
    values, keys = in_order  # replaced, never changed, by later writes
    unvalued = ([key for key in natural if key not in field._doc_keys]
                if len(field._doc_keys) != len(natural) else [])
    unvalued.sort(key=ties)
    if not descending:
        yield from unvalued
    count = len(values)
    at = count - 1 if descending else 0
    step = -1 if descending else 1
    while 0 <= at < count:
        end = at + step
        while 0 <= end < count and values[end] == values[at]:
            end += step
        if end == at + step:
            yield keys[at]
        else:
            run = keys[min(at, end + 1):max(at, end - 1) + 1]
            yield from sorted(run, key=ties)
        at = end
    if descending:
        yield from unvalued


def _documents_of(store: t.Any, spec: t.Any, walk: t.Iterator[t.Any]) -> t.Iterator[t.Any]:
    """The documents of the walked keys that match, decoded a growing batch at a time
    (a page needs a few; a cursor without a limit reads them all)."""
    from litemongo._vendor.mongomock.filtering import filter_applies

    batch: list[t.Any] = []
    size = 32
    for key in walk:
        batch.append(key)
        if len(batch) >= size:
            yield from (doc for doc in store._get_many(batch) if filter_applies(spec, doc))
            batch, size = [], min(size * 2, 500)
    yield from (doc for doc in store._get_many(batch) if filter_applies(spec, doc))
