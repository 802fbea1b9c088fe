"""A record list taken away as a spreadsheet: every record its URL matches (not only the
page shown), in its order, under its columns' current labels, each value as the screens
show it, written as CSV or XLSX while the records are read, so an export of 100,000
records holds no more in memory than one batch.

What is exported is the list's `ListState` (the same reading of the URL the screen uses),
so an export and the list it was taken from cannot disagree. The records are read in
batches of BATCH by the state's query and order:

- a list in the store's order (no filter, no search, no sort asked) is one stream of the
  documents in natural order (`store.bulk_reads.documents`: on the embedded store the
  documents straight from the index, decoded one by one);
- any other list, on MongoDB, is read a batch at a time after the last record of the
  batch before, by its sort then `_id` (the order a cursor-paged list sends, which the
  index walks from that key), never by skipping;
- on the embedded store and mongomock, which work a query out in this process from its
  candidates (`store.queries_in_process`), a query per batch would go through every
  candidate again (15,000 records took 22 s): there the ids are read in the list's order
  once, and the records a batch at a time by id. A record changed between the two reads
  is exported as it is then, where its id was in the order; one deleted is left out.

Each batch's references are named with one query per target. A cell a spreadsheet would
run as a formula (text starting `=`, `+`, `-`, `@`, a tab or a carriage return) gets a
single quote in front, OWASP's advice against CSV injection, in both formats; a number
is written as a number (in CSV, its digits: a spreadsheet reads it as that number).

XLSX is written by XlsxWriter in `constant_memory` mode: each row is flushed to a
temporary file as soon as it is written (rows go out in order, which an export's are),
strings are stored inline instead of in a shared table, and it has no dependency of its
own; openpyxl's write-only mode holds memory flat too, but writes the same rows several
times slower without lxml. Strings are never turned into formulas, numbers or links
(`strings_to_formulas` and `strings_to_urls` off). An XLSX file is a zip whose directory
comes last, so its bytes are sent once the last row is written, read back from the
temporary file in chunks; a CSV goes out a batch at a time.
"""

from __future__ import annotations

import csv
import io
import itertools
import os
import re
import tempfile
import typing as t
from datetime import date

from ..store import queries_in_process
from ..store.bulk_reads import documents
from ..targets import TARGETS
from .listing import ListState

BATCH = 1000  # records read (and names looked up) at a time
CHUNK = 64 * 1024  # bytes sent at a time from a finished XLSX file
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
SHEET_NAME_MAX = 31  # Excel's limit on a worksheet's name
_NOT_IN_SHEET_NAME = re.compile(r"[\[\]:*?/\\]")
CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

Cell = str | int | float


def neutralised(text: str) -> str:
    """`text` as a spreadsheet shows it and never runs it: a leading quote before a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def header(state: ListState) -> list[str]:
    """The columns' current labels, in the view's order."""
    return [neutralised(str(f.label)) for f in state.columns]


def rows(state: ListState, collection: t.Any, batch: int = BATCH) -> t.Iterator[list[Cell]]:
    """Every record the state matches, in its order, as the cells of its columns."""
    columns = list(state.columns)
    for docs in batches(state, collection, batch):
        names = _names(columns, docs)
        for doc in docs:
            yield [_cell(f, doc.get(f.name), names) for f in columns]


def batches(state: ListState, collection: t.Any, size: int = BATCH
            ) -> t.Iterator[list[dict[str, t.Any]]]:
    """The matching documents (the columns and `_id`), `size` at a time, in the list's order."""
    query = state.query()
    wanted = [f.name for f in state.columns]
    order = state.order()
    if not order and all(isinstance(v, str | bool) for v in query.values()):
        stream = documents(collection, query, wanted)
        while chunk := list(itertools.islice(stream, size)):
            yield chunk
        return
    key, way = order[0] if order else ("_id", 1)
    sort = [(key, way)] if key == "_id" else [(key, way), ("_id", way)]
    projection = {name: 1 for name in {*wanted, key}}
    if queries_in_process():
        ids = [doc["_id"] for doc in collection.find(query, {"_id": 1}).sort(sort)]
        for start in range(0, len(ids), size):
            part = ids[start:start + size]
            found = {doc["_id"]: doc for doc in
                     collection.find({"_id": {"$in": part}}, projection)}
            yield [found[oid] for oid in part if oid in found]
        return
    after: tuple[t.Any, t.Any] | None = None
    while True:
        asked = query if after is None else _after(query, key, way, after)
        chunk = list(collection.find(asked, projection).sort(sort).limit(size))
        if chunk:
            yield chunk
        if len(chunk) < size:
            return
        after = (chunk[-1].get(key), chunk[-1]["_id"])


