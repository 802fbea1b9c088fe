"""The "Export CSV" and "Export XLSX" links of the Customer, Org and Contact lists: the
list as its URL shows it (filters, search, tab, sort, columns), every matching record,
streamed as it is written (`records.list_export`).

An export is a GET of the list's own URL arguments under `download/<format>/` (Flask-Admin
keeps `export/` for its own export, off here), so the link carries exactly what the
screen shows, and whoever may see the list (an admin or an
agent: the view's `StaffOnly`) may take it away. The file is named after the list and
the day: "Customers-2026-12-02.csv".
"""

from __future__ import annotations

import typing as t
from datetime import date
from urllib.parse import urlencode

from flask import Response, abort, stream_with_context, url_for
from flask_admin import expose

from ..records import list_export
from ..records.write import collection_of

FORMATS = {"csv": list_export.CSV_TYPE, "xlsx": list_export.XLSX_TYPE}


class ExportsList:
    """Mixin for a record list view with `list_state()` (`record_lists.FilteredList`)."""

    name: str  # the list's plural ("Customers"), from the dictionary

    def export_url(self, kind: str) -> str:
        """The export of what the list shows now, as `kind` (csv or xlsx)."""
        args = self.list_state().to_args()  # type: ignore[attr-defined]
        base = url_for(".download_view", kind=kind)
        return f"{base}?{urlencode(args)}" if args else base

    @expose("/download/<kind>/")
    def download_view(self, kind: str) -> t.Any:
        if kind not in FORMATS:
            abort(404)
        state = self.list_state()  # type: ignore[attr-defined]
        collection = collection_of(state.entity)
        if kind == "csv":
            chunks: t.Iterator[t.Any] = list_export.csv_chunks(state, collection)
        else:
            chunks = list_export.xlsx_chunks(state, collection, sheet=str(self.name))
        filename = list_export.file_name(str(self.name), date.today(), kind)
        return Response(stream_with_context(chunks), mimetype=FORMATS[kind], headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        })
