"""The record lists' filters (issue 24, points 1 and 2): generated from the dictionary,
combined with the search box and the tabs, in the URL, relabelled with the dictionary,
and the count of what matches; on mongomock and on the embedded store."""

from __future__ import annotations

import html as html_lib
import json
import re
import typing as t
from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from bson import ObjectId
from werkzeug.datastructures import MultiDict

from admin_app import background, dictionary, records
from admin_app.customising import filing
from admin_app.customising.fields import add_field, update_field
from admin_app.dictionary import history
from admin_app.dictionary.documents import FieldDefinition, LayoutDefinition
from admin_app.records import listing
from admin_app.records.listing import ListState
from admin_app.store import bounded_count

from .helpers import csrf_token, form_values

TRACE = records.Trace(records.trace.COMMAND_LINE, records.trace.FORM)


def _sections(entity: str = "customer") -> dict[str, str]:
    return {layout.level: layout.sections[0].title
            for layout in LayoutDefinition.objects(entity=entity)}


def make_desk() -> dict[str, ObjectId]:
    """Custom filterable fields of each type, and a few records to filter."""
    for name, kind, extra in (("tier", "choice", {"choices": ["Gold", "Silver", "Bronze"]}),
                              ("vip", "boolean", {}), ("seats", "integer", {}),
                              ("score", "decimal", {})):
        add_field("customer", name, name.title(), kind, sections=_sections(), filterable=True,
                  **extra)
    update_field("customer", "expiry_date", filterable=True)

    def add(entity: str, **values: t.Any) -> ObjectId:
        return records.create(entity, values, TRACE).record["_id"]

    ids = {"acme": add("customer", name="Acme Manufacturing", level="Org"),
           "globex": add("customer", name="Globex", level="Org")}
    people = [
        ("Ann Lee", "Finance", "Gold", True, 5, 1.5, "2026-02-01", "acme", False),
        ("Bo Chan", "Finance Ops", "Silver", False, 12, 0.25, "2026-07-01", "globex", False),
        ("Cy Dunn", "Sales", "Gold", False, 30, -2.0, "2025-12-31", "acme", False),
        ("Di Evans", "Internal audit", "Gold", True, 7, 3.0, "2026-03-15", "acme", True),
    ]
    for name, dept, tier, vip, seats, score, expiry, org, archived in people:
        ids[name] = add("customer", name=name, level="Customer", department=dept, tier=tier,
                        vip=vip, seats=seats, score=score, org=ids[org], archived=archived,
                        expiry_date=datetime.fromisoformat(expiry))
    add("contact", name="Priya Patel", customer=ids["acme"], job_title="Office manager")
    add("contact", name="Sam Roe", customer=ids["globex"], job_title="Engineer")
    return ids


@pytest.fixture
def desk(store_app):
    with store_app.app_context():
        return make_desk()


def names(html: str) -> list[str]:
    return [html_lib.unescape(n) for n in
            re.findall(r'<td class="col-name">\s*(.*?)\s*</td>', html, flags=re.S)]


def listed(client, url: str) -> list[str]:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return names(response.get_data(as_text=True))


def count_text(html: str) -> str:
    return html_lib.unescape(re.search(r'id="list-count">([^<]*)<', html).group(1))


# -- each kind of filter --------------------------------------------------------------------

