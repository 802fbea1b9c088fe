"""The one change to litemongo's query answers (admin_app/litemongo_changes.py): a page of
results copies only that page, and every query answers exactly as upstream does."""

from __future__ import annotations

import datetime

import bson
import litemongo
import pytest
from litemongo._vendor.mongomock import collection as vendored
from litemongo._vendor.mongomock import indexing as vendored_indexing

from admin_app.store import litemongo_changes
from admin_app.store.litemongo_changes import compact_index

# --- pages: a page of results copies only that page ----------------------------------------

QUERIES = [
    ({}, None, 0, 0),
    ({"level": "Org"}, [("name", 1)], 0, 5),
    ({"level": "Customer"}, [("name", -1)], 3, 4),
    ({"level": "Customer", "archived": {"$ne": True}}, [("name", 1)], 10, 20),
    ({"level": "Customer"}, [("name", 1)], 0, -2),
    ({"level": "Customer"}, [("rank", 1), ("name", 1)], 95, 10),
    ({"level": "nobody"}, [("name", 1)], 0, 20),
]


@pytest.fixture
def people(tmp_path):
    client = litemongo.MongoClient(str(tmp_path / "store"))
    collection = client["db"]["people"]
    collection.insert_many([{"_id": i, "level": "Org" if i % 10 == 0 else "Customer",
                             "name": f"Person {(i * 37) % 100:03d}", "rank": i % 7,
                             "archived": i % 13 == 0} for i in range(100)])
    yield collection
    client.close()


def _answers(collection):
    out = []
    for spec, sort, skip, limit in QUERIES:
        cursor = collection.find(spec, {"name": 1, "rank": 1})
        if sort:
            cursor = cursor.sort(sort)
        out.append(list(cursor.skip(skip).limit(limit)))
    return out


def _copies(collection, monkeypatch, read=lambda found: list(found.sort("name", 1).limit(20))
            ) -> int:
    """How many documents one read of the Customers copies (by default, a page of 20)."""
    copied = []
    real = vendored.Collection._copy_only_fields
    monkeypatch.setattr(vendored.Collection, "_copy_only_fields",
                        lambda self, *a: copied.append(1) or real(self, *a))
    read(collection.find({"level": "Customer"}))
    return len(copied)


def _first(found):
    return found[0]


def test_upstream_copies_every_match_for_one_page_and_the_fix_only_the_page(people,
                                                                              monkeypatch):
    """Pinned to litemongo 0.2.0: after an upgrade, re-check the upstream cursor (does it
    still copy every match before slicing?) and update the pin."""
    assert litemongo.__version__ == litemongo_changes.LITEMONGO_VERSION
    upstream = litemongo_changes.UPSTREAM.get("Cursor._compute_results",
                                            vendored.Cursor._compute_results)
    with monkeypatch.context() as patched:
        patched.setattr(vendored.Cursor, "_compute_results", upstream)
        assert _copies(people, patched) == 90  # every Customer, to show 20
        before = _answers(people)
    litemongo_changes.apply()
    assert _copies(people, monkeypatch) == 20
    assert _answers(people) == before


def test_upstream_decodes_every_match_for_first_and_the_fix_only_up_to_it(people,
                                                                         monkeypatch):
    """Pinned to litemongo 0.2.0: `cursor[i]` (MongoEngine's `first()`) computes every
    result upstream; the fix takes the documents up to `i`, with the same answers and
    the same IndexError past the end."""
    litemongo_changes.apply()

    def answers():
        out = []
        for spec, sort, skip, limit, at in (({"level": "Customer"}, None, 0, 0, 0),
                                            ({"level": "Customer"}, None, 4, 0, 3),
                                            ({"level": "Org"}, [("name", -1)], 2, 3, 2),
                                            ({"level": "Org"}, None, 2, 3, 3),
                                            ({"level": "Org"}, None, 8, 0, 2),
                                            ({"level": "nobody"}, None, 0, 0, 0)):
            cursor = people.find(spec).skip(skip).limit(limit)
            cursor = cursor.sort(sort) if sort else cursor
            try:
                out.append(cursor[at])
            except IndexError as error:
                out.append(str(error))
        return out

    with monkeypatch.context() as patched:
        patched.setattr(vendored.Cursor, "__getitem__",
                        litemongo_changes.UPSTREAM["Cursor.__getitem__"])
        patched.setattr(vendored.Cursor, "_compute_results",
                        litemongo_changes.UPSTREAM["Cursor._compute_results"])
        assert _copies(people, patched, _first) == 90
        expected = answers()
    assert _copies(people, monkeypatch, _first) == 1
    assert answers() == expected
    assert "list index out of range" in expected


def test_upstream_slices_every_result_again_for_each_document_and_the_fix_once(
        people, monkeypatch):
    """Pinned to litemongo 0.2.0: each `next` of a cursor computes its results with skip
    and limit again (a copy of every result per document: quadratic); the fix once."""
    litemongo_changes.apply()

    def iterate():
        out = [[d["_id"] for d in people.find(spec).sort(sort or [("_id", 1)]).skip(skip)
                .limit(limit)] for spec, sort, skip, limit in QUERIES]
        cursor = people.find({"level": "Customer"}).skip(3)
        first = [next(cursor)["_id"] for _ in range(4)]
        cursor.rewind()
        out.append(first + [d["_id"] for d in cursor])
        cursor = people.find({"level": "Org"})
        out.append([next(cursor)["_id"], *[d["_id"] for d in cursor.sort("name", -1)]])
        return out

    computed = []
    real = vendored.Cursor._compute_results
    monkeypatch.setattr(vendored.Cursor, "_compute_results",
                        lambda self, *a, **k: computed.append(1) or real(self, *a, **k))
    with monkeypatch.context() as patched:
        patched.setattr(vendored.Cursor, "__next__", litemongo_changes.UPSTREAM["Cursor.__next__"])
        expected = iterate()
        assert len(computed) > sum(map(len, expected))  # one per document and more
    computed.clear()
    assert iterate() == expected
    assert len(computed) == len(QUERIES) + 3  # once per cursor, again after the new sort


def test_a_cursor_still_counts_and_iterates_as_before(people):
    litemongo_changes.apply()
    cursor = people.find({"level": "Customer"}).sort("name", 1).skip(5).limit(3)
    assert [d["_id"] for d in cursor] == [d["_id"] for d in list(
        people.find({"level": "Customer"}).sort("name", 1))[5:8]]
    assert people.count_documents({"level": "Customer"}) == 90
    cursor = people.find({"level": "Org"}).sort("name", 1).limit(2)
    assert cursor[1]["_id"] == [d["_id"] for d in people.find({"level": "Org"})
                                .sort("name", 1)][1]


# --- change_log: another connection's write re-indexes only what the log names ---------

def _two_connections(tmp_path):
    litemongo_changes.apply()
    one = litemongo.MongoClient(str(tmp_path / "store"))
    two = litemongo.MongoClient(str(tmp_path / "store"))
    return one, two


def _index_state(store):
    """What a query can learn from the hash index: each path's keys and the documents
    under each, the unkeyed documents, and the natural order of all of them."""
    index = store._get_query_index()
    fields = {path: ({key: set(keys) if type(keys) in (set, tuple) else {keys}
                      for key, keys in field._entries.items()},
                     set(field._unkeyed)) for path, field in index._fields.items()}
    return fields, index.in_natural_order(list(index._docs))


def _rebuilt_state(store):
    store._query_index = None
    return _index_state(store)


def _answers_of(collection):
    return [list(collection.find(spec).sort(sort)) for spec, sort in (
        ({"level": "Org"}, [("name", 1)]), ({"level": "Customer"}, [("rank", -1)]),
        ({"tags": "b"}, [("name", 1)]), ({"level": {"$in": ["Org", "Customer"]}}, [("_id", 1)]),
        ({}, [("$natural", 1)]))]


