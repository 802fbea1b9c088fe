"""Export what is shown (issue 24, point 5): the Customer, Org and Contact lists' "Export
CSV" and "Export XLSX" give every record the list's URL matches (its filters, search,
tab, sort and columns), in its order, under the current labels, each value as the
screens show it, with formulas neutralised; on mongomock and on the embedded store."""

from __future__ import annotations

import csv
import html as html_lib
import io
import re
from datetime import date, datetime

import openpyxl
import pytest

from admin_app import records
from admin_app.customising.fields import update_field
from admin_app.records import list_export
from admin_app.records.listing import ListState
from admin_app.records.write import collection_of

from .test_list_filters import TRACE, make_desk

COLUMNS = "cols=name,org,tier,vip,seats,score,expiry_date,department"
LABELS = ["Name", "Org", "Tier", "Vip", "Seats", "Score", "Expiry Date", "Department"]


@pytest.fixture
def desk(store_app):
    with store_app.app_context():
        return make_desk()


def exported_csv(client, url: str) -> list[list[str]]:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    assert response.mimetype == "text/csv"
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def exported_xlsx(client, url: str) -> list[list[object]]:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    assert response.mimetype == list_export.XLSX_TYPE
    sheet = openpyxl.load_workbook(io.BytesIO(response.data), read_only=True).active
    # A carriage return is stored as OOXML's escape _x000D_, which Excel decodes and
    # openpyxl leaves as it is.
    return [["" if cell is None else cell.replace("_x000D_", "\r") if isinstance(cell, str)
             else cell for cell in row] for row in sheet.values]


def export_links(client, url: str) -> dict[str, str]:
    page = client.get(url).get_data(as_text=True)
    return {kind: html_lib.unescape(href) for href, kind in
            re.findall(r'href="([^"]+)" id="export-(csv|xlsx)"', page)}


def test_the_export_links_carry_the_view_and_give_exactly_what_it_matches(store_client, desk):
    url = f"/admin/customer/?f.tier=Gold&{COLUMNS}&sort=0&desc=1"
    links = export_links(store_client, url)
    assert set(links) == {"csv", "xlsx"}
    shown = [LABELS,
             ["Cy Dunn", "Acme Manufacturing", "Gold", "No", "30", "-2.0", "2025-12-31", "Sales"],
             ["Ann Lee", "Acme Manufacturing", "Gold", "Yes", "5", "1.5", "2026-02-01",
              "Finance"]]
    assert exported_csv(store_client, links["csv"]) == shown
    # In XLSX a number is a number; everything else is the text the screen shows.
    assert exported_xlsx(store_client, links["xlsx"]) == [
        shown[0], [*shown[1][:4], 30, -2.0, *shown[1][6:]], [*shown[2][:4], 5, 1.5, *shown[2][6:]]]
    # The file is named after the list and the day.
    response = store_client.get(links["csv"])
    assert response.headers["Content-Disposition"] == \
        f'attachment; filename="Customers-{date.today().isoformat()}.csv"'


@pytest.mark.parametrize(("url", "expected"), [
    ("/admin/customer/?f.department=fin", ["Ann Lee", "Bo Chan"]),  # narrowed: by name
    ("/admin/customer/?f.vip=no&search=c&sort=0&desc=1", ["Cy Dunn", "Bo Chan"]),
    ("/admin/customer/?archived=1", ["Di Evans"]),  # the Archived tab
    ("/admin/customer/?search=zzz", []),  # nothing matches: the header alone
    ("/admin/org/?sort=0", ["Acme Manufacturing", "Globex"]),  # the Org list
    ("/admin/contact/?f.job_title=offic", ["Priya Patel"]),  # the Contact list
])
def test_filters_search_tab_and_sort_choose_the_rows(store_client, desk, url, expected):
    for kind in ("csv", "xlsx"):
        link = export_links(store_client, url)[kind]
        rows = (exported_csv if kind == "csv" else exported_xlsx)(store_client, link)
        names_at = rows[0].index("Name")
        assert [row[names_at] for row in rows[1:]] == expected, (url, kind)


@pytest.mark.parametrize("in_process", [True, False])
@pytest.mark.parametrize("args", [
    {"search": "person", "cols": "name,department"},  # narrowed: by name
    {"sort": "1", "cols": "name,department"},  # by Department: repeated values, then id
    {"sort": "1", "desc": "1", "cols": "name,department"},  # and descending, empty last
])
def test_batches_follow_each_other_in_the_lists_order_read_either_way(store_app, args,
                                                                      in_process, monkeypatch):
    """Read by ids in order (the embedded store, mongomock) or a batch after the last
    (MongoDB: here on mongomock, told it is a server), in batches of 4, the rows are the
    list's whole order, each record once: the same as one unbatched read."""
    with store_app.app_context():
        from admin_app import dictionary

        for number in range(23):
            records.create("customer", {"name": f"Person {number % 7}", "level": "Customer",
                                        "department": ["Ops", "", "Sales"][number % 3]},
                           TRACE)
        state = ListState.from_args(args, dictionary.current(), "customer", "Customer")
        collection = collection_of("customer")
        whole = [[doc.get("name"), doc.get("department") or ""]
                 for doc in collection.find(state.query()).sort(
                     [*state.order(), ("_id", state.order()[0][1])])]
        monkeypatch.setattr(list_export, "queries_in_process", lambda: in_process)
        got = list(list_export.rows(state, collection, batch=4))
    assert got == whole and len(got) == 23


