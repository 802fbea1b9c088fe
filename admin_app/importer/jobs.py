"""Loads started from the upload page run outside the request, their progress stored.

A 100,000-record file takes longer than a web worker may spend on one request
(gunicorn stops a worker after 30 s, which would cut a load off half-way and show an
error page), so the page starts a job and shows its progress instead. The job runs
`flask seed job ID` in a process of its own: the embedded store's SQLite handles cannot
cross threads, and a process outlives the worker that started it. mongomock lives
inside one process, so with it (in tests) a job runs in a thread of the app.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from flask import Flask, current_app
from mongoengine import (
    BooleanField,
    DateTimeField,
    DictField,
    Document,
    IntField,
    ListField,
    StringField,
)

from .. import store
from ..store import disk_full
from .engine import Options, count_records, load
from .full_disk import stopped
from .report import Report
from .source import SeedFileError

PROGRESS_EVERY = 0.5  # seconds between progress writes
RUNNING = ("queued", "running")


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class SeedJob(Document):
    """One check (dry run) or load of an uploaded file, and what it found."""

    meta = {"collection": "seed_jobs"}

    path = StringField(required=True)  # the upload, in the instance folder
    filename = StringField()  # as the admin named it
    options = DictField()
    started_by = StringField()
    created_at = DateTimeField(default=_now)
    status = StringField(default="queued")  # queued, running, done, failed
    host = StringField()
    pid = IntField()
    done = IntField(default=0)
    total = IntField(default=0)
    # The outcome, once done.
    ok = BooleanField()
    file_error = StringField()
    summary = StringField()
    per_kind = DictField()
    failure_lines = ListField(StringField())
    error = StringField()  # set when the job itself broke
    confirmed = BooleanField(default=False)  # a check whose load has been started

    @property
    def dry_run(self) -> bool:
        return bool(self.options.get("dry_run"))

    @property
    def running(self) -> bool:
        return self.status in RUNNING

    def check_alive(self) -> None:
        """A job whose process died without a word is marked failed, not left running."""
        if self.status != "running" or self.host != socket.gethostname() or not self.pid:
            return
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            SeedJob.objects(pk=self.pk, status="running").update_one(
                set__status="failed", set__error="the load process ended unexpectedly")
            self.reload()


def start(path: Path, filename: str, options: Options, started_by: str) -> SeedJob:
    job = SeedJob(path=str(path), filename=filename, options=asdict(options),
                  started_by=started_by).save()
    if store.in_memory():
        _in_thread(current_app._get_current_object(), str(job.pk))  # type: ignore[attr-defined]
    else:
        _in_process(job)
    return job


def _in_process(job: SeedJob) -> None:
    job_id, config = str(job.pk), current_app.config
    env = {**os.environ, "INSTANCE_PATH": current_app.instance_path,
           "MONGODB_DB": config["MONGODB_DB"]}
    if config.get("MONGODB_URI"):
        env["MONGODB_URI"] = config["MONGODB_URI"]
    else:
        env.pop("MONGODB_URI", None)
    try:
        with (Path(job.path).parent / f"job-{job_id}.log").open("ab") as log:  # beside the upload
            process = subprocess.Popen(  # noqa: S603 - our own interpreter and command, no shell
                [sys.executable, "-m", "flask", "--app", "admin_app", "seed", "job", job_id],
                env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)
    except OSError as exc:
        job.update(set__status="failed", set__error=f"the load process could not start ({exc})")
        return
    threading.Thread(target=process.wait, daemon=True).start()  # reap it when it ends


def _in_thread(app: Flask, job_id: str) -> None:
    def work() -> None:
        with app.app_context():
            run(job_id)

    threading.Thread(target=work, daemon=True).start()


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
        job.update(set__status="running", set__host=socket.gethostname(),
                   set__pid=os.getpid(), set__total=total)
        report = load([path], options, progress=_Progress(job), job=job.pk)
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


class _Progress:
    def __init__(self, job: SeedJob) -> None:
        self.job, self.done, self.written = job, 0, 0.0

    def __call__(self, n: int) -> None:
        self.done += n
        if time.monotonic() - self.written >= PROGRESS_EVERY:
            self.job.update(set__done=self.done)
            self.written = time.monotonic()


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