def test_a_write_by_another_connection_reindexes_only_the_logged_keys(tmp_path, monkeypatch):
    one, two = _two_connections(tmp_path)
    writer, reader = one["db"]["people"], two["db"]["people"]
    writer.create_index([("level", 1), ("name", 1)])
    writer.create_index("tags")
    writer.insert_many([{"_id": i, "level": "Org" if i % 4 == 0 else "Customer",
                         "name": f"P{(i * 7) % 50:02d}", "rank": i % 5,
                         "tags": ["a", "b"] if i % 3 == 0 else "c"} for i in range(50)])
    before = _answers_of(reader)  # the reader's index is built
    reindexed = []
    monkeypatch.setattr(reader._store._query_index, "add",
                        lambda key, doc, real=reader._store._query_index.add:
                        reindexed.append(key) or real(key, doc))
    writer.update_one({"_id": 3}, {"$set": {"level": "Org", "name": "P99"}})
    writer.delete_one({"_id": 4})
    writer.insert_one({"_id": 4, "level": "Org", "name": "P00", "tags": ["b"]})  # a new rowid
    writer.insert_one({"_id": 60, "level": "Customer", "name": "P01", "rank": 9})
    writer.replace_one({"_id": 10}, {"level": "Customer", "name": "P77", "tags": [["b"]]})
    answers = _answers_of(reader)
    assert sorted(set(reindexed), key=str) == sorted({"n:3", "n:4", "n:60", "n:10"}, key=str)
    assert answers != before
    incremental = _index_state(reader._store)
    assert incremental == _rebuilt_state(reader._store)
    assert answers == _answers_of(reader)
    one.close()
    two.close()


@pytest.mark.parametrize("change", ["drop", "rename", "many", "pruned", "new index",
                                    "own writes"])
def test_the_caught_up_index_answers_as_a_full_rebuild(tmp_path, change, monkeypatch):
    one, two = _two_connections(tmp_path)
    writer, reader = one["db"]["people"], two["db"]["people"]
    writer.create_index("level")
    writer.insert_many([{"_id": i, "level": "Org" if i % 4 == 0 else "Customer",
                         "name": f"P{i:03d}", "rank": i % 5, "tags": "c"} for i in range(40)])
    _answers_of(reader)
    if change == "drop":
        writer.drop()
        writer.insert_one({"_id": 1, "level": "Org", "name": "again"})
    elif change == "rename":
        other = one["db"]["others"]
        other.insert_many([{"_id": i, "level": "Org", "name": f"O{i}"} for i in range(30, 45)])
        other.rename("people", dropTarget=True)
    elif change == "many":
        writer.update_many({}, {"$set": {"level": "Org"}})
    elif change == "pruned":
        monkeypatch.setattr(reader._store, "_changes_seen", 0)
        for i in range(3):
            writer.update_one({"_id": i}, {"$set": {"rank": 7}})
        reader._store._connection.execute("DELETE FROM dictadmin_changes WHERE seq <= 41")
        reader._store._connection.commit()
    elif change == "new index":
        writer.create_index("rank")
        writer.update_one({"_id": 5}, {"$set": {"rank": 99}})
    elif change == "own writes":
        reader.delete_one({"_id": 39})
        reader.insert_one({"_id": 100, "level": "Org", "name": "mine"})  # rowid 40 again
        writer.insert_one({"_id": 101, "level": "Org", "name": "theirs"})
        reader.update_one({"_id": 2}, {"$set": {"level": "Org"}})
    answers = _answers_of(reader)
    incremental = _index_state(reader._store)
    assert incremental == _rebuilt_state(reader._store)
    assert answers == _answers_of(reader)
    fresh = litemongo.MongoClient(str(tmp_path / "store"))
    assert answers == _answers_of(fresh["db"]["people"])
    for client in (one, two, fresh):
        client.close()


def test_upstream_rebuilds_the_whole_index_after_another_connections_write(tmp_path,
                                                                           monkeypatch):
    """Pinned to litemongo 0.2.0: after another connection writes one document, the
    upstream index decodes every document again; the fix decodes only the one written."""
    from litemongo import sqlite_store

    one, two = _two_connections(tmp_path)
    writer, reader = one["db"]["people"], two["db"]["people"]
    writer.create_index("name")
    writer.insert_many([{"_id": i, "level": "Org", "name": f"P{i}"} for i in range(200)])

    def decoded_after_one_write(get_query_index, name):
        with monkeypatch.context() as patched:
            patched.setattr(sqlite_store.CollectionStore, "_get_query_index", get_query_index)
            reader._store._query_index = None
            list(reader.find({"name": "P1"}))  # the index is built, and current
            decoded = []
            real = reader._store._documents._decode_doc
            patched.setattr(reader._store._documents, "_decode_doc",
                            lambda blob: decoded.append(1) or real(blob))
            writer.update_one({"_id": 7}, {"$set": {"name": name}})
            found = [d["_id"] for d in reader.find({"name": name})]
            return found, len(decoded)

    upstream = litemongo_changes.UPSTREAM["CollectionStore._get_query_index"]
    found_upstream, decoded_upstream = decoded_after_one_write(upstream, "upstream")
    found, decoded = decoded_after_one_write(sqlite_store.CollectionStore._get_query_index,
                                             "fix")
    assert found == found_upstream == [7]
    assert decoded_upstream == 200 + 1  # every document re-indexed, then the one found
    assert decoded == 1 + 1
    one.close()
    two.close()


# --- sort_keys: a sort computes each document's key once ---------------------------------

MIXED = [None, 3, 2.5, -1, 2**62 + 1, float(2**62), float("inf"), "b", "B", "a", "é", "ä",
         "", "10", "9", True, False, [], [2, 1], ["z"], [None], datetime.datetime(2024, 5, 1),
         datetime.datetime(1999, 1, 1, 12), bson.ObjectId("65a000000000000000000001"),
         bson.ObjectId("65a000000000000000000000")]


@pytest.fixture
def mixed(tmp_path):
    client = litemongo.MongoClient(str(tmp_path / "store"))
    collection = client["db"]["mixed"]
    docs = [{"_id": i, "v": value, "n": i % 3} for i, value in enumerate(MIXED * 2)]
    docs += [{"_id": 100}, {"_id": 101, "v": {"x": 1}}, {"_id": 102, "v": {"w": 1}}]
    collection.insert_many(docs)
    yield collection
    client.close()


SORTS = [[("v", 1)], [("v", -1)], [("n", 1), ("v", -1)], [("v", 1), ("_id", -1)]]


@pytest.mark.parametrize("sort", SORTS)
@pytest.mark.parametrize("spec", [{"_id": {"$lt": 100}}, {}])  # with dicts: upstream path
def test_a_sort_orders_mixed_values_as_upstream_does(mixed, sort, spec, monkeypatch):
    """Pinned to litemongo 0.2.0: the upstream sort compares documents through
    `BsonComparable` (n log n Python calls); the fix computes one key per document and
    gives the same order, falling back to upstream for values it has no key for."""
    from litemongo._vendor.mongomock import filtering

    litemongo_changes.apply()
    upstream = litemongo_changes.UPSTREAM["Collection._get_dataset"]
    compared = []
    real = filtering.BsonComparable.__lt__
    monkeypatch.setattr(filtering.BsonComparable, "__lt__",
                        lambda a, b: compared.append(1) or real(a, b))
    with monkeypatch.context() as patched:
        patched.setattr(vendored.Collection, "_get_dataset", upstream)
        expected = [d["_id"] for d in mixed.find(spec).sort(sort)]
    assert compared  # upstream compares pairs
    compared.clear()
    assert [d["_id"] for d in mixed.find(spec).sort(sort)] == expected
    assert bool(compared) == (spec == {})  # dicts have no native key


# --- compact_index, plain_values: the hash index holds what it needs, once ---------------

