"""The upload page: choose a seed file, read the dry-run report, then confirm the load.

The same engine as `flask seed load`. The upload is kept in the instance folder under
a random name between the two steps, so the confirmed load is exactly the file checked.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import tempfile
import time
import typing as t
from pathlib import Path

from flask import after_this_request, current_app, send_file
from flask_admin import BaseView, expose
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from werkzeug.utils import secure_filename
from wtforms import BooleanField, HiddenField, SelectChoice, SelectField

from .. import importer
from .secure import AdminOnly

TOKEN = re.compile(r"^[0-9a-f]{32}$")
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


class ConfirmForm(OptionsForm):
    token = HiddenField()


class SeedUploadView(AdminOnly, BaseView):
    """Admins only: a load can change thousands of records at once."""

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
            report = importer.load([path], form.options(dry_run=True))
            confirm = ConfirmForm(formdata=None, token=token, on_existing=form.on_existing.data,
                                  atomic=form.atomic.data, ignore_unknown=form.ignore_unknown.data,
                                  create_missing_orgs=form.create_missing_orgs.data)
            return self.render("dictadmin/seed_report.html", report=report, confirm=confirm,
                               filename=form.file.data.filename, checked=True)
        return self.render("dictadmin/seed_upload.html", form=form)

    @expose("/confirm/", methods=["POST"])
    def confirm(self) -> t.Any:
        form = ConfirmForm()
        token = form.token.data or ""
        files = list((self._folder() / token).glob("*")) if TOKEN.match(token) else []
        if not form.validate_on_submit() or len(files) != 1:
            return self.render("dictadmin/seed_upload.html", form=UploadForm(formdata=None),
                               expired=True), 400
        try:
            report = importer.load(files, form.options(dry_run=False))
        finally:
            shutil.rmtree(files[0].parent, ignore_errors=True)
        return self.render("dictadmin/seed_report.html", report=report, confirm=None,
                           filename="", checked=False)

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
