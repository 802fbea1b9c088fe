"""Bulk changes on the record lists (issue 24, point 4): the rows ticked or everything the
list matches; archive, restore, or one field set; a confirmation stating the count and
the change before anything is written; every record through the record write path (the
rules, a revision check, history with one batch id); refused records listed with the
reason; over a threshold, a job with a progress bar; an agent changes only what their
form lets them. Each page is read and posted as a browser would, on both stores."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from bson import ObjectId
from werkzeug.datastructures import MultiDict

from admin_app import background, dictionary, records
from admin_app.customising.conditional_rules import add_rule
from admin_app.customising.fields import add_field
from admin_app.models import Customer
from admin_app.records import RecordChange, bulk

from .conftest import make_app, signed_in_agent
from .helpers import csrf_token, login

LOCK_EMAIL = {"name": "lock-email", "entity": "customer",
              "when": {"field": "region", "equals": "North"},
              "then": {"read_only": ["email"]}}


def make(app, *names, **values):
    with app.app_context():
        dictionary.current_or_default()
        trace = records.trace.by_request(records.trace.FORM)
        return [str(records.create("customer", {"name": n, "level": "Customer", **values},
                                   trace).record["_id"]) for n in names]


def text(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html)))


def review(client, url: str, **extra) -> tuple[str, str]:
    """Open the bulk page, post its review form; the confirmation's URL and page."""
    page = client.get(url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    form = html[html.index('id="bulk-review"'):]
    data = [(k, unescape(v)) for k, v in re.findall(
        r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form)]
    data += [("csrf_token", csrf_token(html)), *extra.items()]
    answer = client.post(url.split("?")[0], data=MultiDict(data))
    assert answer.status_code == 302, text(answer.get_data(as_text=True))
    location = answer.headers["Location"]
    return location, client.get(location).get_data(as_text=True)


def confirm(client, location: str, html: str):
    return client.post(location + "confirm", data={"csrf_token": csrf_token(html)})


def archived(app, ids):
    with app.app_context():
        return {str(c.pk): c.archived for c in Customer.objects(pk__in=ids)}


def test_the_list_offers_a_box_per_row_select_all_and_the_bulk_form(store_app, store_client):
    make(store_app, "Ann Finch", "Bob Finney")
    html = store_client.get("/admin/customer/?search=fin").get_data(as_text=True)
    assert html.count('class="bulk-row"') == 2
    assert 'aria-label="Select all on this page"' in html
    form = html[html.index('id="bulk-form"'):]
    assert 'name="search" value="fin"' in form
    assert "everything the list matches (2)" in text(form)
    assert "bulk_select.js" in html


def test_selected_rows_are_archived_after_a_confirmation_in_one_batch(store_app, store_client):
    a, b, c = make(store_app, "Ann", "Bob", "Cid")
    location, html = review(store_client, f"/admin/bulk/customer/?scope=selected&id={a}&id={b}"
                                          "&action=archive")
    assert "Archive the 2 Customers selected?" in text(html)
    assert archived(store_app, [a, b, c]) == {a: False, b: False, c: False}  # not yet
    done = confirm(store_client, location, html)
    assert done.status_code == 302
    page = text(store_client.get(location).get_data(as_text=True))
    assert "Done: 2 changed, 0 already so, 0 refused." in page
    assert archived(store_app, [a, b, c]) == {a: True, b: True, c: False}
    with store_app.app_context():
        change = bulk.BulkChange.objects.get()
        in_batch = RecordChange.objects(batch=str(change.pk))
        assert sorted(str(r.record) for r in in_batch) == sorted([a, b])
        assert {r.who["name"] for r in in_batch} == {"admin@example.com"}
    # A second confirmation does nothing more.
    confirm(store_client, location, html)
    with store_app.app_context():
        assert RecordChange.objects(batch=str(change.pk)).count() == 2


def test_everything_a_filter_matches_is_restored_and_the_question_says_the_filter(
        store_app, store_client):
    ids = make(store_app, "Finch One", "Finch Two", "Other", archived=True)
    location, html = review(store_client, "/admin/bulk/customer/?archived=1&search=finch"
                                          "&scope=all&action=restore")
    assert "Restore 2 archived Customers matching the search “finch”?" in text(html)
    confirm(store_client, location, html)
    assert archived(store_app, ids) == {ids[0]: False, ids[1]: False, ids[2]: True}


def test_setting_a_field_lists_the_records_a_rule_refuses_and_changes_the_rest(
        store_app, store_client):
    with store_app.app_context():
        dictionary.current_or_default()
        add_field("customer", "region", "Region", "choice", choices=["North", "South"],
                  sections={"Customer": "Customer"})
    north = make(store_app, "Nora North", region="North", email="nora@example.com")[0]
    with store_app.app_context():
        add_rule(LOCK_EMAIL)
    south = make(store_app, "Sam South", region="South")[0]
    url = "/admin/bulk/customer/?scope=all&action=set&field=email"
    page = store_client.get(url).get_data(as_text=True)
    assert '<option value="address"' not in page  # an Org's field, not the Customer form's
    location, html = review(store_client, url, **{"value-email": "desk@example.com"})
    assert "Set Email to desk@example.com on 2 Customers?" in text(html)
    confirm(store_client, location, html)
    result = text(store_client.get(location).get_data(as_text=True))
    assert "Done: 1 changed, 0 already so, 1 refused." in result
    assert ("Nora North: Email: Email is read-only when Region is North (rule lock-email); "
            "it was not changed.") in result
    with store_app.app_context():
        assert Customer.objects.get(pk=north).email == "nora@example.com"
        assert Customer.objects.get(pk=south).email == "desk@example.com"


def test_a_reference_is_set_through_the_lists_own_lookup_and_named_in_the_question(
        store_app, store_client):
    a, b = make(store_app, "Ann", "Bob")
    with store_app.app_context():
        trace = records.trace.by_request(records.trace.FORM)
        org = str(records.create("customer", {"name": "Acme <Ltd>", "level": "Org"},
                                 trace).record["_id"])
    url = f"/admin/bulk/customer/?scope=selected&id={a}&id={b}&action=set&field=org"
    page = store_client.get(url).get_data(as_text=True)
    assert '<option value="org" selected>Org</option>' in page
    control = re.search(r'<input[^>]*data-role="select2-ajax"[^>]*>', page).group(0)
    lookup = unescape(re.search(r'data-url="([^"]+)"', control).group(1))
    assert lookup.startswith("/admin/bulk/ajax/lookup/?name=")
    found = store_client.get(lookup + "&query=acme").get_json()
    assert [org, "Acme <Ltd>"] in found  # the box offers the Org by its name
    location, html = review(store_client, url, **{"value-org": org})
    assert "Set Org to Acme <Ltd> on the 2 Customers selected?" in text(html)
    assert "Acme &lt;Ltd&gt;" in html
    confirm(store_client, location, html)
    assert "Done: 2 changed" in text(store_client.get(location).get_data(as_text=True))
    with store_app.app_context():
        stored = Customer._get_collection().find({"_id": {"$in": [ObjectId(a), ObjectId(b)]}})
        assert {doc["org"] for doc in stored} == {ObjectId(org)}  # as a form saves it


def test_a_record_changed_after_the_confirmation_is_left_alone_and_named(store_app,
                                                                         store_client):
    a, b = make(store_app, "Ann", "Bob")
    location, html = review(store_client, f"/admin/bulk/customer/?id={a}&id={b}&action=archive")
    with store_app.app_context():
        records.update("customer", b, {"department": "Sales"},
                       records.trace.by_request(records.trace.FORM))
    confirm(store_client, location, html)
    result = text(store_client.get(location).get_data(as_text=True))
    assert "Done: 1 changed, 0 already so, 1 refused." in result
    assert f"Bob: {bulk.CHANGED_SINCE}" in result
    assert archived(store_app, [a, b]) == {a: True, b: False}


def test_a_review_left_unconfirmed_for_a_day_is_dropped_and_its_link_says_so(store_app,
                                                                              store_client):
    a, b = make(store_app, "Ann", "Bob")
    old_location, _html = review(store_client, f"/admin/bulk/customer/?id={a}&action=archive")
    with store_app.app_context():
        bulk.BulkChange.objects.update(set__created_at=datetime.now(UTC).replace(tzinfo=None)
                                       - bulk.PENDING_KEPT - timedelta(minutes=1))
    location, html = review(store_client, f"/admin/bulk/customer/?id={b}&action=archive")
    with store_app.app_context():  # the old review went when the new one was prepared
        assert [c.ids for c in bulk.BulkChange.objects] == [[ObjectId(b)]]
    gone = store_client.get(old_location)
    assert gone.status_code == 404
    assert "one left unconfirmed for a day is dropped" in text(gone.get_data(as_text=True))
    confirm(store_client, location, html)
    assert archived(store_app, [a, b]) == {a: False, b: True}


@pytest.mark.parametrize("store", ["mongomock", "embedded"])
def test_over_the_threshold_the_change_runs_as_a_job_with_a_progress_bar(tmp_path, store):
    app = make_app(tmp_path, store, BULK_IN_REQUEST=2)
    ids = make(app, "Ann", "Bob", "Cid")
    with app.test_client() as client:
        login(client)
        location, html = review(client, "/admin/bulk/customer/?scope=all&action=archive")
        assert "Archive 3 Customers?" in text(html)
        confirm(client, location, html)
        page = client.get(location).get_data(as_text=True)
        assert 'data-progress-of="bulk"' in page or "Done: 3 changed" in text(page)
        background.wait()
        assert client.get(location + "progress").get_json() == {
            "status": "done", "done": 3, "total": 3}
        assert "Done: 3 changed, 0 already so, 0 refused." in text(
            client.get(location).get_data(as_text=True))
    assert set(archived(app, ids).values()) == {True}


def test_an_agent_may_set_only_what_their_form_sets(store_app):
    a = make(store_app, "Ann")[0]
    for client in signed_in_agent(store_app):
        for field in ("address", "level", "search_keys"):
            html = client.get(f"/admin/bulk/customer/?id={a}&action=set&field={field}") \
                .get_data(as_text=True)
            assert "That field cannot be set from this list's form" in text(html)
            posted = client.post("/admin/bulk/customer/", data={
                "csrf_token": csrf_token(html), "id": a, "action": "set", "field": field,
                f"value-{field}": "x"})
            assert posted.status_code == 200
        location, html = review(client, f"/admin/bulk/customer/?id={a}&action=set"
                                        "&field=department", **{"value-department": "Sales"})
        confirm(client, location, html)
    with store_app.app_context():
        assert bulk.BulkChange.objects.count() == 1
        assert Customer.objects.get(pk=a).department == "Sales"


def test_nothing_is_written_without_the_csrf_token_and_text_is_escaped(store_app,
                                                                        store_client):
    with store_app.app_context():
        dictionary.current_or_default()
        add_field("customer", "tier", "<i>Tier</i>", "text", sections={"Customer": "Customer"})
    a, b = make(store_app, "<b>Ann</b>", "Bob")
    location, html = review(store_client, f"/admin/bulk/customer/?id={a}&id={b}&action=archive")
    assert store_client.post(location + "confirm", data={}).status_code == 302
    assert archived(store_app, [a, b]) == {a: False, b: False}
    with store_app.app_context():
        records.update("customer", a, {"department": "Sales"},
                       records.trace.by_request(records.trace.FORM))
    confirm(store_client, location, html)
    result = store_client.get(location).get_data(as_text=True)
    assert "&lt;b&gt;Ann&lt;/b&gt;</a>: changed by someone else" in result
    assert "<b>Ann</b>" not in result
    url = f"/admin/bulk/customer/?id={a}&action=set&field=tier"  # Bob is archived now
    page = store_client.get(url).get_data(as_text=True)
    assert "&lt;i&gt;Tier&lt;/i&gt;" in page and "<i>Tier</i>" not in page
    _location, html = review(store_client, url, **{"value-tier": "<script>x</script>"})
    assert "Set &lt;i&gt;Tier&lt;/i&gt; to &lt;script&gt;x&lt;/script&gt; on the 1 Customer " \
           "selected?" in html
