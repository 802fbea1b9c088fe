"""A dictionary change that moves a field's words in or out of the search keys rewrites
every record's keys as a job, with a page and a progress bar, as seed loads do.

Making a field searchable changes the keys of every record of the entity (4.7 s for
20,000 customers): far too long for the admin's request. So the change is saved at once
and `follow()` starts a job (`admin_app.background`: a process of its own, a thread on
mongomock); the dictionary screen links to its page. The screens ask for that
(`in_background()`); any other caller (a command, a script, a test) runs the same job to
its end before the call returns.

Records are saved while the job runs, and each must end with keys from its latest
values under the new dictionary:

- the job keys each record by compare-and-set on its revision (`records.rekeying`), so
  it never pairs keys with values a save has replaced;
- a save whose request took its dictionary before the change keys by the old fields:
  after its first pass the job checks again the records saved while it ran (their
  revision moved), until a pass finds nothing to rewrite or no record was saved while
  it ran (at most PASSES passes);
- a second change while the job runs counts as a `change` on it: the job starts again
  with the fields the dictionary now searches, and finishes only by a compare-and-set
  on that count, so no change is left unfollowed.

Meanwhile search answers from the keys records have: a record not yet rewritten is
found by the fields it was keyed by before. A job stopped by a full disk says so; run
again, it carries on after the last record it had done (rewriting a record whose keys
are already right writes nothing). When it ends it sets the upkeep marker.
"""

from __future__ import annotations

import contextlib
import contextvars
import sys
import typing as t
from pathlib import Path

from bson import ObjectId
from flask import current_app, g, has_request_context
from mongoengine import DateTimeField, IntField, ListField, ObjectIdField, StringField

from .. import background, dictionary
from ..dictionary import history
from ..records import rekeying, search_keys, upkeep
from ..records.write import MODELS
from ..store import disk_full

PASSES = 4  # the first, and checks for records saved meanwhile under the old dictionary
_IN_BACKGROUND = contextvars.ContextVar("search keys in background", default=False)


@contextlib.contextmanager
def in_background() -> t.Iterator[None]:
    """Within: a change's keys are rewritten by a job that runs on after the request
    (the dictionary screens), not before the change's call returns."""
    token = _IN_BACKGROUND.set(True)
    try:
        yield
    finally:
        _IN_BACKGROUND.reset(token)


class SearchKeyJob(background.Job):
    """Rewriting one entity's search keys after a dictionary change."""

    meta = {"collection": "search_key_jobs",
            "indexes": [("entity", "status"), "-created_at"]}
    ENDED = "the process rewriting the search keys ended unexpectedly"

    entity = StringField(required=True)
    field = StringField()  # the field whose change started the job
    label = StringField()  # its label then
    fields = ListField(StringField())  # the fields the keys are being made of
    changes = IntField(default=0)  # later dictionary changes this job must follow too
    passes = IntField(default=0)  # passes over every record completed (with `fields`)
    after = ObjectIdField()  # the last record done in the pass under way
    rewritten = IntField(default=0)  # records whose keys the first pass rewrote
    again = IntField(default=0)  # records saved meanwhile, keyed again from their values
    finished_at = DateTimeField()

    @property
    def checking(self) -> bool:
        """Past its first pass: checking the records saved meanwhile."""
        return self.passes > 0


def follow(entity: str, name: str) -> SearchKeyJob | None:
    """After a dictionary change to field `name` of `entity` (searchable or not, retired,
    a new type, renamed choices): when its words are, or were, search keys, have every
    record's keys rewritten. Returns the job that does it (None: nothing to rewrite)."""
    if entity not in MODELS:
        return None
    for running in SearchKeyJob.objects(entity=entity, status__in=background.RUNNING):
        running.check_alive()
    # A job under way takes this change too (whatever it is): it starts again with the
    # fields the dictionary searches by then.
    joined = SearchKeyJob.objects(entity=entity, status__in=background.RUNNING) \
        .order_by("-created_at").first()
    if joined is not None and SearchKeyJob.objects(
            pk=joined.pk, status__in=background.RUNNING).update_one(inc__changes=1):
        _note(joined)
        return joined
    fields = search_keys.searched_fields(entity, dictionary.latest())
    keyed_before = upkeep.keyed_fields(entity)
    # No marker (a store `flask setup` has not seen): which fields were keyed is unknown.
    if keyed_before is not None and name not in search_keys.value_fields(fields) \
            and name not in search_keys.value_fields(keyed_before):
        return None
    definition = dictionary.latest().fields.get(entity, {}).get(name)
    job = SearchKeyJob(entity=entity, field=name,
                       label=definition.label if definition is not None else name,
                       started_by=history.actor()).save()
    _note(job)
    if _IN_BACKGROUND.get() and has_request_context():
        job_id = str(job.pk)
        background.start(job, ["dictionary", "search-keys-job", job_id],
                         Path(current_app.instance_path) / "jobs" / f"search-keys-{job_id}.log",
                         "the process rewriting the search keys could not start", run)
    else:
        run(str(job.pk), raising=True)
        job.reload()
    return job


def _note(job: SearchKeyJob) -> None:
    """Remember the job this screen started or joined, for the page that answers it."""
    if _IN_BACKGROUND.get() and has_request_context():
        g.setdefault("search_key_jobs", []).append(job)