@pytest.mark.parametrize(("args", "expected"), [
    ("f.tier=Gold", ["Ann Lee", "Cy Dunn"]),  # a choice
    ("f.tier=Silver&f.tier=Bronze", ["Bo Chan"]),  # several: any of them
    ("f.vip=yes", ["Ann Lee"]), ("f.vip=no", ["Bo Chan", "Cy Dunn"]),  # a boolean
    ("f.seats.min=5&f.seats.max=12", ["Ann Lee", "Bo Chan"]),  # whole numbers, inclusive
    ("f.seats=30", ["Cy Dunn"]),  # one value
    ("f.score.min=0.25&f.score.max=1.5", ["Ann Lee", "Bo Chan"]),  # decimals
    ("f.score.max=0", ["Cy Dunn"]),  # negative numbers sort below
    ("f.expiry_date.min=2026-01-01", ["Ann Lee", "Bo Chan"]),  # a date, from
    ("f.expiry_date.min=2026-01-01&f.expiry_date.max=2026-06-30", ["Ann Lee"]),
    ("f.expiry_date.max=2026-02-01", ["Ann Lee", "Cy Dunn"]),  # to, inclusive
    ("f.department=fin", ["Ann Lee", "Bo Chan"]),  # text: a word starts so
    ("f.department=fin+op", ["Bo Chan"]),  # every word typed
    ("f.department=ops", ["Bo Chan"]),  # any word of the field
    ("f.department=nce", []),  # not the middle of a word
    ("f.department.exact=FINANCE", ["Ann Lee"]),  # the whole value, whatever its case
])
def test_each_kind_of_filter_narrows_the_list(store_client, desk, args, expected):
    assert listed(store_client, f"/admin/customer/?{args}&sort=0") == expected


def test_a_reference_filter_and_the_contacts_list(store_client, desk):
    acme, globex = desk["acme"], desk["globex"]
    assert listed(store_client, f"/admin/customer/?f.org={acme}&sort=0") == ["Ann Lee", "Cy Dunn"]
    # The lookup box sends its records' ids separated by commas; a link repeats them.
    both = ["Ann Lee", "Bo Chan", "Cy Dunn"]
    assert listed(store_client, f"/admin/customer/?f.org={acme},{globex}&sort=0") == both
    assert listed(store_client, f"/admin/customer/?f.org={acme}&f.org={globex}&sort=0") == both
    assert listed(store_client, f"/admin/contact/?f.customer={globex}") == ["Sam Roe"]
    assert listed(store_client, "/admin/contact/?f.job_title=offic") == ["Priya Patel"]


def test_filters_combine_with_each_other_the_search_box_and_the_archived_tab(store_client, desk):
    base = "/admin/customer/"
    assert listed(store_client, f"{base}?f.tier=Gold&f.vip=no") == ["Cy Dunn"]
    assert listed(store_client, f"{base}?f.tier=Gold&f.department=fin&search=ann") == ["Ann Lee"]
    assert listed(store_client, f"{base}?f.tier=Gold&f.department=fin&search=cy") == []
    assert listed(store_client, f"{base}?archived=1&f.tier=Gold") == ["Di Evans"]
    assert listed(store_client, f"{base}?archived=1&f.tier=Gold&f.vip=no") == []
    # The tabs keep the filters: Current from the Archived tab, and back.
    page = store_client.get(f"{base}?archived=1&f.tier=Gold&search=d").get_data(as_text=True)
    assert names(page) == ["Di Evans"]
    current = html_lib.unescape(re.search(r'<a class="nav-link" href="([^"]+)"[^>]*>Current',
                                          page).group(1))
    assert sorted(parse_qsl(urlsplit(current).query)) == [("f.tier", "Gold"), ("search", "d")]
    assert listed(store_client, current) == ["Cy Dunn"]


def test_the_panel_offers_a_control_per_filterable_field_by_type(store_client, desk):
    page = store_client.get("/admin/customer/").get_data(as_text=True)
    panel = page[page.index('id="record-filters"'):page.index("</form>", page.index(
        'id="record-filters"'))]
    # A choice: a box per choice; a boolean: yes and no; ranges: from and to.
    for value in ("Gold", "Silver", "Bronze"):
        assert re.search(rf'type="checkbox" name="f\.tier" value="{value}"', panel)
    assert 'name="f.vip" value="yes"' in panel and 'name="f.vip" value="no"' in panel
    for name, kind in (("seats", "number"), ("score", "number"), ("expiry_date", "date")):
        for end in ("min", "max"):
            assert re.search(rf'type="{kind}"[^>]*name="f\.{name}\.{end}"', panel, re.S), name
    # A reference: the lookup box searching Orgs as you type; a text: starts with / exactly.
    lookup = re.search(r'<input type="hidden" id="filter-org"[^>]*>', panel, re.S).group(0)
    assert 'data-role="select2-ajax"' in lookup and "ajax/lookup/?name=org" in lookup
    assert 'name="f.department"' in panel and 'name="f.department.exact"' in panel
    # Every control has a label tied to it (a fieldset's legend names a group).
    for control_id in re.findall(r'<input[^>]+id="(filter-[^"]+)"', panel):
        assert f'for="{control_id}"' in panel, control_id
    # Not filtered: the name (the search box finds it), the Level, the Archive flag.
    for name in ("name", "level", "archived"):
        assert f'name="f.{name}' not in panel


