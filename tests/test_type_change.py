"""Changing a field's type is lossless, all or nothing, and History can revert it."""

import json
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from admin_app.customising import retype
from admin_app.customising.checked import DictionaryError, StaleDefinition
from admin_app.customising.fields import change_type, update_field
from admin_app.customising.revert import revert
from admin_app.dictionary import conversion
from admin_app.dictionary.documents import FieldDefinition
from admin_app.dictionary.history import DictionaryChange
from admin_app.models import Customer
from admin_app.records import RecordChange

from . import record_writers
from .conftest import app_config
from .helpers import ADMIN_EMAIL, csrf_token, submit

TYPE_SCREEN = "/admin/dictionary/customer/location/type/"
TWENTY_DIGITS = "12345678901234567890"


def customers(**values):
    """One customer per name, holding `values[name]` as its Location."""
    for name, value in values.items():
        Customer(name=name, level="Customer", location=value).save()


def locations():
    return {c.name: getattr(c, "location", None) for c in Customer.objects.order_by("name")}


def raw(name, field="location"):
    """The stored value itself, type included (MongoEngine would not tell 5 from 5.0)."""
    doc = Customer._get_collection().find_one({"name": name})
    return doc.get(field, "<absent>")


def location():
    return FieldDefinition.objects.get(entity="customer", name="location")


# -- what converts -----------------------------------------------------------------------

@pytest.mark.parametrize("value, new_type, expected", [
    ("5", "integer", 5),
    ("-12", "integer", -12),
    ("0", "integer", 0),
    (3.0, "integer", 3),
    ("9223372036854775807", "integer", 2**63 - 1),
    ("1.10", "decimal", 1.1),
    ("0.1", "decimal", 0.1),
    ("-2.5", "decimal", -2.5),
    (7, "decimal", 7.0),
    ("2026-05-01", "date", datetime(2026, 5, 1)),
    (datetime(2026, 5, 1), "text", "2026-05-01"),
    (42, "text", "42"),
    (0.1, "longtext", "0.1"),
    (5551234, "phone", "5551234"),
    (True, "boolean", True),
    ("ann@example.com", "email", "ann@example.com"),
    ("https://example.com/x", "url", "https://example.com/x"),
])
def test_values_whose_meaning_is_unchanged_convert(value, new_type, expected):
    converted = conversion.convert(value, new_type)
    assert converted == expected and type(converted) is type(expected)


@pytest.mark.parametrize("value, new_type", [
    ("007", "integer"),
    (" 42 ", "integer"),
    ("+5", "integer"),
    ("1_000", "integer"),
    (TWENTY_DIGITS, "integer"),
    ("9223372036854775808", "integer"),
    ("-9223372036854775808", "integer"),
    (2.5, "integer"),
    (True, "integer"),
    ("0.30000000000000001", "decimal"),
    (TWENTY_DIGITS, "decimal"),
    ("1e5", "decimal"),
    (".5", "decimal"),
    ("007.5", "decimal"),
    (2**53 + 1, "decimal"),
    ("2026-5-1", "date"),
    ("20260501", "date"),
    (" 2026-05-01", "date"),
    ("2026-02-30", "date"),
    (datetime(2026, 5, 1, 9, 30), "date"),
    ("true", "boolean"),
    (1, "boolean"),
    ("not an address", "email"),
    (" ann@example.com", "email"),
    ("example.com", "url"),
    ("Building 7", "phone"),
    (True, "text"),
    (float("nan"), "text"),
])
def test_values_whose_meaning_would_change_do_not_convert(value, new_type):
    assert conversion.convert(value, new_type) is None


# -- refused, kept aside, converted --------------------------------------------------------

