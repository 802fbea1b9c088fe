"""The one change to litemongo's query answers (admin_app/litemongo_fixes.py): a page of
results copies only that page, and every query answers exactly as upstream does."""

from __future__ import annotations

import litemongo
import pytest
from litemongo._vendor.mongomock import collection as vendored

from admin_app import litemongo_fixes

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


def _copies(collection, monkeypatch) -> int:
    copied = []
    real = vendored.Collection._copy_only_fields
    monkeypatch.setattr(vendored.Collection, "_copy_only_fields",
                        lambda self, *a: copied.append(1) or real(self, *a))
    list(collection.find({"level": "Customer"}).sort("name", 1).limit(20))
    return len(copied)


def test_upstream_copies_every_match_for_one_page_and_the_fix_only_the_page(people,
                                                                              monkeypatch):
    """Pinned to litemongo 0.2.0: after an upgrade, re-check the upstream cursor (does it
    still copy every match before slicing?) and update the pin."""
    assert litemongo.__version__ == litemongo_fixes.LITEMONGO_VERSION
    upstream = litemongo_fixes.UPSTREAM.get("Cursor._compute_results",
                                            vendored.Cursor._compute_results)
    with monkeypatch.context() as patched:
        patched.setattr(vendored.Cursor, "_compute_results", upstream)
        assert _copies(people, patched) == 90  # every Customer, to show 20
        before = _answers(people)
    litemongo_fixes.apply()
    assert _copies(people, monkeypatch) == 20
    assert _answers(people) == before


def test_a_cursor_still_counts_and_iterates_as_before(people):
    litemongo_fixes.apply()
    cursor = people.find({"level": "Customer"}).sort("name", 1).skip(5).limit(3)
    assert [d["_id"] for d in cursor] == [d["_id"] for d in list(
        people.find({"level": "Customer"}).sort("name", 1))[5:8]]
    assert people.count_documents({"level": "Customer"}) == 90
    cursor = people.find({"level": "Org"}).sort("name", 1).limit(2)
    assert cursor[1]["_id"] == [d["_id"] for d in people.find({"level": "Org"})
                                .sort("name", 1)][1]