def test_the_panel_shows_what_is_asked_and_each_filter_can_be_removed(store_client, desk):
    acme = desk["acme"]
    url = (f"/admin/customer/?f.tier=Gold&f.tier=Silver&f.org={acme}&f.department=fin"
           f"&f.expiry_date.min=2026-01-01&search=lee")
    page = store_client.get(url).get_data(as_text=True)
    assert re.search(r'name="f\.tier" value="Gold"\s+id="[^"]+" checked', page)
    assert re.search(r'name="f\.tier" value="Bronze"\s+id="[^"]+">', page)
    assert 'value="fin"' in page and 'value="2026-01-01"' in page
    assert f'value="{acme}"' in page and "Acme Manufacturing" in page  # the lookup's choice
    summary = re.findall(r'<span class="badge[^"]*">([^<]*)</span>\s*<a href="([^"]+)"', page)
    said = {html_lib.unescape(words): html_lib.unescape(href) for words, href in summary}
    assert set(said) == {"Tier is Gold or Silver", "Org is Acme Manufacturing",
                         "Department starts with fin", "Expiry Date from 2026-01-01"}
    without_tier = dict(parse_qsl(urlsplit(said["Tier is Gold or Silver"]).query))
    assert "f.tier" not in without_tier and without_tier["search"] == "lee"
    assert without_tier["f.department"] == "fin"
    clear = html_lib.unescape(re.search(r'href="([^"]+)"[^>]*id="clear-filters"', page).group(1))
    assert parse_qsl(urlsplit(clear).query) == [("search", "lee")]


# -- the URL -------------------------------------------------------------------------------

def test_a_state_read_from_its_own_url_is_the_same_state(store_app, desk):
    with store_app.app_context():
        snapshot = dictionary.current()
        args = MultiDict([
            ("f.tier", "Gold"), ("f.tier", "Silver"), ("f.vip", "no"), ("f.seats.min", "5"),
            ("f.score.max", "0.25"), ("f.expiry_date.min", "2026-01-01"),
            ("f.department", "fin op"), ("f.department.exact", "Finance"),
            ("f.org", str(desk["acme"])), ("search", "ann"), ("archived", "1"),
            ("cols", "name,tier,email"), ("sort", "0"), ("desc", "1"), ("page", "3")])
        state = ListState.from_args(args, snapshot, "customer", "Customer")
        assert not state.notices and not state.problems
        again = ListState.from_args(state.to_args(), snapshot, "customer", "Customer")
        assert again.to_args() == state.to_args()
        assert again.query() == state.query() and again.sort == state.sort == \
            listing.Sort("name", True)
        assert [f.name for f in again.columns] == ["name", "tier", "email"]
        assert ("page", "3") not in state.to_args()
        assert state.describe() == (
            "Tier is Gold or Silver; Vip is no; Seats from 5; Score to 0.25; Expiry Date from "
            "2026-01-01; Department starts with fin op and is exactly Finance; Org is Acme "
            "Manufacturing")