def _after(query: dict[str, t.Any], key: str, way: int, after: tuple[t.Any, t.Any]
           ) -> dict[str, t.Any]:
    """The query less the records up to (value, id) in the order (key, way), (_id, way):
    the same value and a later id, or a later value. No value sorts first, as MongoDB
    sorts it (last when descending)."""
    value, oid = after
    later = "$gt" if way > 0 else "$lt"
    if key == "_id":
        return {**query, "$and": [*query.get("$and", []), {"_id": {later: oid}}]}
    branches: list[dict[str, t.Any]] = [{key: value, "_id": {later: oid}}]
    if value is None:
        if way > 0:
            branches.append({key: {"$ne": None}})
    else:
        branches.append({key: {later: value}})
        if way < 0:
            branches.append({key: None})
    return {**query, "$or": branches}


def _names(columns: list[t.Any], docs: list[dict[str, t.Any]]) -> dict[tuple[str, t.Any], str]:
    """The names of the records this batch's references point to: one query per target,
    a dangling link said as the list says it."""
    names: dict[tuple[str, t.Any], str] = {}
    for field in columns:
        if not field.kind.is_reference or field.target not in TARGETS:
            continue
        ids = {doc.get(field.name) for doc in docs} - {None}
        ids -= {oid for target, oid in names if target == field.target}
        for oid in ids:
            names[(field.target, oid)] = f"(missing {field.label})"
        found = TARGETS[field.target].model._get_collection().find(
            {"_id": {"$in": list(ids)}}, {"name": 1}) if ids else ()
        for doc in found:
            names[(field.target, doc["_id"])] = str(doc.get("name") or "")
    return names


def _cell(field: t.Any, value: t.Any, names: dict[tuple[str, t.Any], str]) -> Cell:
    if value is None or value == "" or value == []:
        return ""
    kind = field.kind
    if kind.is_reference:
        return neutralised(names.get((field.target, value), ""))
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    if isinstance(value, date):
        return value.strftime("%Y-%m-%d")
    return neutralised(kind.shown(field, value))


# -- the formats ---------------------------------------------------------------------------

def csv_chunks(state: ListState, collection: t.Any, batch: int = BATCH) -> t.Iterator[str]:
    """The CSV file (UTF-8 with a byte-order mark, so a spreadsheet reads the accents), a
    batch of rows at a time."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header(state))
    yield "\ufeff" + _taken(out)
    for number, row in enumerate(rows(state, collection, batch), 1):
        writer.writerow(_csv_row(row))
        if number % batch == 0:
            yield _taken(out)
    yield _taken(out)


def _taken(out: io.StringIO) -> str:
    text = out.getvalue()
    out.seek(0)
    out.truncate()
    return text


def _csv_row(row: list[Cell]) -> list[str]:
    # A number's text is a number to a spreadsheet, never a formula, even when negative.
    return [cell if isinstance(cell, str) else str(cell) for cell in row]


def xlsx_chunks(state: ListState, collection: t.Any, sheet: str = "Records",
                batch: int = BATCH) -> t.Iterator[bytes]:
    """The XLSX file, written row by row (XlsxWriter, constant memory) into a temporary
    file that is then sent in chunks and removed."""
    import xlsxwriter

    handle, path = tempfile.mkstemp(suffix=".xlsx", prefix="dictadmin-export-")
    os.close(handle)
    try:
        book = xlsxwriter.Workbook(path, {"constant_memory": True,
                                          "strings_to_formulas": False,
                                          "strings_to_numbers": False,
                                          "strings_to_urls": False,
                                          "tmpdir": os.path.dirname(path)})
        worksheet = book.add_worksheet(sheet_name(sheet))
        bold = book.add_format({"bold": True})
        worksheet.write_row(0, 0, header(state), bold)
        for number, row in enumerate(rows(state, collection, batch), 1):
            for column, cell in enumerate(row):
                if isinstance(cell, str):
                    worksheet.write_string(number, column, cell)
                else:
                    worksheet.write_number(number, column, cell)
        book.close()
        with open(path, "rb") as written:
            while chunk := written.read(CHUNK):
                yield chunk
    finally:
        os.unlink(path)


def sheet_name(text: str) -> str:
    """A worksheet's name Excel accepts: without []:*?/\\, at most 31 characters."""
    name = _NOT_IN_SHEET_NAME.sub(" ", text).strip().strip("'")[:SHEET_NAME_MAX]
    return name or "Records"


def file_name(plural: str, day: date, extension: str) -> str:
    """"Customers-2026-12-02.xlsx": the list and the day, in characters any disk takes."""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", plural).strip("-") or "records"
    return f"{stem}-{day.isoformat()}.{extension}"


__all__ = ["BATCH", "CSV_TYPE", "XLSX_TYPE", "csv_chunks", "file_name", "header",
           "neutralised", "rows", "sheet_name", "xlsx_chunks"]
