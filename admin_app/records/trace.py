"""Who makes a change and through which way in: what every record write carries.

Every caller of the write path says who it acts for (a login, a directory connector, an
import job, the command line) and by which way in, so a record's history can answer
"who changed this, and how" whichever way the change came.
"""

from __future__ import annotations

import typing as t
import uuid
from dataclasses import dataclass, field, replace

# The ways in, as history names them.
FORM, IMPORT, SYNC, PORTAL, REVERT, DICTIONARY, API = (
    "form", "import", "sync", "portal", "revert", "dictionary", "api")
WAYS = (FORM, IMPORT, SYNC, PORTAL, REVERT, DICTIONARY, API)
WAY_WORDS = {FORM: "Form", IMPORT: "Import", SYNC: "Directory sync", PORTAL: "Portal",
             REVERT: "Revert", DICTIONARY: "Dictionary change", API: "API"}


@dataclass(frozen=True)
class Who:
    """A login (`ref` its id), a connector (`ref` its name), an import job (`ref` its id)
    or the command line; `name` is what a person reads (an email, "import job …")."""

    kind: str  # "login", "connector", "import", "command line"
    ref: str
    name: str

    def stored(self) -> dict[str, str]:
        return {"kind": self.kind, "ref": self.ref, "name": self.name}


COMMAND_LINE = Who("command line", "", "command line")


def login(user: t.Any) -> Who:
    return Who("login", str(user.pk), str(user.email))


def connector(name: str) -> Who:
    return Who("connector", name, f"directory connector {name}")


def import_job(job_id: t.Any) -> Who:
    return Who("import", str(job_id), f"import job {job_id}")


@dataclass(frozen=True)
class Trace:
    """What a write is stamped with besides its values: who, the way in, and the batch
    (an import job, a sync run, a type change) or request it belongs to."""

    who: Who
    way: str
    batch: str | None = None
    request: str | None = field(default=None)

    def in_batch(self, batch: t.Any) -> Trace:
        return replace(self, batch=str(batch))


def current_who() -> Who:
    """The signed-in login of this request, or the command line outside one."""
    from flask import has_request_context

    if has_request_context():
        from flask_login import current_user

        if getattr(current_user, "is_authenticated", False):
            return login(current_user)
    return COMMAND_LINE


def by_request(way: str) -> Trace:
    """A trace for a write made in this request (or on the command line), with a request
    id so that the changes of one request can be told apart."""
    return Trace(current_who(), way, request=request_id())


def request_id() -> str | None:
    """This request's id (made on first use), which its changes and audit entries carry."""
    from flask import g, has_request_context

    if not has_request_context():
        return None
    if "record_request_id" not in g:
        g.record_request_id = uuid.uuid4().hex
    return str(g.record_request_id)