def test_paging_and_sorting_links_keep_every_filter(store_client, desk, monkeypatch):
    monkeypatch.setattr("admin_app.views.records.RecordView.page_size", 1)
    page = store_client.get("/admin/customer/?f.tier=Gold&f.tier=Silver&f.vip=no&search=c"
                            "&cols=name,tier").get_data(as_text=True)
    assert names(page) == ["Bo Chan"]
    links = [html_lib.unescape(h) for h in re.findall(r'href="([^"]*\bpage=1[^"]*)"', page)]
    assert links, "no link to the next page"
    following = parse_qsl(urlsplit(links[0]).query)
    assert sorted(following) == sorted([("f.tier", "Gold"), ("f.tier", "Silver"),
                                        ("f.vip", "no"), ("search", "c"), ("cols", "name,tier"),
                                        ("page", "1")])
    assert names(store_client.get(links[0]).get_data(as_text=True)) == ["Cy Dunn"]
    sort = html_lib.unescape(re.search(r'<a href="([^"]+)" title="Sort by Name"', page).group(1))
    assert ("f.tier", "Silver") in parse_qsl(urlsplit(sort).query)


def test_the_columns_a_url_chooses_are_shown_in_its_order(store_client, desk):
    page = store_client.get("/admin/customer/?cols=tier,name,org,nothing&sort=1") \
        .get_data(as_text=True)
    headers = re.findall(r'<th class="column-header col-([a-z_]+)"', page)
    assert headers == ["tier", "name", "org"]
    assert names(page) == ["Ann Lee", "Bo Chan", "Cy Dunn"]  # sorted by the 2nd: name
    assert "Acme Manufacturing" in page  # a reference column shows the record's name
    assert "These filters or columns were dropped: 'nothing' (not a field)." in \
        html_lib.unescape(page)
    # Without cols, the dictionary's list columns.
    default = store_client.get("/admin/customer/").get_data(as_text=True)
    assert re.findall(r'<th class="column-header col-([a-z_]+)"', default)[:2] == ["name", "org"]


def test_a_filtered_list_sorts_by_name_only(store_client, desk):
    """Sorting a narrowed list by another column would walk no index: only Name is
    offered, and a sort by another column in the URL is not applied."""
    page = store_client.get("/admin/customer/?f.tier=Gold").get_data(as_text=True)
    assert 'title="Sort by Name"' in page and 'title="Sort by Department"' not in page
    unfiltered = store_client.get("/admin/customer/").get_data(as_text=True)
    assert 'title="Sort by Department"' in unfiltered
    assert listed(store_client, "/admin/customer/?f.tier=Gold&sort=0&desc=1") \
        == ["Cy Dunn", "Ann Lee"]


# -- the dictionary's words ---------------------------------------------------------------

def test_a_relabel_is_followed_and_labels_are_shown_as_text(store_client, desk, store_app):
    with store_app.app_context():
        update_field("customer", "tier", label="<b>Service</b> tier")
    page = store_client.get("/admin/customer/?f.tier=Gold").get_data(as_text=True)
    assert "<b>Service</b>" not in page
    assert "&lt;b&gt;Service&lt;/b&gt; tier is Gold" in page  # the active filter
    assert "<legend" in page and "&lt;b&gt;Service&lt;/b&gt; tier</legend>" in page
    assert names(page) == ["Ann Lee", "Cy Dunn"]  # the link still works: names, not labels


def test_a_retired_field_is_dropped_with_a_notice(store_client, desk, store_app):
    with store_app.app_context():
        update_field("customer", "tier", retired=True)
    page = store_client.get("/admin/customer/?f.tier=Gold&f.vip=yes&f.nothing=1&cols=name,tier")
    assert page.status_code == 200
    text = html_lib.unescape(page.get_data(as_text=True))
    assert ("These filters or columns were dropped: Tier (retired), 'nothing' (not a field), "
            "Tier (retired).") in text
    assert names(text) == ["Ann Lee"]  # the other filter stays


