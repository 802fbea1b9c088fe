"""Every run, kept for the Runs screen; and the lease that lets one run at a time.

**The lease.** Two schedulers, a scheduler and `ldap sync`, or two web workers pressing
Load must not plan against the same records at once: the second would create every new
person twice. Before reading the directory a run takes the connector's lease, one
conditional update on `{_id: connector, holder, expires}` that matches only a free or
expired lease; a process killed mid-run leaves a lease that expires after LEASE_MINUTES.
The update is an upsert: while the lease is held its condition matches nothing, and the
insert it then tries collides with the held lease's `_id`, so two takers can never both
hold it. One single-document write, atomic on every store (a MongoDB server by itself,
the embedded store in one SQLite transaction per write, mongomock under one lock).
"""

from __future__ import annotations

import typing as t
from datetime import timedelta

import mongoengine as me
from pymongo.errors import DuplicateKeyError

from .. import store
from ..models.kept import now

STATUSES = ("running", "preview", "complete", "failed", "held")
LEASE_MINUTES = 30
LEASES = "directory_leases"
COUNTED = ("created", "updated", "unchanged", "archived", "restored", "conflicts", "skipped")
MAX_ERRORS = 1000



class SyncRun(me.Document):
    """One run of one connector: when, how it ended and why, what it did or would do."""

    meta = {"collection": "directory_runs",
            "indexes": [("connector", "-started"), "-started"],
            "ordering": ["-started"]}

    connector = me.StringField(required=True)
    started = me.DateTimeField(required=True, default=now)
    ended = me.DateTimeField()
    status = me.StringField(required=True, choices=STATUSES, default="running")
    reason = me.StringField()  # why it failed, was held or only previewed, in words
    dry_run = me.BooleanField(default=False)
    scheduled = me.BooleanField(default=False)
    forced = me.BooleanField(default=False)
    applied = me.BooleanField(default=False)  # it wrote its plan
    loaded = me.BooleanField(default=False)  # a preview or a held run since applied
    config_revision = me.IntField()
    counts = me.DictField()
    errors = me.ListField(me.StringField())  # per entry, in words
    guards = me.ListField(me.DictField())
    map_warnings = me.ListField(me.StringField())
    orgs_to_create = me.ListField(me.StringField())
    actions = me.ListField(me.DictField())  # the plan, but for unchanged entries
    fingerprint = me.StringField()  # what a load of this plan writes (plan.Plan.fingerprint)
    started_by = me.StringField()

    def __str__(self) -> str:
        return f"{self.connector} {self.started:%Y-%m-%d %H:%M}"

    @property
    def ok(self) -> bool:
        return self.status in ("complete", "preview")


def save(record: SyncRun, actions: list[dict[str, t.Any]]) -> None:
    """Save a run with its actions. The actions (thousands of plain dicts) go in with one
    raw `$set`: MongoEngine's conversion of a list of dicts cost more than the sync."""
    record.save()
    SyncRun._get_collection().update_one({"_id": record.pk}, {"$set": {"actions": actions}})
    record.actions = actions  # as a reload would read them


def last_applied(connector: str) -> SyncRun | None:
    return SyncRun.objects(connector=connector, applied=True).order_by("-started").first()


def config_moved(connector: t.Any) -> bool:
    """The base DN, filter or map changed since the last load (or nothing was ever loaded):
    a scheduled run only previews until an admin has loaded once with the new settings."""
    last = last_applied(connector.name)
    return last is None or last.config_revision != int(connector.config_revision or 0)


def scheduled_since(connector: str, moment: t.Any) -> bool:
    return SyncRun.objects(connector=connector, scheduled=True, started__gte=moment).count() > 0


# -- the lease ---------------------------------------------------------------------------------

def acquire(connector: str, holder: str) -> bool:
    """Take the connector's lease for `holder`; False while another holds it."""
    moment = now()
    leases = store.database()[LEASES]
    try:
        result = leases.update_one(
            {"_id": connector, "$or": [{"holder": None}, {"expires": {"$lt": moment}}]},
            {"$set": {"holder": holder, "expires": moment + timedelta(minutes=LEASE_MINUTES)}},
            upsert=True)
    except DuplicateKeyError:  # held: the upsert tried to add a second lease document
        return False
    return result.modified_count == 1 or result.upserted_id is not None


def release(connector: str, holder: str) -> None:
    store.database()[LEASES].update_one({"_id": connector, "holder": holder},
                                     {"$set": {"holder": None, "expires": None}})


def held_by_other(connector: str) -> bool:
    doc = store.database()[LEASES].find_one({"_id": connector})
    return bool(doc and doc.get("holder") and doc.get("expires") and doc["expires"] > now())
