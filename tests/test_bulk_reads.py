"""bulk_reads.documents gives what find() gives, on both stores, and relies on litemongo
only as far as the pinned version behaves as this test shows."""

from __future__ import annotations

import litemongo
from bson import ObjectId

from admin_app import store
from admin_app.models import Customer
from admin_app.store import bulk_reads

DOCS = [
    {"level": "Customer", "name": "Ann", "archived": False, "email": "ann@example.com",
     "directory": {"connector": "hq", "key": "a"}},
    {"level": "Customer", "name": "Bob", "archived": True,
     "directory": {"connector": "hq", "key": "b"}},
    {"level": "Customer", "name": "Cy", "directory": {"connector": "branch", "key": "c"}},
    {"level": "Org", "name": "Acme", "archived": False},
    {"level": "Org", "name": "Old Co", "archived": True},
    {"level": 1, "name": "not a level"},
    {"level": "Customer", "name": "No directory"},
]


def _seeded(store_app):
    collection = store.database()[Customer._get_collection_name()]
    collection.insert_many([{"_id": ObjectId(), **doc} for doc in DOCS])
    return collection


def test_documents_match_find_with_the_same_filter_and_fields(store_app):
    with store_app.app_context():
        collection = _seeded(store_app)
        for equal, fields in (({"directory.connector": "hq"}, ["name", "archived"]),
                              ({"level": "Org"}, ["name"]),
                              ({"level": "Customer", "archived": False}, ["email", "name"]),
                              ({"directory.connector": "nobody"}, ["name"])):
            expected = list(collection.find(equal, {"_id": 1, **dict.fromkeys(fields, 1)}))
            got = list(bulk_reads.documents(collection, equal, fields))
            assert got == expected, equal
        assert [d["name"] for d in bulk_reads.documents(collection, {"level": "Org"},
                                                        ["name"])] == ["Acme", "Old Co"]


def test_documents_are_the_callers_to_change(store_app):
    with store_app.app_context():
        collection = _seeded(store_app)
        for doc in bulk_reads.documents(collection, {"level": "Org"}, ["name"]):
            doc["name"] = "changed"
        assert sorted(d["name"] for d in collection.find({"level": "Org"})) == ["Acme",
                                                                              "Old Co"]


def test_the_litemongo_behaviour_relied_on(tmp_path):
    """Pinned: written for litemongo 0.2.0. If this fails after an upgrade, re-check that
    `CollectionStore.find_candidates` still (1) may hand out documents that do not match
    (so bulk_reads checks each) and (2) hands out fresh copies, then update the pin."""
    assert litemongo.__version__ == bulk_reads.LITEMONGO_VERSION
    client = litemongo.MongoClient(str(tmp_path / "store"))
    try:
        collection = client["db"]["people"]
        collection.insert_many([{"_id": 1, "level": "Org"}, {"_id": 2, "level": "Customer"}])
        store = bulk_reads._litemongo_store(collection)
        assert store is not None
        candidates = list(store.find_candidates({"level": "Org"}))
        assert {d["_id"] for d in candidates} == {1, 2}  # no index: every document
        candidates[0]["level"] = "changed"
        assert collection.find_one({"_id": 1})["level"] == "Org"
    finally:
        client.close()