@pytest.mark.parametrize(("args", "sentence"), [
    ("f.seats.min=five", "Seats must be a whole number."),
    ("f.score.max=1,5", "Score must be a number."),
    ("f.expiry_date.min=31/12/2026", "Expiry Date must be a date written YYYY-MM-DD."),
    ("f.expiry_date.min=2026-05-01&f.expiry_date.max=2026-01-01",
     "Expiry Date: “from” 2026-05-01 is after “to” 2026-01-01."),
    ("f.tier=Platinum", "Tier must be one of: Gold, Silver, Bronze."),
    ("f.vip=maybe", "Vip must be yes or no."),
    ("f.org=acme", "Org must be a record chosen from the list (its id: 24 characters, 0-9 "
                   "and a-f)."),
    ("f.department=%24%24", "Department: type letters or digits to look for."),
    ("f.tier.min=1", "Tier is one of the choices: it is matched by its values, not by a "
                     "range or an exact text."),
])
def test_a_bad_value_is_a_sentence_and_the_rest_of_the_list_stands(store_client, desk, args,
                                                                    sentence):
    # Another filter (unless the bad one is on the same field) and the search stand.
    response = store_client.get(f"/admin/customer/?{args}&search=ann"
                                f"{'' if 'vip' in args else '&f.vip=yes'}")
    assert response.status_code == 200
    text = html_lib.unescape(response.get_data(as_text=True))
    assert "These filters were left out:" in text and sentence in text
    assert names(text) == ["Ann Lee"]


# -- the count -------------------------------------------------------------------------------

def test_the_count_says_which_records_of_how_many(store_client, desk, monkeypatch):
    page = store_client.get("/admin/customer/?f.tier=Gold").get_data(as_text=True)
    assert count_text(page) == "1–2 of 2"
    assert count_text(store_client.get("/admin/customer/?f.tier=Bronze").get_data(
        as_text=True)) == "No records"
    monkeypatch.setattr("admin_app.views.records.RecordView.page_size", 2)
    second = store_client.get("/admin/customer/?page=1").get_data(as_text=True)
    assert count_text(second) == "3–3 of 3"
    monkeypatch.setattr(listing, "COUNT_BOUND", 2)
    assert count_text(store_client.get("/admin/customer/").get_data(as_text=True)) \
        == "1–2 of more than 2"
    assert count_text(store_client.get("/admin/customer/?f.vip=yes").get_data(
        as_text=True)) == "1–1 of 1"


def test_a_count_that_would_read_too_much_says_many_and_offers_to_count_them_all(
        store_client, desk, store_app, monkeypatch):
    """The embedded store reads no more than COUNT_WORK rows of its keys table to count;
    past that the list says "of many" and offers a button that counts them all, which
    the paging links keep and a saved view does not. MongoDB counts along its index."""
    monkeypatch.setattr(listing, "COUNT_WORK", 1)
    url = "/admin/customer/?f.tier=Gold&f.expiry_date.min=2025-01-01&sort=0"
    page = store_client.get(url).get_data(as_text=True)
    if store_app.config["MONGODB_URI"]:  # mongomock
        assert count_text(page) == "1–2 of 2" and 'id="count-all"' not in page
        return
    assert count_text(page) == "1–2 of many"
    button = html_lib.unescape(re.search(r'href="([^"]*)" id="count-all"', page).group(1))
    assert ("count", "all") in parse_qsl(urlsplit(button).query)
    counted = store_client.get(button).get_data(as_text=True)
    assert count_text(counted) == "1–2 of 2" and 'id="count-all"' not in counted
    assert names(counted) == ["Ann Lee", "Cy Dunn"]
    state = ListState.from_args(parse_qsl(urlsplit(button).query), dictionary.current(),
                                "customer", "Customer")
    assert ("count", "all") in state.to_args() and ("count", "all") not in state.to_args(True)
    # A set within the work (three Gold, one archived) is counted: no button.
    monkeypatch.setattr(listing, "COUNT_WORK", 3)
    few = store_client.get("/admin/customer/?f.tier=Gold").get_data(as_text=True)
    assert count_text(few) == "1–2 of 2" and 'id="count-all"' not in few