def test_the_compact_index_gives_upstreams_candidates_and_keeps_nothing_for_missing_values():
    """Pinned to litemongo 0.2.0: upstream's FieldIndex keeps a set per document even where
    the document has no value at the path; the compact one keeps none, and after the same
    adds and removes gives the same candidates for every key."""
    litemongo_changes.apply()
    upstream_class = litemongo_changes.UPSTREAM["FieldIndex"]
    docs = {f"n:{i}": {"level": "Org" if i % 3 else "Customer", "tags": ["a", f"t{i % 4}"],
                       "when": datetime.datetime(2024, 1, 1 + i % 5), "n": i % 7 or None,
                       "deep": [{"x": 1}] if i % 11 == 0 else None if i % 13 == 0 else {"x": i % 2},
                       "flag": [True, False, 1, 0.0][i % 4],
                       "oid": bson.ObjectId(f"65a0000000000000000000{i % 9:02d}")}
            for i in range(60)}
    docs["n:61"] = {}
    docs["n:62"] = {"level": ["Org", "Org"], "tags": ["a", 3, None, ["x"], "t1"], "n": [3, "3"]}
    for path in ("level", "tags", "when", "n", "deep.x", "absent", "_id", "flag", "oid"):
        upstream, compact = upstream_class(path), compact_index.CompactFieldIndex(path)
        for index in (upstream, compact):
            for key, doc in docs.items():
                index.add(key, {"_id": key, **doc})
            for key in ("n:3", "n:4", "n:61", "n:99"):
                index.remove(key)
            index.add("n:4", {"_id": "n:4", "level": "Org", "tags": "z", "n": 3})
        wanted = set(upstream._entries) | {("s", "nobody")}
        for key in wanted:
            assert compact.candidates([key]) == upstream.candidates([key]), (path, key)
            assert set(compact.holding([key])) == upstream.candidates([key]), (path, key)
        assert compact.candidates(wanted) == upstream.candidates(wanted)
        for index in (upstream, compact):  # groups shrink: sets to tuples to one key
            for i in range(0, 58, 2):
                index.remove(f"n:{i}")
        for key in wanted:
            assert compact.candidates([key]) == upstream.candidates([key]), (path, key)
        if path == "absent":
            assert len(upstream._doc_keys) == 31 and not compact._doc_keys


def test_a_write_copies_plain_values_without_a_call_each_and_the_same_document(
        monkeypatch):
    """Upstream passes every value of a written document through its date patching, one
    call per value; the fix passes plain values through and gives an equal copy (same
    types: tuples become lists, OrderedDicts stay, dates lose their microseconds)."""
    from collections import OrderedDict

    from bson.son import SON
    from litemongo._vendor.mongomock import helpers

    litemongo_changes.apply()
    fixed = helpers.patch_datetime_awareness_in_document
    upstream = litemongo_changes.UPSTREAM["helpers.patch_datetime_awareness_in_document"]
    aware = datetime.datetime(2026, 11, 24, 12, 0, 0, 123456,
                              tzinfo=datetime.timezone(datetime.timedelta(hours=2)))

    class Text(str):
        pass

    keyed = {"_id": bson.ObjectId(), "name": "Ann", "search_keys": [f"k{i}" for i in range(40)],
             "n": 1, "f": 1.5, "flag": True, "none": None, "raw": b"x"}
    dated = {"when": aware, "naive": datetime.datetime(2026, 1, 2, 3, 4, 5, 999999),
             "day": datetime.date(2026, 1, 2), "nested": {"t": (1, "a", aware), "l": [[1, 2]]},
             "ordered": OrderedDict([("b", 1), ("a", aware)]), "son": SON([("x", 1)]),
             "text": Text("sub"), "stamp": bson.Timestamp(5, 1)}
    for document in (keyed, dated):
        mine = fixed(document)
        calls = []
        # Upstream recurses through the module's name: count its calls, upstream only.
        monkeypatch.setattr(helpers, "patch_datetime_awareness_in_document",
                            lambda value, calls=calls: calls.append(1) or upstream(value))
        theirs = upstream(document)
        monkeypatch.setattr(helpers, "patch_datetime_awareness_in_document", fixed)
        assert mine == theirs
        assert repr(mine) == repr(theirs)  # the same types all the way down
        assert mine is not document
        if document is keyed:
            assert len(calls) >= 40  # upstream: one call per search key


# --- text_order: a page sorted by a text field reads only that page ----------------------

def _named(collection, count=600):
    """Orgs and Customers with repeated names (ties), some without a name or with None."""
    collection.create_index([("level", 1), ("archived", 1), ("name", 1)])
    docs = []
    for i in range(count):
        doc = {"_id": i, "level": "Org" if i % 3 else "Customer", "archived": i % 17 == 0,
               "rank": i % 5, "name": f"N{(i * 7919) % 211:03d}"}
        if i % 50 == 7:
            del doc["name"]
        elif i % 50 == 9:
            doc["name"] = None
        docs.append(doc)
    collection.insert_many(docs)


ORDERED = [
    ({}, [("name", 1)], 0, 0),
    ({}, [("name", -1)], 0, 0),
    ({"level": "Org", "archived": False}, [("name", 1)], 0, 10),
    ({"level": "Org", "archived": False}, [("name", -1)], 5, 10),
    ({"level": "Org", "archived": False}, [("name", 1)], 380, 20),  # past the end
    ({"level": "Customer"}, [("name", 1)], 0, 0),  # walked, then the rest sorted
    ({"level": "Customer", "archived": False}, [("name", -1)], 3, 0),
    ({"_id": {"$in": [5, 7, 9, 500, 501]}}, [("name", 1)], 0, 0),  # no value; None
    ({"level": {"$in": ["Org", "Customer"]}, "name": {"$regex": "^N1"}}, [("name", 1)], 3, 7),
    ({"rank": 2}, [("name", -1)], 0, 30),  # no index on rank: every document walked
    ({"level": "Org"}, [("name", 1), ("_id", -1)], 0, 10),  # two keys: sorted as before
]


def _ordered_answers(collection):
    return [[d["_id"] for d in collection.find(spec).sort(sort).skip(skip).limit(limit)]
            for spec, sort, skip, limit in ORDERED]


def _upstream_answers(collection, monkeypatch):
    with monkeypatch.context() as patched:
        patched.setattr(vendored.Collection, "_get_dataset",
                        litemongo_changes.UPSTREAM["Collection._get_dataset"])
        patched.setattr(vendored.Cursor, "_compute_results",
                        litemongo_changes.UPSTREAM["Cursor._compute_results"])
        return _ordered_answers(collection)


def _decoded(collection, monkeypatch, query):
    decoded = []
    real = collection._store._documents._decode_doc
    with monkeypatch.context() as patched:
        patched.setattr(collection._store._documents, "_decode_doc",
                        lambda blob: decoded.append(1) or real(blob))
        list(query())
    return len(decoded)


def test_upstream_decodes_every_match_for_a_sorted_page_and_the_fix_only_the_page(
        tmp_path, monkeypatch):
    """Pinned to litemongo 0.2.0: a sorted page of 10 Orgs decodes all 376 live Orgs
    upstream; read along the name index it decodes those 10."""
    litemongo_changes.apply()
    client = litemongo.MongoClient(str(tmp_path / "store"))
    orgs = client["db"]["orgs"]
    _named(orgs)
    list(orgs.find({"level": "Org"}).limit(1))  # the index is built

    def page():
        return orgs.find({"level": "Org", "archived": False}).sort("name", 1).limit(10)

    with monkeypatch.context() as patched:
        patched.setattr(vendored.Collection, "_get_dataset",
                        litemongo_changes.UPSTREAM["Collection._get_dataset"])
        assert _decoded(orgs, patched, page) == 376
        expected = [d["_id"] for d in page()]
    assert _decoded(orgs, monkeypatch, page) == 10
    assert [d["_id"] for d in page()] == expected
    client.close()


def _named_by_object_ids(collection, count=600):
    """As `_named`, with ObjectIds that do not follow the insertion order."""
    from bson import ObjectId

    _named(collection, count)
    ids = sorted((ObjectId() for _ in range(count)), key=lambda oid: str(oid)[::-1])
    docs = list(collection.find())
    collection.delete_many({})
    collection.insert_many([{**doc, "_id": oid, "n": doc["_id"]}
                            for doc, oid in zip(docs, ids, strict=True)])


