"""The History tab of a record, a batch's changes, and reverting a change.

- `/admin/history/<entity>/<id>/`: a record's change sets, newest first, 20 a page,
  filterable by field (its stable id) and by way in; each page is one range on an index
  (`RecordChange`'s (record[, way][, fields.id], -seq)), paged by a revision cursor.
- `/admin/history/batch/<batch>/`: the change sets of one import job or sync run, on the
  (batch, _id) index.
- `/admin/history/revert/<change>/[?field=<id>]`: what reverting the change (or one field
  of it) would do; confirming it (a POST with the CSRF token) writes it through the
  record write path as a new change set (`records.revert`).

Admins and agents alike: agents edit records, and a revert is an edit.
"""

from __future__ import annotations

import typing as t

from bson import ObjectId
from flask import abort, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_wtf import FlaskForm

from ... import dictionary
from ...records import history, revert, trace
from ...records.write import MODELS
from ...security import audit
from ..secure import StaffOnly
from . import cursor, shown

PAGE_SIZE = 20


class RevertForm(FlaskForm):
    """Only the CSRF token: the change (and field) reverted are named by the URL."""


def _object_id(text: t.Any) -> ObjectId | None:
    return ObjectId(text) if isinstance(text, str) and ObjectId.is_valid(text) else None


def _sequence(text: str) -> str | None:
    """A revision cursor as the history sorts it (`history.sequence`)."""
    return history.sequence(int(text)) if text.isdigit() and len(text) <= 12 else None


def _pager(page: cursor.Page, endpoint: str, **base: str) -> dict[str, str | None]:
    """The Previous (newer) and Next (older) links of a page, None where there is none."""
    return {"newer": None if page.newer is None else url_for(endpoint, **base, **page.newer),
            "older": None if page.older is None else url_for(endpoint, **base, **page.older)}


class HistoryView(StaffOnly, BaseView):
    def is_visible(self) -> bool:
        return False  # reached from a record's History tab, a job's or run's page

    @expose("/")
    def index(self) -> t.Any:
        abort(404)  # history is always of something: a record, a batch, a change

    @expose("/<entity>/<record_id>/")
    def record(self, entity: str, record_id: str) -> t.Any:
        model, oid = MODELS.get(entity), _object_id(record_id)
        if model is None or oid is None:
            abort(404)
        document = model._get_collection().find_one({"_id": oid})
        if document is None:
            abort(404)
        history.catch_up([document])  # a change set a killed writer left in the record
        chosen = {name: request.args.get(name, "").strip() for name in ("field", "way")}
        query: dict[str, t.Any] = {"record": oid}
        if chosen["way"]:
            query["way"] = chosen["way"]
        if chosen["field"]:
            query["fields.id"] = chosen["field"]
        page = cursor.page(history.collection(), query, "seq", PAGE_SIZE, _sequence)
        snapshot = dictionary.current()
        args = {name: value for name, value in chosen.items() if value}
        return self.render(
            "dictadmin/history_record.html", record=document, entity=entity,
            kind=shown.record_kind(snapshot, entity, document),
            edit_url=url_for(shown.edit_endpoint(entity, document), id=str(oid)),
            entries=shown.entries(page.items), chosen=chosen, args=args,
            pager=_pager(page, ".record", entity=entity, record_id=str(oid), **args),
            fields=sorted(snapshot.fields.get(entity, {}).values(),
                          key=lambda f: (f.retired, f.label.lower())),
            ways=[(way, trace.WAY_WORDS[way]) for way in trace.WAYS],
            filtered=bool(args))

    @expose("/batch/<batch>/")
    def batch(self, batch: str) -> t.Any:
        page = cursor.page(history.collection(), {"batch": batch}, "_id", PAGE_SIZE,
                           _object_id)
        return self.render("dictadmin/history_batch.html", batch=batch,
                           about=shown.batch_words([batch])[batch],
                           pager=_pager(page, ".batch", batch=batch),
                           entries=shown.entries(page.items, with_records=True))

    @expose("/request/<request_id>/")
    def made_in_request(self, request_id: str) -> t.Any:
        """The changes one request made (an audit-log entry links here)."""
        page = cursor.page(history.collection(), {"request": request_id}, "_id", PAGE_SIZE,
                           _object_id)
        return self.render("dictadmin/history_batch.html", batch=request_id,
                           about=shown.Batch(request_id, "audited action", None),
                           pager=_pager(page, ".made_in_request", request_id=request_id),
                           entries=shown.entries(page.items, with_records=True))

    @expose("/revert/<change_id>/", methods=("GET", "POST"))
    def revert_change(self, change_id: str) -> t.Any:
        change = revert.find(change_id) or abort(404)
        field_id = request.args.get("field") or None
        back = url_for(".record", entity=change.entity, record_id=str(change.record))
        form = RevertForm()
        if request.method == "POST":
            if not form.validate_on_submit():
                abort(400, "The page had expired; open the change again and press Revert.")
            try:
                reverted = revert.revert(change, field_id, trace.by_request(trace.REVERT))
            except revert.NotReverted as refused:
                return self._confirmation(change, field_id, form, back, str(refused))
            name = reverted.written.record.get("name") or str(change.record)
            audit.record("record_reverted", subject=name, detail=reverted.sentence)
            flash(reverted.sentence, "success")
            return redirect(back)
        return self._confirmation(change, field_id, form, back)

    def _confirmation(self, change: t.Any, field_id: str | None, form: RevertForm, back: str,
                      refused: str | None = None) -> t.Any:
        """What the revert puts back, or why it cannot (then no button)."""
        try:
            reverting = revert.prepare(change, field_id)
        except revert.NotReverted as cannot:
            return self.render("dictadmin/history_revert.html", change=change, reverting=None,
                               refused=str(cannot), form=form, back=back, field_id=field_id)
        refused = refused or reverting.refusal()
        return self.render("dictadmin/history_revert.html", change=change, reverting=reverting,
                           refused=refused, form=form, back=back, field_id=field_id,
                           way=trace.WAY_WORDS.get(change.way, change.way))