def test_values_that_would_change_are_refused_with_the_count_and_the_records(store_app):
    customers(Ann="007", Bob=" 42 ", Cat=TWENTY_DIGITS, Dan="5")
    with store_app.app_context(), pytest.raises(retype.NotConverting) as refused:
        change_type("customer", "location", "integer", keep_unconverted=False)
    assert "3 existing records hold a Location that is not a valid integer; the type was " \
           "not changed" in str(refused.value)
    assert refused.value.count == 3
    assert sorted((r.name, r.value) for r in refused.value.records) == [
        ("Ann", "'007'"), ("Bob", "' 42 '"), ("Cat", f"'{TWENTY_DIGITS}'")]
    assert locations() == {"Ann": "007", "Bob": " 42 ", "Cat": TWENTY_DIGITS, "Dan": "5"}
    assert location().type == "text"
    assert DictionaryChange.objects(name="location").count() == 0
    assert retype.TypeChange.objects.count() == 0


def test_keep_aside_moves_what_does_not_convert_and_converts_the_rest(store_app):
    customers(Ann="007", Bob="5", Cat=TWENTY_DIGITS)
    with store_app.app_context():
        assert change_type("customer", "location", "integer", keep_unconverted=True) == (1, 2)
    assert raw("Bob") == 5
    assert (raw("Ann"), raw("Ann", "location_old")) == ("<absent>", "007")
    assert raw("Cat", "location_old") == TWENTY_DIGITS
    assert location().type == "integer"
    backup = FieldDefinition.objects.get(entity="customer", name="location_old")
    assert backup.retired and backup.type == "text"
    change = DictionaryChange.objects.get(name="location")
    assert change.before["type"] == "text" and change.after["type"] == "integer"
    assert change.details["converted"] == 1 and change.details["kept_aside"] == 2
    assert "1 values converted, 2 kept aside in location_old" in change.summary


def test_clean_conversions_both_ways(store_app):
    customers(Ann="5", Bob="12")
    with store_app.app_context():
        assert change_type("customer", "location", "integer", keep_unconverted=False) == (2, 0)
        assert (raw("Ann"), raw("Bob")) == (5, 12)
        assert change_type("customer", "location", "text", keep_unconverted=False) == (2, 0)
    assert (raw("Ann"), raw("Bob")) == ("5", "12")
    assert location().type == "text"


def test_decimals_convert_only_when_a_float_holds_them_exactly(store_app):
    customers(Ann="1.10", Bob="0.1", Cat="0.30000000000000001")
    with store_app.app_context():
        with pytest.raises(retype.NotConverting, match="1 existing records"):
            change_type("customer", "location", "decimal", keep_unconverted=False)
        assert change_type("customer", "location", "decimal", keep_unconverted=True) == (2, 1)
    assert (raw("Ann"), raw("Bob")) == (1.1, 0.1)
    assert raw("Cat", "location_old") == "0.30000000000000001"


def test_dates_convert_from_strict_text_and_back(store_app):
    customers(Ann="2026-05-01", Bob="2026-5-1")
    with store_app.app_context():
        with pytest.raises(retype.NotConverting) as refused:
            change_type("customer", "location", "date", keep_unconverted=False)
        assert [(r.name, r.value) for r in refused.value.records] == [("Bob", "'2026-5-1'")]
        Customer.objects(name="Bob").update_one(set__location="2026-05-02")
        assert change_type("customer", "location", "date", keep_unconverted=False) == (2, 0)
        assert raw("Ann") == datetime(2026, 5, 1)
        assert change_type("customer", "location", "text", keep_unconverted=False) == (2, 0)
    assert (raw("Ann"), raw("Bob")) == ("2026-05-01", "2026-05-02")


def test_a_stale_type_change_writes_nothing(store_app):
    customers(Ann="5")
    with store_app.app_context():
        opened = location().revision
        update_field("customer", "location", expected_revision=opened, label="Site")
        with pytest.raises(StaleDefinition, match="Site was changed by someone else"):
            change_type("customer", "location", "integer", keep_unconverted=False,
                        expected_revision=opened)
    assert raw("Ann") == "5" and location().type == "text"


# -- all or nothing -------------------------------------------------------------------------