TIED = [  # a sort on one key then _id: what a cursor-paged list sends
    ({}, [("name", 1), ("_id", 1)], 0, 0),
    ({}, [("name", -1), ("_id", -1)], 0, 0),
    ({}, [("name", -1), ("_id", 1)], 0, 0),
    ({"level": "Org", "archived": False}, [("name", 1), ("_id", 1)], 0, 10),
    ({"level": "Org", "archived": False}, [("name", -1), ("_id", -1)], 5, 10),
    ({"level": "Customer", "archived": False}, [("name", 1), ("_id", -1)], 3, 0),
    ({"rank": 2}, [("name", 1), ("_id", 1)], 0, 30),
]


def test_several_keys_are_held_in_place_as_their_union(tmp_path):
    """`$in` over several values (a list of every Level) reads the index's groups in
    place: the same keys as the union `candidates` copies, each listed once."""
    litemongo_changes.apply()
    client = litemongo.MongoClient(str(tmp_path / "store"))
    people = client["db"]["people"]
    _named(people)
    people.insert_one({"_id": "tagged", "level": ["Org", "Customer"], "name": "Both"})
    list(people.find({"level": "Org"}).limit(1))  # the index is built
    field = people._store._get_query_index()._fields["level"]
    for keys in ([("s", "Org"), ("s", "Customer")], [("s", "Org"), ("s", "Nobody")], []):
        held, union = field.holding(keys), field.candidates(keys)
        assert not isinstance(held, set) or len(keys) < 2
        assert sorted(map(str, held)) == sorted(map(str, union))  # each once
        assert len(held) >= len(union) and all(key in held for key in union)
    client.close()


def test_a_sort_then_id_is_read_along_the_index_with_upstreams_answers(tmp_path, monkeypatch):
    """Ties (and documents without a name) come in `_id` order, as upstream sorts them,
    and a page of 10 Orgs decodes those 10."""
    litemongo_changes.apply()
    client = litemongo.MongoClient(str(tmp_path / "store"))
    people = client["db"]["people"]
    _named_by_object_ids(people)

    def answers():
        return [[d["_id"] for d in people.find(spec).sort(sort).skip(skip).limit(limit)]
                for spec, sort, skip, limit in TIED]

    with monkeypatch.context() as patched:
        patched.setattr(vendored.Collection, "_get_dataset",
                        litemongo_changes.UPSTREAM["Collection._get_dataset"])
        patched.setattr(vendored.Cursor, "_compute_results",
                        litemongo_changes.UPSTREAM["Cursor._compute_results"])
        expected = answers()
    assert answers() == expected

    def page():
        return people.find({"level": "Org", "archived": False}).sort(
            [("name", 1), ("_id", 1)]).limit(10)

    assert _decoded(people, monkeypatch, page) == 10
    client.close()


def test_sorted_answers_along_the_index_are_upstreams_through_writes(tmp_path, monkeypatch):
    one, two = _two_connections(tmp_path)
    writer, reader = one["db"]["people"], two["db"]["people"]
    _named(writer)
    for collection in (writer, reader):
        assert _ordered_answers(collection) == _upstream_answers(collection, monkeypatch)
    # Writes of both connections: renamed, named, unnamed, removed, added, tied.
    writer.update_one({"_id": 3}, {"$set": {"name": "A first"}})
    writer.update_one({"_id": 7}, {"$set": {"name": "N100"}})
    writer.update_one({"_id": 4}, {"$unset": {"name": ""}})
    writer.delete_one({"_id": 5})
    writer.insert_one({"_id": 1000, "level": "Org", "archived": False, "name": "N100"})
    reader.update_one({"_id": 10}, {"$set": {"name": "Zed"}})
    reader.insert_one({"_id": 1001, "level": "Org", "archived": False, "name": "N001"})
    reader.delete_one({"_id": 11})
    for collection in (writer, reader):
        assert _ordered_answers(collection) == _upstream_answers(collection, monkeypatch)
    field = reader._store._get_query_index()._fields["name"]
    assert field._order is not None and field._order_changes > 0  # kept, not re-sorted
    # A name that is not a string: the sort is upstream's from then on.
    writer.update_one({"_id": 12}, {"$set": {"name": 12}})
    assert _ordered_answers(reader) == _upstream_answers(reader, monkeypatch)
    assert reader._store._get_query_index()._fields["name"].in_order() is None
    one.close()
    two.close()


def test_many_changes_drop_the_order_and_the_next_sort_builds_it_again(tmp_path,
                                                                        monkeypatch):
    litemongo_changes.apply()
    monkeypatch.setattr(compact_index, "ORDER_CHANGES", 10)
    client = litemongo.MongoClient(str(tmp_path / "store"))
    people = client["db"]["people"]
    _named(people)
    _ordered_answers(people)
    field = people._store._get_query_index()._fields["name"]
    assert field._order is not None
    for i in range(12):
        people.update_one({"_id": 100 + i}, {"$set": {"name": f"M{i}"}})
    assert field._order is None
    assert _ordered_answers(people) == _upstream_answers(people, monkeypatch)
    assert field._order is not None
    client.close()


# --- candidates: a query's candidates are read from the index in place -------------------

FILTERS = [
    {"level": "Org", "archived": False},
    {"level": "Customer", "$and": [{"archived": False}, {"rank": 2}]},
    {"level": {"$in": ["Org", "Customer"]}, "name": "N007"},
    {"level": "nobody", "archived": False},
    {"name": {"$regex": "^N0"}, "archived": True},
    {},
]


def test_upstream_copies_a_set_per_condition_and_the_fix_reads_them_in_place(tmp_path,
                                                                              monkeypatch):
    """Pinned to litemongo 0.2.0: the planner asks each indexed condition for a copied
    set and intersects them; the fix reads the index's own sets, with the same answers
    in the same (natural) order."""
    litemongo_changes.apply()
    client = litemongo.MongoClient(str(tmp_path / "store"))
    people = client["db"]["people"]
    _named(people)
    people.create_index("rank")
    copies = []
    real = compact_index.CompactFieldIndex.candidates
    monkeypatch.setattr(compact_index.CompactFieldIndex, "candidates",
                        lambda self, keys: copies.append(self.path) or real(self, keys))

    def answers():
        return [[d["_id"] for d in people.find(spec)] for spec in FILTERS]

    from litemongo import sqlite_store
    with monkeypatch.context() as patched:
        patched.setattr(sqlite_store.CollectionStore, "find_candidates",
                        litemongo_changes.UPSTREAM["CollectionStore.find_candidates"])
        expected = answers()
        assert copies.count("archived") == 3  # copied each time ("nobody" stops first)
    copies.clear()
    assert answers() == expected
    assert copies == []  # not even the $in: its two keys' groups are read in place
    assert expected[0] and expected[3] == []
    client.close()


DENSE_PAGES = [  # the Org list unfiltered: its Level and Archive flag held by most documents
    ({"level": "Org", "archived": False}, 0, 20),
    ({"level": "Org", "archived": False}, 200, 20),
    ({"level": "Org", "archived": False}, 0, 0),
    ({"archived": False}, 560, 30),  # past the end
    ({"level": "Org", "rank": 2}, 0, 0),  # rank is not indexed here: the filter decides
]


