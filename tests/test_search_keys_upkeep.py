"""Search keys follow the dictionary; rewriting them records nothing in a record's history."""

from admin_app import records, store
from admin_app.dictionary.changes import update_field
from admin_app.models import Customer, upkeep
from admin_app.records import RecordChange

from . import record_writers

TRACE = records.Trace(records.trace.COMMAND_LINE, records.trace.IMPORT)


def stored(name):
    return Customer._get_collection().find_one({"name": name})


def test_making_a_field_searchable_and_unsearchable_rewrites_keys_and_records_no_history(
        store_app):
    with store_app.app_context():
        records.create("customer", {"name": "Ann Lee", "level": "Customer",
                                    "location": "Sheffield"}, TRACE)
        records.create("customer", {"name": "Bo Chan", "level": "Customer",
                                    "location": "Leeds"}, TRACE)
        logged, revision = RecordChange.objects.count(), stored("Ann Lee")["revision"]
        assert logged == 2 and "sheffield" not in stored("Ann Lee")["search_keys"]
        with record_writers.watching() as writers:
            update_field("customer", "location", searchable=True)
        assert "sheffield" in stored("Ann Lee")["search_keys"]
        assert "leeds" in stored("Bo Chan")["search_keys"]
        with record_writers.watching() as more:
            update_field("customer", "location", searchable=False)
        assert "sheffield" not in stored("Ann Lee")["search_keys"]
        assert "ann" in stored("Ann Lee")["search_keys"]
    assert {module for module, _method, _collection in writers + more} == \
        {"admin_app.records.write"}
    assert RecordChange.objects.count() == logged, "keys are not history"
    assert stored("Ann Lee")["revision"] == revision, "nor a new revision"


def test_an_older_store_gets_flags_and_keys_once_and_no_history(store_app):
    Customer._get_collection().insert_many([  # as a version before both wrote them
        {"name": "Ann Lee", "level": "Customer", "department": "Finance", "revision": 3},
        {"name": "Bo Chan", "level": "Customer", "archived": True, "revision": 1}])
    with store_app.app_context():
        assert upkeep.bring_up_to_date() == {"archive flags": 1, "search keys": 2}
        assert upkeep.bring_up_to_date() == {"archive flags": 0, "search keys": 0}
        assert store.database()[upkeep.MARKER].count_documents({}) == 2
    ann, bo = stored("Ann Lee"), stored("Bo Chan")
    assert (ann["archived"], bo["archived"]) == (False, True)
    assert {"ann", "lee", "finance"} <= set(ann["search_keys"])
    assert (ann["revision"], bo["revision"]) == (3, 1)
    assert RecordChange.objects.count() == 0
