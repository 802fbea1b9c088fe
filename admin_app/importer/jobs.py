"""Loads started from the upload page run outside the request, their progress stored.

A 100,000-record file takes longer than a web worker may spend on one request
(gunicorn stops a worker after 30 s, which would cut a load off half-way and show an
error page), so the page starts a job and shows its progress instead. The job runs
`flask seed job ID` in a process of its own, or in a thread on mongomock (tests): the
job machinery is `admin_app.background`, shared with the search-key jobs.
"""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path

from flask import Flask, current_app
from mongoengine import BooleanField, DictField, ListField, StringField

from .. import background, store
from ..store import disk_full
from .engine import Options, count_records, load
from .full_disk import stopped
from .report import Report
from .source import SeedFileError


class SeedJob(background.Job):
    """One check (dry run) or load of an uploaded file, and what it found."""

    # The newest first: Home shows the last upload's check or load.
    meta = {"collection": "seed_jobs", "indexes": ["-created_at"]}
    ENDED = "the load process ended unexpectedly"

    path = StringField(required=True)  # the upload, in the instance folder
    filename = StringField()  # as the admin named it
    options = DictField()
    # The outcome, once done.
    ok = BooleanField()
    file_error = StringField()
    summary = StringField()
    per_kind = DictField()
    failure_lines = ListField(StringField())
    confirmed = BooleanField(default=False)  # a check whose load has been started

    @property
    def dry_run(self) -> bool:
        return bool(self.options.get("dry_run"))


def start(path: Path, filename: str, options: Options, started_by: str) -> SeedJob:
    job = SeedJob(path=str(path), filename=filename, options=asdict(options),
                  started_by=started_by).save()
    if store.in_memory():
        _in_thread(current_app._get_current_object(), str(job.pk))  # type: ignore[attr-defined]
    else:
        _in_process(job)
    return job


def _in_process(job: SeedJob) -> None:
    job_id = str(job.pk)
    background.launch(job, ["seed", "job", job_id],
                      Path(job.path).parent / f"job-{job_id}.log",  # beside the upload
                      "the load process could not start")


def _in_thread(app: Flask, job_id: str) -> None:
    background.in_thread(app, run, job_id)


def run(job_id: str) -> None:
    """Run a job to its end, writing progress as it goes (`flask seed job ID`)."""
    job = SeedJob.objects.get(pk=job_id)
    options = Options(**job.options)
    path = Path(job.path)
    try:
        try:
            total = count_records([path]) * (2 if options.atomic and not options.dry_run else 1)
        except SeedFileError:
            total = 0  # the load reports the file error itself
        job.claim(total=total)
        report = load([path], options, progress=background.Progress(job), job=job.pk)
        _finish(job, report)
    except Exception as exc:
        if not disk_full(exc):
            job.update(set__status="failed", set__error=f"{type(exc).__name__}: {exc}")
            raise
        # No traceback for a full disk: the page says what was written and what to do.
        error = stopped(exc, [path])
        job.update(set__status="failed", set__error=error)
        print(f"The {'check' if options.dry_run else 'load'} stopped: {error}.",
              file=sys.stderr)
    finally:
        if not options.dry_run:  # a confirmed load is done with its file
            path.unlink(missing_ok=True)


def _finish(job: SeedJob, report: Report) -> None:
    job.update(set__status="done", set__done=report.total, set__ok=report.ok,
               set__file_error=report.file_error, set__summary=report.summary(),
               set__per_kind={k: dict(c) for k, c in report.per_kind.items()},
               set__failure_lines=report.failure_lines())


def confirm(check: SeedJob, started_by: str) -> SeedJob | None:
    """Start the load a finished check describes, once; None if it cannot be loaded."""
    if check.status != "done" or not check.dry_run or check.file_error \
            or not Path(check.path).is_file():
        return None
    # One conditional update claims the check: of two confirmations, one starts the load.
    claimed = SeedJob.objects(pk=check.pk, confirmed=False).update_one(set__confirmed=True)
    if not claimed:
        return None
    options = Options(**{**check.options, "dry_run": False})
    return start(Path(check.path), check.filename or "", options, started_by)