def fail_on_the_third_write(monkeypatch) -> list:
    """The store goes away at the third record write of a type change (one a batch);
    the rows written before it."""
    swap, done = retype._swap_records, []

    def fail_on_the_third(writer, rows):
        if len(done) == 2:
            raise RuntimeError("the store went away")
        done.extend(rows)
        return swap(writer, rows)

    monkeypatch.setattr(retype, "WRITES", 1)
    monkeypatch.setattr(retype, "_swap_records", fail_on_the_third)
    return done


def test_a_failure_half_way_puts_every_value_and_the_definition_back(store_app, monkeypatch):
    customers(Ann="5", Bob="12", Cat="007", Dan="40", Eve="41")
    before = {n: raw(n) for n in ("Ann", "Bob", "Cat", "Dan", "Eve")}
    definition = location().to_mongo().to_dict()
    done = fail_on_the_third_write(monkeypatch)
    with store_app.app_context(), pytest.raises(DictionaryError) as failed:
        change_type("customer", "location", "integer", keep_unconverted=True)
    assert "the change was undone" in str(failed.value)
    assert "the store went away" in str(failed.value)
    assert len(done) == 2, "two records had been converted when it failed"
    assert {n: raw(n) for n in before} == before
    assert raw("Cat", "location_old") == "<absent>"
    assert location().to_mongo().to_dict() == definition, "revision included"
    assert FieldDefinition.objects(entity="customer", name="location_old").count() == 0
    assert DictionaryChange.objects(name="location").count() == 0
    assert retype.TypeChange.objects.get().state == "undone"


def test_a_record_edited_during_the_change_stops_it_and_nothing_changes(store_app,
                                                                         monkeypatch):
    customers(Ann="5", Bob="12")
    stage = retype._stage

    def an_agent_edits_bob_meanwhile(journal, rows):
        count = stage(journal, rows)
        Customer.objects(name="Bob").update_one(set__location="13")
        return count

    monkeypatch.setattr(retype, "_stage", an_agent_edits_bob_meanwhile)
    with store_app.app_context(), pytest.raises(DictionaryError, match="the change was undone"):
        change_type("customer", "location", "integer", keep_unconverted=False)
    assert (raw("Ann"), raw("Bob")) == ("5", "13")
    assert location().type == "text"
    assert history_of("Bob") == [], "the edited record is not written"


KILLED_MID_WAY = """
import json, os, sys
from admin_app import create_app
from admin_app.dictionary import conversion
from admin_app.customising import retype
from admin_app.customising.fields import change_type

app = create_app(json.loads(sys.argv[1]))
swap, done = retype._swap_records, []

def killed_after_two(writer, rows):
    if len(done) == 2:
        os._exit(9)
    done.append(swap(writer, rows))
    return done[-1]

retype.WRITES = 1
retype._swap_records = killed_after_two
with app.app_context():
    change_type("customer", "location", "integer", keep_unconverted=True)
"""


def test_a_change_whose_process_was_killed_is_undone_by_recover(tmp_path):
    from .conftest import make_app

    app = make_app(tmp_path, "embedded")
    config = {k: v for k, v in app_config(tmp_path, "embedded").items() if v is not None}
    with app.app_context():
        customers(Ann="5", Bob="12", Cat="007", Dan="40")
        before = {n: raw(n) for n in ("Ann", "Bob", "Cat", "Dan")}
        killed = subprocess.run([sys.executable, "-c", KILLED_MID_WAY, json.dumps(config)],
                                cwd=Path(__file__).parent.parent, capture_output=True,
                                text=True, timeout=60)
        assert killed.returncode == 9, killed.stderr
        journal = retype.TypeChange.objects.get()
        assert journal.state == "swapping"
        assert sum(raw(n) != before[n] for n in before) == 2, "killed half-way"
        assert retype.interrupted("customer", "location") == [journal]
        with pytest.raises(DictionaryError, match="was interrupted; run `flask --app "
                                                  "admin_app dictionary recover`"):
            change_type("customer", "location", "integer", keep_unconverted=True)

        with app.test_client() as client:
            from .helpers import login

            login(client)
            page = client.get(TYPE_SCREEN).get_data(as_text=True)
            assert "was interrupted" in page and "dictionary recover" in page

        result = app.test_cli_runner().invoke(args=["dictionary", "recover"])
        assert result.exit_code == 0, result.output
        assert "undone" in result.output
        assert {n: raw(n) for n in before} == before
        assert location().type == "text"
        assert retype.TypeChange.objects.get().state == "undone"
        again = app.test_cli_runner().invoke(args=["dictionary", "recover"])
        assert "No type change was interrupted" in again.output
    import mongoengine

    mongoengine.disconnect()