def test_upstream_orders_every_dense_candidate_for_a_page_and_the_fix_walks_to_it(
        tmp_path, monkeypatch):
    """Pinned to litemongo 0.2.0: a query most documents pass (the unfiltered Org list)
    puts every candidate in natural order for a page of 20; the fix walks the natural
    order and reads a growing batch, with the same answers in the same order through an
    update (it keeps its place), an insert (last) and a delete."""
    from litemongo import sqlite_store

    litemongo_changes.apply()
    client = litemongo.MongoClient(str(tmp_path / "store"))
    people = client["db"]["people"]
    _named(people)

    def answers():
        return [[d["_id"] for d in people.find(spec).skip(skip).limit(limit)]
                for spec, skip, limit in DENSE_PAGES]

    def page():
        return people.find({"level": "Org", "archived": False}).limit(20)

    def upstream(read):
        with monkeypatch.context() as patched:
            patched.setattr(sqlite_store.CollectionStore, "find_candidates",
                            litemongo_changes.UPSTREAM["CollectionStore.find_candidates"])
            return read()

    ordered = []
    real = vendored_indexing.CollectionIndexes.in_natural_order
    monkeypatch.setattr(vendored_indexing.CollectionIndexes, "in_natural_order",
                        lambda self, keys: ordered.extend(real(self, keys)) or real(self, keys))
    assert answers() == upstream(answers)
    upstream(lambda: list(page()))
    assert len(ordered) > 300  # every Org put in order for a page of 20
    ordered.clear()
    assert len(list(page())) == 20 and ordered == []
    assert _decoded(people, monkeypatch, page) == 20
    people.update_one({"_id": 4}, {"$set": {"name": "Z", "archived": True}})
    people.update_one({"_id": 8}, {"$set": {"name": "Y"}})
    people.insert_one({"_id": 1000, "level": "Org", "archived": False, "name": "A"})
    people.delete_one({"_id": 5})
    assert answers() == upstream(answers)
    assert answers()[1][:3] != [] and 1000 in answers()[2]
    client.close()


# --- transactions, batch_insert, in_set: one write is one SQLite transaction ------------

_RACE = """
import sys, litemongo
from admin_app.store import litemongo_changes
if sys.argv[2] == "fixed":
    litemongo_changes.apply()
client = litemongo.MongoClient(sys.argv[1])
counters = client["db"]["counters"]
if sys.argv[3] == "0":  # the store is made by the same litemongo that races on it
    counters.insert_one({"_id": "c", "n": 0})
for _ in range(int(sys.argv[3])):
    doc = counters.find_one({"_id": "c"})
    # A compare-and-set, as the record write path makes: move on only from what was read.
    while not counters.update_one({"_id": "c", "n": doc["n"]},
                                  {"$set": {"n": doc["n"] + 1}}).matched_count:
        doc = counters.find_one({"_id": "c"})
client.close()
"""


def _race(tmp_path, mode: str, each: int) -> int:
    import subprocess
    import sys

    # (An unchanged litemongo cannot write a file the changes made: see keys_table.)
    subprocess.run([sys.executable, "-c", _RACE, str(tmp_path / mode), mode, "0"], check=True)
    workers = [subprocess.Popen([sys.executable, "-c", _RACE, str(tmp_path / mode), mode,
                                 str(each)]) for _ in range(2)]
    assert all(w.wait(timeout=120) == 0 for w in workers)
    client = litemongo.MongoClient(str(tmp_path / mode))
    try:
        return client["db"]["counters"].find_one({"_id": "c"})["n"]
    finally:
        client.close()


def test_upstream_loses_compare_and_sets_between_processes_and_the_fix_none(tmp_path):
    """Upstream's update_one reads and writes in separate steps: two processes both see
    n, both "win" the compare-and-set and one increment is lost. In one transaction each
    compare-and-set is atomic, as on MongoDB."""
    assert _race(tmp_path, "fixed", 1500) == 3000
    assert _race(tmp_path, "upstream", 1500) < 3000


def test_a_failed_write_leaves_nothing_and_the_index_answers_from_the_file(tmp_path):
    """A full disk half-way through a batch (SQLite's own SQLITE_FULL, by a page limit)
    rolls the whole batch back, in the file and in the in-process index."""
    import sqlite3

    litemongo_changes.apply()
    client = litemongo.MongoClient(str(tmp_path / "store"))
    people = client["db"]["people"]
    people.insert_many([{"_id": i, "level": "Customer"} for i in range(3)])
    assert people.count_documents({"level": "Customer"}) == 3
    connection = people._store._connection
    pages = connection.execute("PRAGMA page_count").fetchone()[0]
    connection.execute(f"PRAGMA max_page_count = {pages + 2}")
    with pytest.raises(sqlite3.OperationalError, match="full"):
        people.insert_many([{"_id": i, "level": "Org", "notes": "x" * 2000}
                            for i in range(10, 40)])
    connection.execute("PRAGMA max_page_count = 1073741823")
    # The batch is gone whole: not one of its documents, in the file or the index.
    assert people.count_documents({"level": "Org"}) == 0
    assert people.count_documents({}) == 3
    client.close()
    reopened = litemongo.MongoClient(str(tmp_path / "store"))
    assert reopened["db"]["people"].count_documents({}) == 3
    reopened.close()


def test_a_batch_of_new_documents_is_stored_as_upstream_stores_it_one_by_one(tmp_path):
    """The one-statement insert stores the same documents (dates patched, ids given),
    the index answers the same, and a duplicate id raises upstream's error."""
    from litemongo._vendor.mongomock import collection as vendored
    from pymongo.errors import BulkWriteError

    litemongo_changes.apply()
    stamp = datetime.datetime(2026, 1, 2, 3, 4, 5, 678901)
    answers = {}
    for mode in ("fixed", "upstream"):
        client = litemongo.MongoClient(str(tmp_path / mode))
        people = client["db"]["people"]
        people.find_one({"level": "Org"})  # the index exists, so inserts maintain it
        docs = [{"name": f"P{i}", "level": "Org" if i % 3 else "Customer", "at": stamp,
                 "tags": ["a", {"b": i}]} for i in range(50)]
        if mode == "upstream":
            fast = vendored.Collection._insert
            vendored.Collection._insert = litemongo_changes.UPSTREAM["Collection._insert"]
        try:
            ids = people.insert_many(docs).inserted_ids
            with pytest.raises(BulkWriteError) as duplicate:
                people.insert_many([{"_id": "new"}, {"_id": ids[0]}], ordered=True)
        finally:
            if mode == "upstream":
                vendored.Collection._insert = fast
        assert ids == [d["_id"] for d in docs]
        answers[mode] = ([{k: v for k, v in d.items() if k != "_id"}
                          for d in people.find({"level": "Org"}).sort("name", 1)],
                         duplicate.value.details["nInserted"])
        client.close()
    assert answers["fixed"] == answers["upstream"]
    assert answers["fixed"][0][0]["at"] == datetime.datetime(2026, 1, 2, 3, 4, 5, 678000)


IN_VALUES = [1, 1.0, True, False, 0, None, "a", "b", "A", [1, 2], ["a", "z"], {"k": 1},
             bson.ObjectId("65a000000000000000000001"), 2.5, "1"]


@pytest.mark.parametrize("listed", [
    [1, "a", None, 3, 4, 5, 6, 7, 8],                      # numbers, text and null
    [True, "b", 9, 10, 11, 12, 13, 14],                    # True is 1 for MongoDB's $in
    ["z", "y", "x", "w", "v", "u", "t", "A"],               # nothing but text
    [bson.ObjectId("65a000000000000000000001"), *range(10)],
    [{"k": 1}, 1, 2, 3, 4, 5, 6, 7, 8],                    # a document: upstream's path
    [__import__("re").compile("^a"), 2, 3, 4, 5, 6, 7, 8],  # a pattern: upstream's path
    [1, 2, 3],                                             # short: upstream's path
])
def test_in_and_nin_answer_as_upstream_with_a_set(tmp_path, listed):
    """`$in` on a long list asks a set: the same documents match as upstream's scan."""
    from litemongo._vendor.mongomock import filtering

    litemongo_changes.apply()
    client = litemongo.MongoClient(str(tmp_path / "store"))
    things = client["db"]["things"]
    things.insert_many([{"_id": i, "v": v} for i, v in enumerate(IN_VALUES)]
                       + [{"_id": "missing"}])
    operators = filtering._filterer_inst._operator_map
    answers = {}
    for mode in ("fixed", "upstream"):
        fixed = dict(operators)
        if mode == "upstream":
            upstream = litemongo_changes.UPSTREAM["filtering.$in"]
            operators["$in"] = upstream
            operators["$nin"] = lambda dv, sv, up=upstream: not up(dv, sv)
        try:
            answers[mode] = [sorted(map(str, (d["_id"] for d in things.find({"v": {op: listed}}))))
                             for op in ("$in", "$nin")]
        finally:
            operators.update(fixed)
    assert answers["fixed"] == answers["upstream"]
    client.close()