def followed() -> list[SearchKeyJob]:
    """The search-key jobs this request started or joined (once each)."""
    jobs = g.get("search_key_jobs", []) if has_request_context() else []
    return list({job.pk: job for job in jobs}.values())


def resume(job: SearchKeyJob) -> bool:
    """Run a failed job again, from where it stopped; False if it is not failed."""
    if not SearchKeyJob.objects(pk=job.pk, status="failed").update_one(
            set__status="queued", unset__error=True):
        return False
    job_id = str(job.pk)
    background.start(job, ["dictionary", "search-keys-job", job_id],
                     Path(current_app.instance_path) / "jobs" / f"search-keys-{job_id}.log",
                     "the process rewriting the search keys could not start", run)
    return True


def run(job_id: str, *, raising: bool = False) -> None:
    """Run a job to its end, writing its progress as it goes (`flask dictionary
    search-keys-job ID`). A failure ends the job with a sentence; `raising`: and is
    raised to the caller (a command or script that ran the job itself)."""
    job = SearchKeyJob.objects.get(pk=job_id)
    try:
        _rewrite(job)
    except Exception as exc:
        job.reload()
        if disk_full(exc):
            # No traceback for a full disk: the page says what was done and what to do.
            error = (f"the disk is full ({job.done:,} of {job.total:,} records done); free "
                     f"some space and run it again: it carries on after the records done")
        else:
            error = f"{type(exc).__name__}: {exc}"
        job.update(set__status="failed", set__error=error)
        if raising or not disk_full(exc):
            raise
        print(f"Bringing search up to date stopped: {error}.", file=sys.stderr)


def _rewrite(job: SearchKeyJob) -> None:
    """Passes until one finds nothing to rewrite or no record was saved while it ran,
    starting again whenever the dictionary changed the fields searched; then the marker.
    The first pass covers every record; each later one only those saved meanwhile."""
    job.claim()
    only: list[ObjectId] | None = None  # the records the next pass checks (None: all)
    while True:
        job.reload()
        seen = job.changes  # read before the dictionary: a change after it restarts us
        fields = list(search_keys.searched_fields(job.entity, dictionary.latest()))
        if fields != list(job.fields):  # a new job, or the dictionary moved on
            job.update(set__fields=fields, set__passes=0, unset__after=True, set__done=0)
            job.reload()
            only = None
        outcome = _one_pass(job, fields, seen, only)
        if outcome is None:  # changed meanwhile: start again, with the fields it now says
            job.update(set__passes=0, unset__after=True, set__done=0)
            only = None
            continue
        done, only = outcome
        if done.rewritten == 0 or only == [] or job.passes >= PASSES:
            finished = SearchKeyJob.objects(pk=job.pk, changes=seen).update_one(
                set__status="done", set__finished_at=background.now())
            if finished:
                upkeep.mark_keyed(job.entity, fields)
                return


def _one_pass(job: SearchKeyJob, fields: list[str], seen: int, only: list[ObjectId] | None
              ) -> tuple[rekeying.Rekeyed, list[ObjectId] | None] | None:
    """One pass over the records `only` (None: every record after `job.after`); what it
    did, and the records saved or added while it ran (None: unknown, for a pass resumed
    after a stop, when the next pass must check every record). None if a dictionary
    change came in.

    Its keys come from values read after the pass began, each written only while its
    record is at the revision read: a record whose revision is the same at the end as
    at the start was keyed from its latest values (or its keys already were right). So
    only the records whose revision moved meanwhile can hold keys of an old dictionary
    (a request that took it before the change saving during the pass), and only they
    need checking again: no full second pass when nobody saved."""
    resumed = job.after is not None
    before = rekeying.revisions(job.entity)
    if only is None:
        ids = sorted(oid for oid in before if job.after is None or oid > job.after)
    else:
        ids = only
    done = job.done if resumed else 0
    job.update(set__total=done + len(ids), set__done=done)
    outcome = rekeying.Rekeyed()
    for start in range(0, len(ids), rekeying.CHUNK):
        if SearchKeyJob.objects(pk=job.pk, changes__ne=seen).count():
            return None
        chunk = ids[start:start + rekeying.CHUNK]
        part = rekeying.rekey(job.entity, chunk, fields)
        outcome += part
        done += len(chunk)
        # The progress, and where to carry on from should the job stop, in one write.
        # After the first pass, what is rewritten was saved meanwhile under the old
        # dictionary: counted with the records saved while the job keyed them.
        first = job.passes == 0
        job.update(set__after=chunk[-1], set__done=done,
                   inc__rewritten=part.rewritten if first else 0,
                   inc__again=part.again + (0 if first else part.rewritten))
    saved = None if resumed else rekeying.moved(before, rekeying.revisions(job.entity))
    job.update(inc__passes=1, unset__after=True)
    job.reload()
    return outcome, saved


def latest(limit: int = 5) -> list[SearchKeyJob]:
    """The most recent jobs, for the dictionary screen."""
    jobs = list(SearchKeyJob.objects.order_by("-created_at").limit(limit))
    for job in jobs:
        job.check_alive()
    return jobs


def find(job_id: t.Any) -> SearchKeyJob | None:
    if not isinstance(job_id, str) or not ObjectId.is_valid(job_id):
        return None
    return SearchKeyJob.objects(pk=ObjectId(job_id)).first()
