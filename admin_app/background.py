"""Work a page starts that runs on after the page has answered, its progress stored.

A page must answer within a worker's time limit (gunicorn stops a worker after 30 s,
which would cut the work off half-way and show an error page), so long work, a seed
load or rewriting every record's search keys, is a job: the page saves a document,
starts the work and shows the document's progress, and the work writes it as it goes.

The work runs as `flask … ID` in a process of its own: the embedded store's SQLite
handles cannot cross threads, and a process outlives the worker that started it.
mongomock lives inside one process, so with it (in tests) the work runs in a thread of
the app. Both kinds of job (`importer.jobs`, `customising.search_key_jobs`) share this.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import typing as t
from datetime import UTC, datetime
from pathlib import Path

from flask import Flask, current_app
from mongoengine import DateTimeField, Document, IntField, StringField

from . import store

PROGRESS_EVERY = 0.5  # seconds between progress writes
RUNNING = ("queued", "running")


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Job(Document):
    """What every job stores: who started it, where it runs, how far it has got, and
    the sentence that says why it stopped, if it failed."""

    meta = {"abstract": True}
    # Said when the job's process is found gone while the job claims to run.
    ENDED: t.ClassVar[str] = "the process ended unexpectedly"

    started_by = StringField()
    created_at = DateTimeField(default=now)
    status = StringField(default="queued")  # queued, running, done, failed
    host = StringField()
    pid = IntField()
    done = IntField(default=0)
    total = IntField(default=0)
    error = StringField()  # set when the job stopped short

    @property
    def running(self) -> bool:
        return self.status in RUNNING

    def claim(self, **values: t.Any) -> None:
        """Mark the job running in this process (and set `values`)."""
        self.update(set__status="running", set__host=socket.gethostname(),
                    set__pid=os.getpid(), unset__error=True,
                    **{f"set__{k}": v for k, v in values.items()})

    def check_alive(self) -> None:
        """A job whose process died without a word is marked failed, not left running."""
        if self.status != "running" or self.host != socket.gethostname() or not self.pid:
            return
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            type(self).objects(pk=self.pk, status="running").update_one(
                set__status="failed", set__error=self.ENDED)
            self.reload()


def launch(job: Job, command: list[str], log: Path, could_not_start: str) -> None:
    """Run `flask --app admin_app COMMAND` for `job` in a process of its own, on this
    app's store, its output appended to `log`; if it cannot start, the job fails saying
    `could_not_start` and why."""
    config = current_app.config
    env = {**os.environ, "INSTANCE_PATH": current_app.instance_path,
           "MONGODB_DB": config["MONGODB_DB"]}
    if config.get("MONGODB_URI"):
        env["MONGODB_URI"] = config["MONGODB_URI"]
    else:
        env.pop("MONGODB_URI", None)
    try:
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as output:
            process = subprocess.Popen(  # noqa: S603 - our own interpreter and command, no shell
                [sys.executable, "-m", "flask", "--app", "admin_app", *command],
                env=env, stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)
    except OSError as exc:
        job.update(set__status="failed", set__error=f"{could_not_start} ({exc})")
        return
    _PROCESSES[:] = [*(p for p in _PROCESSES if p.poll() is None), process]
    threading.Thread(target=process.wait, daemon=True).start()  # reap it when it ends


def start(job: Job, command: list[str], log: Path, could_not_start: str,
          work: t.Callable[[str], None]) -> None:
    """Run the job where the store allows: `work(id)` in a thread on mongomock, else
    `flask COMMAND` in a process of its own (see `launch`)."""
    if store.in_memory():
        in_thread(current_app._get_current_object(), work, str(job.pk))  # type: ignore[attr-defined]
    else:
        launch(job, command, log, could_not_start)


_THREADS: list[threading.Thread] = []
# The job processes this process started, until they end (see `wait`).
_PROCESSES: list[subprocess.Popen[bytes]] = []


def in_thread(app: Flask, work: t.Callable[[str], None], job_id: str) -> None:
    """Run `work(job_id)` in a thread of this app (mongomock: the store is this process)."""
    def run() -> None:
        with app.app_context():
            work(job_id)

    thread = threading.Thread(target=run, daemon=True)
    _THREADS[:] = [*(t_ for t_ in _THREADS if t_.is_alive()), thread]
    thread.start()


def wait(timeout: float = 60) -> None:
    """Let the jobs this process started end: those in threads before their in-memory
    store goes away, those in processes before their store's folder does (the tests
    disconnect the one and delete the other after each test). A job process still
    running after `timeout` is stopped."""
    for thread in list(_THREADS):
        thread.join(timeout)
    for process in list(_PROCESSES):
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    _PROCESSES.clear()


class Progress:
    """Counts work done and writes the count to the job at most every PROGRESS_EVERY s
    (a write per record would cost the work more than the work)."""

    def __init__(self, job: Job, done: int = 0) -> None:
        self.job, self.done, self.written = job, done, 0.0

    def __call__(self, n: int) -> None:
        self.done += n
        if time.monotonic() - self.written >= PROGRESS_EVERY:
            self.job.update(set__done=self.done)
            self.written = time.monotonic()