def test_the_embedded_store_counts_from_its_index(tmp_path, monkeypatch):
    """No record is read to count: the hash index and the keys table say how many, up to
    the limit; a condition they cannot answer exactly gets no count."""
    from litemongo.sqlite_store import CollectionStore

    from admin_app.records.write import collection_of

    from .conftest import make_app

    app = make_app(tmp_path, "embedded")
    with app.app_context():
        make_desk()
        customers = collection_of("customer")
        state = ListState.from_args([("f.tier", "Gold"), ("f.department", "fin")],
                                    dictionary.current(), "customer", "Customer")

        def no_reading(*_args: t.Any, **_kwargs: t.Any) -> t.Any:
            raise AssertionError("a count read a record")

        customers.find_one({})  # the index is built (a worker does it before serving)
        monkeypatch.setattr(CollectionStore, "_get_many", no_reading)
        assert bounded_count(customers, state.query(), 10) == 1
        assert bounded_count(customers, {"level": "Customer", "archived": False}, 10) == 3
        assert bounded_count(customers, {"level": "Customer", "archived": False}, 2) == 2
        assert bounded_count(customers, {"level": "Customer", "seats": {"$gt": 3}}, 10) is None
        # Reading no more than `work` rows of the keys table's smallest set: within it,
        # the count; past it, a bound's worth of matches found, or else None.
        gold = ListState.from_args([("f.tier", "Gold")], dictionary.current(), "customer",
                                   "Customer").query()
        assert bounded_count(customers, gold, 10, work=3) == 2  # three Gold, one archived
        assert bounded_count(customers, gold, 10, work=2) is None
        assert bounded_count(customers, gold, 1, work=1) == 1


# -- the flag ---------------------------------------------------------------------------------

def test_a_field_made_filterable_on_the_field_screen_is_filtered_on(store_client, desk,
                                                                     store_app):
    """The tick box saves the flag (History says so, the dictionary file carries it) and
    the records' keys follow (a job), so the new filter finds them."""
    url = "/admin/dictionary/customer/phone_2/"
    with store_app.app_context():
        for name, phone in (("Ann Lee", "0113 496 0001"), ("Bo Chan", "020 7946 0002")):
            records.update("customer", desk[name], {"phone_2": phone}, TRACE)
    before = html_lib.unescape(store_client.get("/admin/customer/?f.phone_2=0113")
                               .get_data(as_text=True))
    assert "Phone 2 (not filterable here)" in before
    page = store_client.get(url).get_data(as_text=True)
    assert 'id="filterable"' in page and "Filterable" in page
    data = {**form_values(page, 'name="revision"'), "filterable": "y",
            "csrf_token": csrf_token(page)}
    assert store_client.post(url, data=data).status_code == 302
    background.wait()
    with store_app.app_context():
        assert FieldDefinition.objects.get(entity="customer", name="phone_2").filterable
        change = history.DictionaryChange.objects(name="phone_2").order_by("-at").first()
        assert "filterable: False → True" in change.summary
        path = f"{store_app.instance_path}/dictionary.json"
        filing.export(path)
    filed = json.loads(Path(path).read_text(encoding="utf-8"))
    assert [f["filterable"] for f in filed["fields"]
            if (f["entity"], f["name"]) == ("customer", "phone_2")] == [True]
    assert listed(store_client, "/admin/customer/?f.phone_2=0113") == ["Ann Lee"]
    assert listed(store_client, "/admin/customer/?f.phone_2=79+00") == ["Bo Chan"]


def test_a_filter_on_a_field_that_is_no_longer_filterable_is_dropped(store_client, desk,
                                                                    store_app):
    with store_app.app_context():
        update_field("customer", "seats", filterable=False)
    text = html_lib.unescape(store_client.get("/admin/customer/?f.seats=5").get_data(
        as_text=True))
    assert "These filters or columns were dropped: Seats (not filterable here)." in text