def test_upstream_scans_the_list_for_every_document_and_the_fix_asks_a_set(tmp_path):
    from litemongo._vendor.mongomock import filtering

    litemongo_changes.apply()
    client = litemongo.MongoClient(str(tmp_path / "store"))
    things = client["db"]["things"]
    things.insert_many([{"_id": i} for i in range(400)])
    wanted = list(range(0, 400, 2))
    compared = []

    class Counted(int):
        def __eq__(self, other):
            compared.append(1)
            return int.__eq__(self, other)
        __hash__ = int.__hash__

    listed = [Counted(i) for i in wanted]
    operators = filtering._filterer_inst._operator_map
    assert len(list(things.find({"_id": {"$in": listed}}))) == 200
    with_set = len(compared)
    compared.clear()
    fixed = operators["$in"]
    operators["$in"] = litemongo_changes.UPSTREAM["filtering.$in"]
    try:
        assert len(list(things.find({"_id": {"$in": listed}}))) == 200
    finally:
        operators["$in"] = fixed
    assert len(compared) > 200 * 50 and with_set <= 400
    client.close()


def test_an_unordered_insert_with_a_duplicate_keeps_the_other_documents_as_upstream(tmp_path):
    """MongoDB (and upstream, which commits each document) keeps every other document of
    an unordered insert_many that meets a duplicate key: so does one transaction."""
    from pymongo.errors import BulkWriteError

    litemongo_changes.apply()
    client = litemongo.MongoClient(str(tmp_path / "store"))
    people = client["db"]["people"]
    people.insert_one({"_id": 2})
    with pytest.raises(BulkWriteError):
        people.insert_many([{"_id": i} for i in range(5)], ordered=False)
    assert sorted(d["_id"] for d in people.find({})) == [0, 1, 2, 3, 4]
    with pytest.raises(BulkWriteError):
        people.insert_many([{"_id": 9}, {"_id": 0}, {"_id": 10}], ordered=True)
    assert sorted(d["_id"] for d in people.find({})) == [0, 1, 2, 3, 4, 9]
    client.close()


# --- keys_table: search keys are kept in SQLite, not in each worker ----------------------

WORDS = ("acme", "manufacturing", "bright", "water", "council", "north", "wind", "traders",
         "alice", "carter", "bob", "singh", "finance", "facilities", "marketing")


def _keyed(count=240):
    """Records keyed as the app keys them (every prefix of every word), and the odd ones:
    keys as a plain string, with numbers, nested, None, none at all."""
    from admin_app.models.search import keys_of

    docs = []
    for i in range(count):
        name = f"{WORDS[i % 15].title()} {WORDS[(i // 15) % 15].title()} {i % 13}"
        docs.append({"_id": i, "level": "Org" if i % 3 else "Customer",
                     "archived": i % 17 == 0, "name": name,
                     "search_keys": keys_of([name, WORDS[(i * 11) % 15]])})
    docs += [{"_id": 900, "level": "Org", "archived": False, "name": "Plain",
              "search_keys": "ac"},
             {"_id": 901, "level": "Org", "archived": False, "name": "Numbered",
              "search_keys": [5, "ac", 5.0, None]},
             {"_id": 902, "level": "Org", "archived": False, "name": "Nested",
              "search_keys": [["ac"], {"k": "ac"}]},
             {"_id": 903, "level": "Org", "archived": False, "name": "None", "search_keys": None},
             {"_id": 904, "level": "Org", "archived": False, "name": "Keyless"}]
    return docs


KEYED_QUERIES = [
    ({"search_keys": "ac"}, [("name", 1)], 0, 5),
    ({"search_keys": "ac", "level": "Org"}, None, 0, 0),
    ({"search_keys": "ac", "$and": [{"search_keys": "ma"}]}, [("name", 1)], 0, 10),
    ({"level": "Org", "archived": False, "search_keys": "a",
      "$and": [{"search_keys": "w"}]}, [("name", 1)], 2, 10),
    ({"search_keys": {"$in": ["bo", "zz"]}}, [("name", -1)], 2, 5),
    ({"search_keys": {"$in": []}}, None, 0, 0),
    ({"search_keys": "nothing"}, [("name", 1)], 0, 10),
    ({"search_keys": 5}, None, 0, 0),  # not a string: not planned
    ({"search_keys": {"$all": ["ac", "ma"]}}, None, 0, 0),
    ({"search_keys": {"$regex": "^ca"}}, [("name", 1)], 0, 5),
    ({"search_keys": None}, None, 0, 0),
    ({"level": "Customer", "archived": False, "search_keys": "a"}, [("name", 1)], 0, 20),
    ({"$and": [{"search_keys": "a"}, {"level": "Org"}]}, [("name", 1)], 3, 4),
    ({"search_keys": "a"}, None, 0, 0),
    ({"search_keys": "a"}, [("name", -1)], 20, 0),
]


def _keyed_answers(collection, queries=None):
    """The ids each (query, sort, skip, limit) finds, in order (KEYED_QUERIES by default)."""
    out = []
    for spec, sort, skip, limit in KEYED_QUERIES if queries is None else queries:
        cursor = collection.find(spec)
        cursor = cursor.sort(sort) if sort else cursor
        out.append([d["_id"] for d in cursor.skip(skip).limit(limit)])
    return out


def _keyed_pair(tmp_path, name="people"):
    """The same records in the embedded store (changed) and in mongomock (the answers
    upstream gives, from every document)."""
    import mongomock

    litemongo_changes.apply()
    client = litemongo.MongoClient(str(tmp_path / "store"))
    reference = mongomock.MongoClient()
    for collection in (client["db"][name], reference["db"][name]):
        collection.create_index([("level", 1), ("archived", 1), ("search_keys", 1),
                                 ("name", 1)])
        collection.insert_many(_keyed())
    return client, client["db"][name], reference["db"][name]


def _table_pairs(store):
    return set(store._connection.execute(
        "SELECT k.key, d.id FROM dictadmin_keys AS k JOIN dictadmin_keyed AS d ON d.n = k.n"))


def _pairs_from_documents(store, every=False):
    """What the table should hold: each document's longest string keys (none that starts
    another of its keys; `every`: all of them, as upstream's index holds them)."""
    from admin_app.store.litemongo_changes.keys_table import longest

    pairs = set()
    for key, doc in store._documents.items():
        value = doc.get("search_keys")
        strings = {entry for entry in ([value] if isinstance(value, str) else value or ())
                   if isinstance(entry, str)}
        pairs.update((entry, key) for entry in (strings if every else longest(strings)))
    return pairs


def test_a_document_keeps_its_longest_keys_and_a_key_finds_those_it_starts():
    from admin_app.store.litemongo_changes.keys_table import _after, longest

    assert longest(["a", "al", "ali", "alice", "b", "bo", "bob", "alicia", "z"]) == \
        ["alice", "alicia", "bob", "z"]
    assert longest([]) == []
    assert _after("ali") == "alj" and _after("a\U0010ffff") == "b"
    assert _after("\U0010ffff") is None and _after("\ud7ff") == "\ue000"


