"""The upload page: choose a seed file, read the dry-run report, then confirm the load.

The same engine as `flask seed load`, run as a job (see `importer.jobs`) whose page shows
a progress bar until the report is ready. The upload is kept in the instance folder
under a random name between the two steps, so the confirmed load is exactly the file
checked, with the options it was checked with.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import time
import typing as t
from pathlib import Path

from bson import ObjectId
from flask import abort, after_this_request, current_app, jsonify, redirect, send_file, url_for
from flask_admin import BaseView, expose
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from werkzeug.utils import secure_filename
from wtforms import BooleanField, HiddenField, SelectChoice, SelectField

from .. import importer
from ..dictionary.history import actor
from ..importer import jobs
from .secure import StaffOnly

STALE_SECONDS = 24 * 3600


class OptionsForm(FlaskForm):
    on_existing = SelectField("Records that already exist", choices=[
        SelectChoice("update", "Update them"), SelectChoice("skip", "Leave them as they are")])
    atomic = BooleanField("Load nothing if any record fails")
    ignore_unknown = BooleanField("Skip fields the dictionary does not have")
    create_missing_orgs = BooleanField("Create Orgs that customers name but that do not exist")

    def options(self, dry_run: bool) -> importer.Options:
        return importer.Options(dry_run=dry_run, atomic=self.atomic.data,
                                on_existing=self.on_existing.data,
                                ignore_unknown=self.ignore_unknown.data,
                                create_missing_orgs=self.create_missing_orgs.data)


class UploadForm(OptionsForm):
    file = FileField("Seed file (.json or .jsonl)", validators=[
        FileRequired("Choose a file to load."),
        FileAllowed(["json", "jsonl"], "Choose a .json or .jsonl seed file.")])


class ConfirmForm(FlaskForm):
    token = HiddenField()  # the check job's id; its options are the ones loaded


class SeedUploadView(StaffOnly, BaseView):
    """Admins and agents (operators load files too); a load checks the whole file first,
    because it can change thousands of records at once."""

    def _folder(self) -> Path:
        folder = Path(current_app.instance_path) / "uploads"
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def _forget_stale_uploads(self) -> None:
        """Checked files that were never confirmed are removed after a day."""
        cutoff = time.time() - STALE_SECONDS
        for entry in self._folder().iterdir():
            if entry.is_dir() and entry.stat().st_mtime < cutoff:
                shutil.rmtree(entry, ignore_errors=True)

    @expose("/", methods=["GET", "POST"])
    def index(self) -> t.Any:
        form = UploadForm()
        if form.validate_on_submit():
            self._forget_stale_uploads()
            # A folder per upload keeps the file's own (sanitised) name for the report.
            token = secrets.token_hex(16)
            name = secure_filename(form.file.data.filename) or "upload.json"
            path = self._folder() / token / name
            path.parent.mkdir()
            form.file.data.save(path)
            job = jobs.start(path, form.file.data.filename, form.options(dry_run=True), actor())
            return redirect(url_for(".job", job_id=str(job.pk)))
        return self.render("dictadmin/seed_upload.html", form=form)

    @expose("/confirm/", methods=["POST"])
    def confirm(self) -> t.Any:
        form = ConfirmForm()
        check = _job(form.token.data) if form.validate_on_submit() else None
        load = jobs.confirm(check, actor()) if check else None
        if load is None:
            return self.render("dictadmin/seed_upload.html", form=UploadForm(formdata=None),
                               expired=True), 400
        return redirect(url_for(".job", job_id=str(load.pk)))

    @expose("/job/<job_id>/")
    def job(self, job_id: str) -> t.Any:
        job = _job(job_id) or abort(404)
        job.check_alive()
        confirm = ConfirmForm(formdata=None, token=str(job.pk)) \
            if job.status == "done" and job.dry_run and not job.file_error \
            and not job.confirmed else None
        # A load's changes are history's batch of this job (a check writes nothing).
        changes_url = None if job.dry_run else url_for("history.batch", batch=str(job.pk))
        return self.render("dictadmin/seed_job.html", job=job, confirm=confirm,
                           changes_url=changes_url)

    @expose("/job/<job_id>/progress")
    def progress(self, job_id: str) -> t.Any:
        job = _job(job_id) or abort(404)
        job.check_alive()
        return jsonify(status=job.status, done=job.done, total=job.total)

    @expose("/export/")
    def export(self) -> t.Any:
        handle, name = tempfile.mkstemp(suffix=".json", dir=self._folder())
        os.close(handle)
        importer.export(name)

        @after_this_request
        def remove(response: t.Any) -> t.Any:
            Path(name).unlink(missing_ok=True)
            return response

        return send_file(name, as_attachment=True, download_name="dictadmin-export.json",
                         mimetype="application/json")


def _job(job_id: t.Any) -> jobs.SeedJob | None:
    if not isinstance(job_id, str) or not ObjectId.is_valid(job_id):
        return None
    return jobs.SeedJob.objects(pk=ObjectId(job_id)).first()