def test_recover_finishes_a_change_whose_history_was_written(app):
    customers(Ann="5")
    with app.app_context():
        change_type("customer", "location", "integer", keep_unconverted=False)
        journal = retype.TypeChange.objects.get()
        journal.update(set__state="swapping", set__owner="elsewhere:1",
                       set__heartbeat=datetime(2000, 1, 1))
        result = app.test_cli_runner().invoke(args=["dictionary", "recover"])
    assert "finished" in result.output, result.output
    assert raw("Ann") == 5 and location().type == "integer"
    assert retype.TypeChange.objects.get().state == "done"


# -- record history ------------------------------------------------------------------------

def history_of(name):
    """A customer's change sets as stored (values with their types), oldest first."""
    record = Customer._get_collection().find_one({"name": name})["_id"]
    return list(RecordChange._get_collection().find({"record": record}).sort("revision", 1))


def test_a_type_change_records_one_change_set_per_converted_record(store_client):
    customers(Ann="5", Bob="12", Cat="007", Dan="")
    field_id = str(location().pk)
    with record_writers.watching() as writers:
        assert post_type(store_client, "integer", keep=True).status_code == 302
    # The values are written by the batch; the keys of the field's list filter follow its
    # new type afterwards (`records.rekeying` sets `search_keys` alone, by revision).
    assert {module for module, _method, _collection in writers
            if module != "admin_app.records.rekeying"} == {"admin_app.records.batch"}
    assert {method for module, method, _collection in writers
            if module == "admin_app.records.rekeying"} <= {"update_one"}
    journal = retype.TypeChange.objects.get()
    backup = FieldDefinition.objects.get(entity="customer", name="location_old")
    assert str(location().pk) == field_id, "a type change keeps the field's id"
    (ann,), (cat,) = history_of("Ann"), history_of("Cat")
    assert len(history_of("Bob")) == 1 and history_of("Dan") == []
    assert RecordChange.objects.count() == 3
    for change in (ann, cat):
        assert change["way"] == "dictionary" and change["batch"] == str(journal.pk)
        assert change["who"]["kind"] == "login" and change["who"]["name"] == ADMIN_EMAIL
    old, new = ann["fields"][0]["old"], ann["fields"][0]["new"]
    assert ann["fields"] == [{"id": field_id, "name": "location", "label": "Location",
                              "old": "5", "new": 5}]
    assert (type(old), type(new)) == (str, int), "the old type, then the new"
    assert sorted(cat["fields"], key=lambda line: line["name"]) == [
        {"id": field_id, "name": "location", "label": "Location", "old": "007", "new": None},
        {"id": str(backup.pk), "name": "location_old", "label": "Location (before integer)",
         "old": None, "new": "007"}]


def test_a_value_that_stays_the_same_value_is_retyped_and_records_nothing(store_app):
    customers(Ann="5", Bob="Leeds")
    with store_app.app_context():
        change_type("customer", "location", "integer", keep_unconverted=True)
        assert len(history_of("Ann")) == 1
        revision = Customer._get_collection().find_one({"name": "Ann"})["revision"]
        change_type("customer", "location", "decimal", keep_unconverted=False)
        assert raw("Ann") == 5.0 and type(raw("Ann")) is float
        assert Customer._get_collection().find_one({"name": "Ann"})["revision"] == revision + 1
        assert len(history_of("Ann")) == 1, "5 and 5.0 are the same value: no history"
        update_field("customer", "location_old", type="longtext", retired=True)
        assert raw("Bob", "location_old") == "Leeds"
    assert len(history_of("Bob")) == 1, "text to long text rewrites no record"


