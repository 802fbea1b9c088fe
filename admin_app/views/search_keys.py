"""The page of a search-key job: the progress bar while a dictionary change's keys are
rewritten, then how many records were rewritten (`customising.search_key_jobs`).

Admins only, as the dictionary screens that start these jobs. A job that stopped (a
full disk) can be run again from its page: a POST with the CSRF token, which carries on
after the records it had done.
"""

from __future__ import annotations

import typing as t

from flask import abort, flash, jsonify, redirect, url_for
from flask_admin import BaseView, expose
from flask_wtf import FlaskForm

from .. import dictionary
from ..customising import search_key_jobs
from .secure import AdminOnly


def plural(entity: str) -> str:
    """The entity's word for its records, as the menu says it (Customers, Contacts)."""
    snapshot = dictionary.current()
    return snapshot.entity(entity).plural if entity in snapshot.entities else entity


def announce(response: t.Any) -> t.Any:
    """After a request whose dictionary change started (or joined) a search-key job: the
    next page says so (the dictionary screen lists the jobs, each linked to its page)."""
    for job in search_key_jobs.followed():
        flash(f"Search is being brought up to date for {plural(job.entity)}: its progress "
              f"is under Search keys on the Dictionary page.", "info")
    return response


class SearchKeyJobView(AdminOnly, BaseView):
    """Under the dictionary's address (/admin/dictionary/search-keys/), not in the menu:
    the dictionary screen links here."""

    def is_visible(self) -> bool:
        return False

    def _job(self, job_id: str) -> search_key_jobs.SearchKeyJob:
        job = search_key_jobs.find(job_id) or abort(404)
        job.check_alive()
        return job

    @expose("/")
    def index(self) -> t.Any:
        return redirect(url_for("dictionary.index"))  # which lists the latest jobs

    @expose("/<job_id>/")
    def job(self, job_id: str) -> t.Any:
        job = self._job(job_id)
        again = FlaskForm(formdata=None) if job.status == "failed" else None
        return self.render("dictadmin/search_keys_job.html", job=job, again=again,
                           records=plural(job.entity))

    @expose("/<job_id>/progress")
    def progress(self, job_id: str) -> t.Any:
        job = self._job(job_id)
        return jsonify(status=job.status, done=job.done, total=job.total)

    @expose("/<job_id>/again/", methods=["POST"])
    def again(self, job_id: str) -> t.Any:
        job = self._job(job_id)
        if not FlaskForm().validate_on_submit():
            abort(400, description="The form has expired: reload the page and press Run "
                                   "again once more.")
        if search_key_jobs.resume(job):
            flash("Running again: it carries on after the records it had done.", "success")
        return redirect(url_for(".job", job_id=job_id))