def test_upstream_keeps_every_search_key_in_the_process_and_the_fix_in_the_file(
        tmp_path, monkeypatch):
    """Pinned to litemongo 0.2.0: upstream's hash index holds each (search key, document)
    pair in the process that reads; the fix keeps none in the process, the file holds
    them, and every query answers as upstream's (mongomock's) does, on every branch of
    the table's answer (a few read at once, many asked a batch at a time, read whole)."""
    from admin_app.store.litemongo_changes import keys_table, text_order

    client, people, reference = _keyed_pair(tmp_path)
    store = people._store
    expected = _keyed_answers(reference)
    assert all(expected[n] for n in (0, 2, 3, 4, 7, 11, 12, 13, 14)) and expected[5] == []
    assert 900 in expected[1] and 901 in expected[1] and 902 not in expected[1]
    pairs = _pairs_from_documents(store, every=True)
    with monkeypatch.context() as patched:  # upstream: the path indexed in the process
        patched.setattr(store, "_paths_in_sqlite", frozenset())
        store._query_index = None
        assert _keyed_answers(people) == expected
        held = store._get_query_index()._fields["search_keys"]
        assert all(doc in held.candidates([("s", key)]) for key, doc in pairs)
    store._query_index = None
    assert _keyed_answers(people) == expected
    assert "search_keys" not in store._get_query_index()._fields
    assert _table_pairs(store) == _pairs_from_documents(store) < pairs
    # (few, batch, walked, walked_most, table_read): small rounds and batches, a walk
    # that never reads the table (a read when the walk is over), everything at once.
    for few, batch, walked, most, read in ((5, 3, 2, 4, 1), (0, 1, 1, 1, 0),
                                           (10_000, 10_000, 10_000, 10_000, 10_000)):
        monkeypatch.setattr(keys_table, "FEW", few)
        monkeypatch.setattr(keys_table, "BATCH", batch)
        monkeypatch.setattr(text_order, "WALKED", walked)
        monkeypatch.setattr(text_order, "WALKED_MOST", most)
        monkeypatch.setattr(text_order, "TABLE_READ", read)
        assert _keyed_answers(people) == expected, (few, batch, walked, most, read)
    client.close()


FILTERED = [  # (query, sort, skip, limit): a list page as the app asks it, and beyond
    ({"level": "Org", "archived": False, "search_keys": "=tier:Gold\x1f",
      "$and": [{"search_keys": "a"}, {"search_keys": {"$in": ["@d:202", "@d:203"]}}]},
     [("name", 1), ("_id", 1)], 0, 20),  # dense: walked, the table asked round by round
    ({"level": "Org", "archived": False, "search_keys": "=tier:Gold\x1f",
      "$and": [{"search_keys": "a"}, {"search_keys": {"$in": ["@d:202", "@d:203"]}}]},
     [("name", -1), ("_id", -1)], 40, 20),
    ({"level": "Org", "archived": False, "search_keys": "=tier:Gold\x1f",
      "$and": [{"search_keys": "acme"}]}, [("name", 1), ("_id", 1)], 0, 20),  # a few: read
    ({"level": "Customer", "archived": False, "search_keys": "=tier:Gold\x1f",
      "$and": [{"search_keys": "w"}]}, [("name", 1), ("_id", 1)], 0, 20),
    ({"level": "Org", "search_keys": "=tier:Gold\x1f", "$and": [{"search_keys": "=tier:Tin\x1f"}]},
     [("name", 1), ("_id", 1)], 0, 20),  # dense sets, nothing in common: walked to the end
    ({"search_keys": "a", "$and": [{"search_keys": "@d:2027"}]}, [("name", 1)], 0, 0),
    ({"level": "Org", "search_keys": "a"}, None, 0, 0),  # unsorted: the table a batch at a time
]


def _filtered(count=3000):
    """Records keyed as a filtered list keys them: a Tier, the prefixes of a date, and
    the prefixes of the words of the name."""
    from bson import ObjectId

    from admin_app.models.search import keys_of

    docs = []
    for i in range(count):
        name = f"{WORDS[(i * 7) % 15].title()} {WORDS[(i // 15) % 15].title()} {i % 13}"
        date = f"{2025 + i % 3}{1 + i % 12:02d}{1 + i % 28:02d}"
        docs.append({"_id": ObjectId(f"{i:024x}"), "level": "Org" if i % 10 else "Customer",
                     "archived": i % 17 == 0, "name": name,
                     "search_keys": [*keys_of([name]), f"=tier:{('Gold', 'Silver')[i % 2]}\x1f",
                                     *(f"@d:{date[:end]}" for end in range(1, 9))]})
    return docs


def _filtered_answers(collection):
    return _keyed_answers(collection, FILTERED)


def test_a_sorted_page_of_dense_filters_reads_no_set_of_the_keys_table_whole(tmp_path,
                                                                             monkeypatch):
    """A list page whose filters most records pass (a Tier, a date range, a one-letter
    search) walks the name order and asks the keys table for each round's keys: before,
    its first question counted every set and read every match (7,351 at 110,000
    records) to show 20. Here the sets are counted no further than the walk goes, none
    is read, and the answers are upstream's (mongomock's, from every document) on every
    branch: the walk, a set of a few read at once, a walk to the end, unsorted."""
    import mongomock

    from admin_app.store.litemongo_changes import keys_table, text_order

    litemongo_changes.apply()
    # 3,000 records, not 110,000: a set is as dear to read as a walk to count (the
    # walk stops for a set of up to TABLE_READ times what it looked at), so reading
    # is made dearer here.
    monkeypatch.setattr(text_order, "TABLE_READ", 1)
    client = litemongo.MongoClient(str(tmp_path / "store"))
    people, reference = client["db"]["people"], mongomock.MongoClient()["db"]["people"]
    for collection in (people, reference):
        collection.create_index([("level", 1), ("archived", 1), ("search_keys", 1),
                                 ("name", 1), ("_id", 1)])
        collection.insert_many(_filtered())
    expected = _filtered_answers(reference)
    assert all(len(expected[n]) == 20 for n in (0, 1, 2, 3))
    assert expected[4] == [] and len(expected[5]) > 100
    read, counted = [], []
    real_fetch, real_rows = keys_table.KeysHeld._fetch, keys_table._rows
    monkeypatch.setattr(keys_table.KeysHeld, "_fetch",
                        lambda self, *a: read.append(1) or real_fetch(self, *a))
    monkeypatch.setattr(keys_table, "_rows",
                        lambda *a: counted.append(a[3] if len(a) > 3 else None) or real_rows(*a))
    spec, sort, skip, limit = FILTERED[0]
    page = [d["_id"] for d in people.find(spec).sort(sort).skip(skip).limit(limit)]
    assert page == expected[0]
    assert read == [] and counted and None not in counted and max(counted) <= 1024 + 1
    spec, sort, skip, limit = FILTERED[2]  # `acme`: a set of a few hundred, read at once
    assert [d["_id"] for d in people.find(spec).sort(sort).limit(limit)] == expected[2]
    assert read == [1]
    assert _filtered_answers(people) == expected
    client.close()


WRITES = {
    "set keys": lambda c: c.update_one({"_id": 4}, {"$set": {"search_keys": ["ac", "new"]}}),
    "push": lambda c: c.update_many({"level": "Customer"}, {"$push": {"search_keys": "wi"}}),
    "pull": lambda c: c.update_many({}, {"$pull": {"search_keys": "ac"}}),
    "replace": lambda c: c.replace_one({"_id": 5}, {"level": "Org", "name": "Acme",
                                                    "search_keys": "acme"}),
    "unset": lambda c: c.update_one({"_id": 7}, {"$unset": {"search_keys": ""}}),
    "other field": lambda c: c.update_many({"level": "Org"}, {"$set": {"archived": True}}),
    "delete": lambda c: c.delete_many({"search_keys": "bo"}),
    "insert": lambda c: c.insert_many([{"_id": 1000 + i, "level": "Org", "archived": False,
                                        "name": f"Acme {i}", "search_keys": ["a", "ac"]}
                                       for i in range(30)]),
    "upsert": lambda c: c.update_one({"_id": 2000}, {"$set": {"search_keys": ["ac"]}},
                                     upsert=True),
    "drop": lambda c: c.drop() or c.insert_one({"_id": 1, "level": "Org",
                                                "search_keys": ["ac", "a"], "name": "A"}),
}


@pytest.mark.parametrize("write", list(WRITES))
@pytest.mark.parametrize("by", ["this connection", "another connection"])
def test_the_keys_table_follows_every_write_and_answers_as_upstream(tmp_path, write, by):
    client, people, reference = _keyed_pair(tmp_path)
    _keyed_answers(people)  # the reader's index is built before the write
    other = litemongo.MongoClient(str(tmp_path / "store"))
    writer = people if by == "this connection" else other["db"]["people"]
    WRITES[write](writer)
    WRITES[write](reference)
    assert _keyed_answers(people) == _keyed_answers(reference)
    assert _table_pairs(people._store) == _pairs_from_documents(people._store)
    for each in (client, other):
        each.close()