def test_an_undone_type_change_shows_the_conversion_and_its_undoing(store_app, monkeypatch):
    customers(Ann="5", Bob="12", Cat="40")
    done = fail_on_the_third_write(monkeypatch)
    with store_app.app_context(), pytest.raises(DictionaryError, match="undone"):
        change_type("customer", "location", "integer", keep_unconverted=False)
    journal = retype.TypeChange.objects.get()
    converted = {Customer._get_collection().find_one({"_id": row["record"]})["name"]
                 for row in done}
    for name in converted:
        there, back = history_of(name)
        assert (there["fields"][0]["new"], back["fields"][0]["new"]) == (int(raw(name)),
                                                                          raw(name))
        assert there["batch"] == back["batch"] == str(journal.pk)
    (untouched,) = {"Ann", "Bob", "Cat"} - converted
    assert history_of(untouched) == []


# -- revert ----------------------------------------------------------------------------------

def test_revert_restores_the_old_type_and_the_exact_old_values(store_app):
    customers(Ann="007", Bob="5", Cat="12")
    with store_app.app_context():
        change_type("customer", "location", "integer", keep_unconverted=True)
        change = DictionaryChange.objects.get(name="location")
        message = revert(change.pk)
    assert message == "customer.location is text again and its 3 changed values are as " \
                      "they were before"
    assert location().type == "text"
    assert {n: raw(n) for n in ("Ann", "Bob", "Cat")} == {"Ann": "007", "Bob": "5", "Cat": "12"}
    assert raw("Ann", "location_old") == "<absent>"
    reverted = DictionaryChange.objects.get(name="location", pk__ne=change.pk)
    assert reverted.summary.startswith("revert: type: 'integer' → 'text'")

    with store_app.app_context():  # the revert is a change like any other: it reverts too
        revert(reverted.pk)
    assert location().type == "integer"
    assert (raw("Bob"), raw("Ann", "location_old")) == (5, "007")


def test_revert_leaves_values_edited_since_the_change_and_says_how_many(app):
    customers(Ann="007", Bob="5", Cat="12")
    with app.app_context():
        change_type("customer", "location", "integer", keep_unconverted=True)
        Customer.objects(name="Bob").update_one(set__location=6)
        Customer.objects(name="Ann").update_one(set__location=1)
        change = DictionaryChange.objects.get(name="location")
        message = revert(change.pk)
    assert message == "customer.location is text again; 2 values edited since were left as " \
                      "they are, and the other 1 are as they were before"
    assert (raw("Ann"), raw("Ann", "location_old"), raw("Bob"), raw("Cat")) == \
        (1, "007", 6, "12")


def test_a_type_change_cannot_be_reverted_once_the_type_moved_on_or_twice(app):
    customers(Ann="5")
    with app.app_context():
        change_type("customer", "location", "integer", keep_unconverted=False)
        first = DictionaryChange.objects.get(name="location")
        change_type("customer", "location", "decimal", keep_unconverted=False)
        with pytest.raises(DictionaryError, match="Location is now decimal, not integer: "
                                                  "revert the later change"):
            revert(first.pk)
        assert raw("Ann") == 5.0
        second = DictionaryChange.objects.get(name="location", pk__ne=first.pk)
        revert(second.pk)
        revert(first.pk)
        assert raw("Ann") == "5"
        with pytest.raises(DictionaryError, match="has been reverted already"):
            revert(first.pk)


# -- the screen ------------------------------------------------------------------------------

def post_type(client, type_, keep=False):
    page = client.get(TYPE_SCREEN).get_data(as_text=True)
    revision = re.search(r'name="revision" type="hidden" value="(\d+)"', page).group(1)
    data = {"csrf_token": csrf_token(page), "revision": revision, "type": type_}
    if keep:
        data["keep_unconverted"] = "y"
    return client.post(TYPE_SCREEN, data=data)


