"""What an edit form was opened at, what a save from it writes, and what to say about
other people's changes made since.

A form carries the revision and the values it showed (`Opened`). Saving writes only
the fields the user changed, through the record write path (`admin_app/records`), with
what the form showed as `seen`: a field someone else changed since is kept, unless the
user changed it too (a real overlap, refused naming it). The admin's record forms and
the portal's My details both save this way.
"""

from __future__ import annotations

import json
import re
import typing as t
from dataclasses import dataclass

from flask import abort, flash, request

from .. import records
from ..dictionary import Field
from ..dictionary.values import to_form, to_storage
from ..records.history import same

# The edit form's hidden inputs: the revision it was opened at and the values it showed.
# Names starting with "_" are never a record's values (dictionary names cannot).
REVISION_ARG = "_revision"
OPENED_ARG = "_opened"


@dataclass(frozen=True)
class Opened:
    """What an edit form was opened at: the record's `revision` and `values` (the fields
    as they were stored then, in their `comparable` JSON form). The browser posts both
    back, so they are untrusted: they decide what counts as the user's change and what
    the user saw, and are never written themselves."""

    revision: int
    values: dict[str, t.Any]

    @classmethod
    def of(cls, record: t.Any, names: t.Iterable[str]) -> Opened:
        return cls(record.revision or 0,
                   comparable({name: getattr(record, name, None) for name in names}))

    @classmethod
    def read(cls) -> Opened | None:
        """The state the posted form carries; None without a readable revision (only a
        hand-made request lacks it). Unreadable values count as none shown."""
        revision = request.form.get(REVISION_ARG, "")
        if not re.fullmatch(r"[0-9]{1,15}", revision):
            return None
        try:
            values = json.loads(request.form.get(OPENED_ARG) or "{}")
        except (ValueError, RecursionError):
            values = {}
        return cls(int(revision), values if isinstance(values, dict) else {})

    @classmethod
    def posted(cls) -> Opened:
        """`read`, or a 400 for a request that does not say what it was opened at."""
        opened = cls.read()
        if opened is None:
            abort(400, description="The form does not say which revision of the record it "
                                   "was opened at: reload the page and make the change again.")
        return opened

    def changed(self, record: t.Any, names: t.Container[str]) -> list[str]:
        """The fields among `names` whose stored value is no longer the one the form showed."""
        return [name for name, value in self.values.items()
                if name in names and comparable(getattr(record, name, None)) != value]

    def hidden_values(self) -> str:
        return json.dumps(self.values)

    def seen(self, fields: t.Iterable[Field]) -> dict[str, t.Any]:
        """What the form showed, in stored form, for each of `fields` it says it showed."""
        shown = {}
        for field in fields:
            if field.name in self.values:
                shown[field.name] = stored_form(field, self.values[field.name])
        return shown

    def changes(self, posted: t.Mapping[str, t.Any], fields: t.Iterable[Field]
                ) -> tuple[dict[str, t.Any], dict[str, t.Any]]:
        """The posted values (stored form) the user changed, and `seen`. A field left as
        the form showed it is not a change, even where the form cannot show the stored
        value exactly (an e-mail in capitals, a blank tick box); nor is a blank field the
        form did not show (one the dictionary added since it was opened)."""
        definitions = {field.name: field for field in fields}
        seen = self.seen(definitions.values())
        changes = {name: value for name, value in posted.items()
                   if (name not in seen and not _blank(value)) or (
                       name in seen and name in definitions
                       and not same(value, untouched(definitions[name], seen[name])))}
        return changes, seen

    def save(self, entity: str, record_id: t.Any, posted: t.Mapping[str, t.Any],
             fields: t.Iterable[Field], trace: records.Trace, *,
             unless_archived: bool = False) -> records.Written:
        """Write the fields the user changed on a form opened at this state (raises what
        `records.update` raises). Someone else's changes since are kept, unless they
        changed a field the user changed too (`records.Overlap`). A changed field the form
        does not say it showed (only a hand-made request) makes the save a compare-and-set
        on the whole record: written only while the record is still at `revision`."""
        changes, seen = self.changes(posted, fields)
        merged = all(name in seen for name in changes)
        return records.update(entity, record_id, changes, trace, seen=seen if merged else None,
                              revision=self.revision, unless_archived=unless_archived)


def comparable(value: t.Any) -> t.Any:
    """A stored value as it reads back from the form's hidden JSON (ids and dates as text)."""
    return json.loads(json.dumps(value, default=str))


def stored_form(field: Field, value: t.Any) -> t.Any:
    """A value read back from the hidden JSON, as it is stored (the inverse of
    `comparable` for the field's type; a value that does not read back as the type,
    which an import may have stored, is kept as it is)."""
    typed = field.kind.from_browser(value)
    return typed if comparable(typed) == value else value


def untouched(field: Field, stored: t.Any) -> t.Any:
    """What the form posts for a field the user left as it was shown."""
    if field.kind.is_reference:
        return stored  # shown as the record it names; a read to show it is not needed here
    return to_storage(field, to_form(field, stored))


def _blank(value: t.Any) -> bool:
    return value is None or value == "" or value is False


def listed(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def stale_message(theirs: list[str], taken: list[str], kept: list[str],
                   archived: str | None, archive_on_form: bool) -> str:
    """Why a save was refused, in the dictionary's labels: what the other person changed,
    and which of those fields the form now shows with their value or keeps with yours.
    `archived` is the Archive field's label when they archived the record."""
    if archived:
        head = "This record was archived by someone else while you edited it" + (
            f"; they also changed {listed(theirs)}" if theirs else "")
    else:
        head = "Someone else saved this record after you opened it" + (
            f": they changed {listed(theirs)}" if theirs
            else ", changing fields this form does not show")
    notes = [f"{head}."]
    if taken:
        notes.append(f"The form now shows their {listed(taken)}.")
    if kept:
        notes.append(f"You changed {listed(kept)} too: the form keeps yours.")
    if archived:
        notes.append("Your changes are below and were not saved; save to keep the record "
                     "archived with them" + (f", or untick {archived} to restore it."
                                             if archive_on_form else "."))
    else:
        notes.append("Your changes are below and were not saved; check them against the "
                     "current values and save again.")
    return " ".join(notes)


def show_problems(form: t.Any, problems: list[records.Problem], ask: str = "") -> None:
    """The rulebook's refusal of a save against each field; a field the form does not
    show (a mandatory value the record lacks) above it, with `ask` (who can help)."""
    for problem in problems:
        if problem.field in form:
            form[problem.field].errors = [*form[problem.field].errors, problem.message]
        else:
            flash(" ".join(filter(None, (f"Nothing was saved: {problem.message}", ask))),
                  "error")


def kept_message(changed_by: list[tuple[str, list[str]]]) -> str:
    """What a save says when it kept other people's changes made since the form was
    opened: who changed which fields (labels), e.g. "Saved. agent@example.com changed
    Department since you opened this record; their change is kept." Plain text: the page
    escapes it."""
    said = [f"{who} changed {listed(labels)}" for who, labels in changed_by if labels]
    if not said:
        return ""
    count = sum(len(labels) for _who, labels in changed_by)
    return (f"Saved. {listed(said)} since you opened this record; "
            + ("their change is kept." if count == 1 else "their changes are kept."))