_UNCHANGED = """
import sys, litemongo
client = litemongo.MongoClient(sys.argv[1])
people = client["db"]["people"]
try:
    if sys.argv[2] == "fill":
        people.create_index([("level", 1), ("search_keys", 1), ("name", 1)])
        people.insert_many({docs})
    else:
        people.update_one({{"_id": 1}}, {{"$set": {{"search_keys": ["zz"]}}}})
except Exception as error:
    print(type(error).__name__, error)
client.close()
"""


def _unchanged_litemongo(tmp_path, what):
    import subprocess
    import sys

    script = _UNCHANGED.format(docs=repr(_keyed()))
    return subprocess.run([sys.executable, "-c", script, str(tmp_path / "store"), what],
                          check=True, capture_output=True, text=True).stdout


def test_a_file_written_before_the_change_gets_its_table_once(tmp_path):
    """A store written without the change (litemongo as it ships) is opened with it: the
    table is filled from the documents, and answers are upstream's."""
    import mongomock

    assert _unchanged_litemongo(tmp_path, "fill") == ""
    litemongo_changes.apply()
    client = litemongo.MongoClient(str(tmp_path / "store"))
    people = client["db"]["people"]
    reference = mongomock.MongoClient()["db"]["people"]
    reference.insert_many(_keyed())
    assert _table_pairs(people._store) == _pairs_from_documents(people._store) != set()
    assert _keyed_answers(people) == _keyed_answers(reference)
    client.close()


def test_litemongo_without_the_change_cannot_write_a_file_that_keeps_keys(tmp_path):
    """Its write would leave the table behind (wrong answers); it is refused instead."""
    client, people, _reference = _keyed_pair(tmp_path)
    client.close()
    said = _unchanged_litemongo(tmp_path, "update")
    assert said.startswith("OperationalError") and "dictadmin_keys_of" in said
    client = litemongo.MongoClient(str(tmp_path / "store"))
    assert client["db"]["people"].find_one({"_id": 1})["search_keys"] != ["zz"]
    client.close()


def test_upstream_reindexes_every_path_of_a_saved_document_and_the_fix_what_changed(
        tmp_path, monkeypatch):
    """Pinned to litemongo 0.2.0: upstream's `CollectionIndexes.add` of a document already
    indexed removes it from every path and adds it again, so a save that changes the phone
    moves the document in the name's value order too (two copies of that order, ~2 ms each
    at 110,000 documents); the fix leaves each path whose keys did not change, with the
    same index as a full rebuild."""
    litemongo_changes.apply()
    client = litemongo.MongoClient(str(tmp_path / "store"))
    people = client["db"]["people"]
    _named(people)
    people.create_index("phone")
    list(people.find({"level": "Org"}).sort("name", 1).limit(5))  # the name order is built
    store = people._store
    moved = []
    real = compact_index.CompactFieldIndex._reorder
    monkeypatch.setattr(compact_index.CompactFieldIndex, "_reorder",
                        lambda self, *a, **k: moved.append(self.path) or real(self, *a, **k))

    def save_phones():
        for i in (10, 11, 12):
            people.update_one({"_id": i}, {"$set": {"phone": f"+44 {i}"}})

    from litemongo._vendor.mongomock import indexing
    with monkeypatch.context() as patched:
        patched.setattr(indexing.CollectionIndexes, "add",
                        litemongo_changes.UPSTREAM["CollectionIndexes.add"])
        save_phones()
        assert moved == ["name", "name"] * 3  # removed from the order, then put back
    moved.clear()
    save_phones()
    people.update_one({"_id": 13}, {"$set": {"name": "N000"}})
    assert moved == ["name", "name"]  # only the save that changed the name
    assert _index_state(store) == _rebuilt_state(store)
    client.close()


# --- opening: a new collection is made once, by however many processes -------------------

_OPENERS = """
import sys, time, traceback, litemongo
from admin_app.store import litemongo_changes
if sys.argv[2] == "fixed":
    litemongo_changes.apply()
start, rounds = float(sys.argv[3]), int(sys.argv[4])
client = litemongo.MongoClient(sys.argv[1])
failures = 0
for n in range(rounds):
    while time.time() < start + n * 0.05:  # every process opens collection n together
        pass
    try:
        client[f"db{n % 4}"][f"new{n}"].insert_one({"n": n})
    except Exception:  # what a seed load or a worker would have died of
        failures += 1
        traceback.print_exc()
client.close()
sys.exit(1 if failures else 0)
"""


def _open_together(folder, mode: str, rounds: int = 40) -> tuple[int, str]:
    """Five processes open the same new databases and collections at the same moments;
    how many of them failed, and what they said."""
    import subprocess
    import sys
    import time

    start = time.time() + 3  # after the processes have started
    openers = [subprocess.Popen([sys.executable, "-c", _OPENERS, str(folder), mode,
                                 str(start), str(rounds)], stderr=subprocess.PIPE, text=True)
               for _ in range(5)]
    outcomes = []
    for opener in openers:
        said = opener.communicate(timeout=120)[1]
        outcomes.append((opener.returncode, said))
    return sum(1 for code, _ in outcomes if code), "".join(said for _, said in outcomes)


def test_processes_opening_new_collections_together_all_succeed(tmp_path):
    """In turns, each finds the folder and the file the first one made."""
    failed, said = _open_together(tmp_path / "fixed", "fixed")
    assert failed == 0, said
    client = litemongo.MongoClient(str(tmp_path / "fixed"))
    try:
        assert sum(client[f"db{n % 4}"][f"new{n}"].count_documents({}) for n in range(40)) \
            == 5 * 40
    finally:
        client.close()


def test_upstream_fails_some_of_the_processes_opening_new_collections_together(tmp_path):
    """Upstream's steps assume one opener: one finds a folder made under it, the journal
    switch meets another's transaction, or two both record a key format. A race may go
    either way once, so this tries up to five times."""
    reasons = ("FileExistsError", "database is locked", "UNIQUE constraint failed: info.key")
    for attempt in range(5):
        failed, said = _open_together(tmp_path / f"upstream{attempt}", "upstream")
        if failed:
            assert any(reason in said for reason in reasons), said
            return
    pytest.fail("five rounds of simultaneous openings all succeeded upstream")


def test_what_the_keys_table_read_whole_is_given_again_only_while_the_file_is_unchanged(
        tmp_path):
    """A list page reads a query's sets whole and its count asks again: the second ask
    reads nothing, until a write of this connection or a commit of another; answers are
    mongomock's throughout."""
    from admin_app.models.search import keys_of
    from admin_app.store.litemongo_changes.keys_table import KeysHeld

    client, people, reference = _keyed_pair(tmp_path)
    other = litemongo.MongoClient(str(tmp_path / "store"))["db"]["people"]
    store = people._store
    statements: list[str] = []
    store._connection.set_trace_callback(statements.append)
    query = {"search_keys": "ac", "$and": [{"search_keys": "ma"}]}

    def held(asked=({"ac"}, {"ma"})):
        statements.clear()
        return set(KeysHeld(store, [set(keys) for keys in asked]))

    def expected():
        return {store._documents.encode_key(d["_id"]) for d in reference.find(query)}

    first = held()
    assert first and any("dictadmin_keys" in s for s in statements)
    assert held() == first and not any("dictadmin_keys" in s for s in statements)
    assert held(({"ma"}, {"ac"})) == first and not any("dictadmin_keys" in s for s in statements)
    assert first == expected()
    for writer, new_id in ((people, 1000), (other, 1001)):  # this connection, then another
        for collection in (writer, reference):
            collection.insert_one({"_id": new_id, "name": "Ace Mab",
                                   "search_keys": keys_of(["Ace Mab"])})
        again = held()
        assert any("dictadmin_keys" in s for s in statements)
        assert again == expected() and store._documents.encode_key(new_id) in again
    store._connection.set_trace_callback(None)
    client.close()