def test_every_matching_record_is_exported_not_only_the_page(store_app, store_client):
    with store_app.app_context():
        for number in range(45):
            records.create("customer", {"name": f"Person {number:02}", "level": "Customer",
                                        "department": "Ops"}, TRACE)
    url = "/admin/customer/?f.department=ops&cols=name"
    page = store_client.get(url).get_data(as_text=True)
    assert "1–20 of 45" in page
    wanted = [[f"Person {n:02}"] for n in range(45)]
    assert exported_csv(store_client, export_links(store_client, url)["csv"])[1:] == wanted
    assert exported_xlsx(store_client, export_links(store_client, url)["xlsx"])[1:] == wanted
    # Read a few at a time (the batches follow each other by name, then id), the same.
    with store_app.test_request_context(url):
        from flask import request

        from admin_app import dictionary

        state = ListState.from_args(request.args, dictionary.current(), "customer",
                                    "Customer")
        got = [row for row in list_export.rows(state, collection_of("customer"), batch=7)]
        assert got == wanted
        unsorted = ListState.from_args({"cols": "name"}, dictionary.current(), "customer",
                                       "Customer")
        assert len(list(list_export.rows(unsorted, collection_of("customer"), batch=7))) == 45


def test_cells_a_spreadsheet_would_run_are_neutralised_in_both_formats(store_app, store_client):
    typed = ["=HYPERLINK(\"http://x\",\"y\")", "+1+2", "-3+cmd", "@SUM(A1)", "\tTab", "\rCR",
             "Plain"]
    with store_app.app_context():
        for number, department in enumerate(typed):
            records.create("customer", {"name": f"P{number}", "level": "Customer",
                                        "department": department}, TRACE)
    url = "/admin/customer/?cols=name,department&sort=0"
    expected = [[f"P{n}", ("'" + d if n < 6 else d)] for n, d in enumerate(typed)]
    assert exported_csv(store_client, export_links(store_client, url)["csv"])[1:] == expected
    xlsx = exported_xlsx(store_client, export_links(store_client, url)["xlsx"])
    assert xlsx[1:] == expected
    # Not one cell is a formula: every one is a plain string (openpyxl reads "=…" as one).
    assert not any(isinstance(cell, str) and cell.startswith("=") for row in xlsx for cell in row)


def test_a_relabel_heads_the_columns_with_the_new_label(store_client, desk, store_app):
    with store_app.app_context():
        update_field("customer", "department", label="=Team")
        update_field("customer", "tier", label="Service tier")
    url = "/admin/customer/?cols=tier,department,name&f.tier=Gold"
    assert exported_csv(store_client, export_links(store_client, url)["csv"]) == [
        ["Service tier", "'=Team", "Name"], ["Gold", "Finance", "Ann Lee"],
        ["Gold", "Sales", "Cy Dunn"]]
    assert exported_xlsx(store_client, export_links(store_client, url)["xlsx"])[0] == \
        ["Service tier", "'=Team", "Name"]


def test_several_choices_are_joined_and_a_missing_reference_is_said(store_app, store_client):
    from admin_app.customising.fields import add_field
    from admin_app.dictionary.documents import LayoutDefinition

    with store_app.app_context():
        sections = {layout.level: layout.sections[0].title
                    for layout in LayoutDefinition.objects(entity="customer")}
        add_field("customer", "skills", "Skills", "multichoice", sections=sections,
                  choices=["Excel", "SQL", "Python"])
        org = records.create("customer", {"name": "Gone Org", "level": "Org"}, TRACE)
        records.create("customer", {"name": "Zed", "level": "Customer", "skills": ["SQL", "Excel"],
                                    "org": org.record["_id"],
                                    "expiry_date": datetime(2027, 1, 2)}, TRACE)
        collection_of("customer").delete_one({"_id": org.record["_id"]})
    url = "/admin/customer/?cols=name,skills,org,expiry_date"
    page = store_client.get(url).get_data(as_text=True)
    assert "SQL, Excel" in page and "(missing Org)" in page  # as the list shows them
    assert exported_csv(store_client, export_links(store_client, url)["csv"])[1:] == [
        ["Zed", "SQL, Excel", "(missing Org)", "2027-01-02"]]


def test_an_agent_may_export_and_an_unknown_format_is_not_found(store_app, store_agent_client):
    with store_app.app_context():
        make_desk()
    rows = exported_csv(store_agent_client, "/admin/org/download/csv/?sort=0")
    assert [row[0] for row in rows[1:]] == ["Acme Manufacturing", "Globex"]
    assert store_agent_client.get("/admin/org/download/pdf/").status_code == 404


def test_signed_out_is_sent_to_sign_in(store_app):
    with store_app.test_client() as client:
        response = client.get("/admin/customer/download/csv/")
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_neutralised_and_file_names():
    assert list_export.neutralised("=1+1") == "'=1+1"
    assert list_export.neutralised("Plain -1") == "Plain -1"
    assert list_export.file_name("Customers", date(2026, 12, 2), "xlsx") == \
        "Customers-2026-12-02.xlsx"
    assert list_export.file_name("Clients / Kunden", date(2026, 1, 5), "csv") == \
        "Clients-Kunden-2026-01-05.csv"
    assert list_export.sheet_name("A/B: [x]?" + "y" * 40) == ("A B   x  " + "y" * 40)[:31]