def test_the_screen_lists_refused_records_then_keeps_them_aside_and_history_reverts(
        store_client):
    customers(Ann="007", Bob=" 42 ", Cat=TWENTY_DIGITS, Dan="5")
    refused = post_type(store_client, "integer")
    assert refused.status_code == 409
    page = " ".join(refused.get_data(as_text=True).split())
    assert "3 existing records hold a Location that is not a valid integer" in page
    for name, value in (("Ann", "&#39;007&#39;"), ("Bob", "&#39; 42 &#39;"),
                        ("Cat", f"&#39;{TWENTY_DIGITS}&#39;")):
        assert re.search(rf"<td><a href=\"/admin/customer/edit/\?id=\w+\">{name}</a></td>\s*"
                         rf"<td><code>{value}</code></td>", refused.get_data(as_text=True))
    assert 'name="keep_unconverted"' in page
    assert locations()["Ann"] == "007" and location().type == "text"

    done = post_type(store_client, "integer", keep=True)
    assert done.status_code == 302
    flashed = " ".join(store_client.get("/admin/dictionary/").get_data(as_text=True).split())
    assert "Location is now integer: 1 values converted; 3 kept aside in the retired field " \
           "location_old." in flashed
    assert raw("Dan") == 5 and raw("Ann", "location_old") == "007"

    history_page = store_client.get("/admin/dictionary/history/").get_data(as_text=True)
    assert "1 values converted, 3 kept aside in location_old" in history_page
    change = DictionaryChange.objects.get(name="location")
    store_client.post(f"/admin/dictionary/history/{change.pk}/revert/",
                      data={"csrf_token": csrf_token(history_page)})
    assert locations() == {"Ann": "007", "Bob": " 42 ", "Cat": TWENTY_DIGITS, "Dan": "5"}
    assert location().type == "text"


def test_the_screen_shows_the_first_twenty_refused_records_and_the_count(client):
    customers(**{f"C{n:02}": f"0{n}" for n in range(25)})
    page = " ".join(post_type(client, "integer").get_data(as_text=True).split())
    assert "25 existing records hold a Location that is not a valid integer" in page
    assert "The first 20:" in page
    assert page.count("/admin/customer/edit/?id=") == 20


def test_the_screen_answers_a_failure_half_way_with_a_message_not_a_500(client, monkeypatch):
    customers(Ann="5")

    def broken(writer, rows):
        raise OverflowError("MongoDB can only handle up to 8-byte ints")

    monkeypatch.setattr(retype, "_swap_records", broken)
    response = post_type(client, "integer")
    assert response.status_code == 409
    assert "the change was undone" in response.get_data(as_text=True)
    assert raw("Ann") == "5" and location().type == "text"


def test_the_type_screen_still_works_for_a_clean_change(client):
    customers(Ann="5")
    assert submit(client, TYPE_SCREEN, {"type": "integer",
                                        "revision": str(location().revision)}).status_code == 302
    assert raw("Ann") == 5


def test_a_form_opened_before_a_type_change_is_refused_on_save(client):
    """The change moves the revisions of the records it rewrote."""
    from admin_app.customising.fields import add_field, change_type

    from .helpers import csrf_token, opened_state

    with client.application.app_context():
        add_field("customer", "seats", "Seats", "text", sections={"Customer": "Customer"})
    ann = Customer(name="Ann", level="Customer", seats="12").save()
    url = f"/admin/customer/edit/?id={ann.pk}"
    page = client.get(url).get_data(as_text=True)
    with client.application.app_context():
        change_type("customer", "seats", "integer", keep_unconverted=False)
    response = client.post(url, data={"csrf_token": csrf_token(page), **opened_state(page),
                                      "name": "Ann", "level": "Customer", "seats": "13",
                                      "_ok": "OK"})
    assert response.status_code == 200
    assert "Someone else saved this record after you opened it" in response.get_data(
        as_text=True)
    assert Customer.objects.get(pk=ann.pk).seats == 12
