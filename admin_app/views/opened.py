"""What an edit form was opened at, and what to say when a save from it comes too late.

A record edit is a compare-and-set on the record's revision (`RecordView.update_model`);
these are the pieces it works with: the state the form carries, how stored values are
compared with it, and the refusal in the dictionary's words.
"""

from __future__ import annotations

import json
import re
import typing as t
from dataclasses import dataclass

from flask import abort, request

# The edit form's hidden inputs: the revision it was opened at and the values it showed.
# Names starting with "_" are never a record's values (dictionary names cannot).
REVISION_ARG = "_revision"
OPENED_ARG = "_opened"


@dataclass(frozen=True)
class Opened:
    """What an edit form was opened at. A save writes only while the record is still at
    `revision`; `values` (the form's fields as they were stored then) tell, in a refusal,
    which fields someone else changed and which ones the user left as they were. The
    browser posts both back, so they are untrusted: compared, never written."""

    revision: int
    values: dict[str, t.Any]

    @classmethod
    def of(cls, record: t.Any, names: t.Iterable[str]) -> Opened:
        return cls(record.revision or 0,
                   comparable({name: getattr(record, name, None) for name in names}))

    @classmethod
    def posted(cls) -> Opened:
        """The state the posted form carries; a request without a readable revision gets a
        400 (only a hand-made one can lack it)."""
        revision = request.form.get(REVISION_ARG, "")
        if not re.fullmatch(r"[0-9]{1,15}", revision):
            abort(400, description="The form does not say which revision of the record it "
                                   "was opened at: reload the page and make the change again.")
        try:
            values = json.loads(request.form.get(OPENED_ARG) or "{}")
        except (ValueError, RecursionError):
            values = {}
        return cls(int(revision), values if isinstance(values, dict) else {})

    def changed(self, record: t.Any, names: t.Container[str]) -> list[str]:
        """The fields among `names` whose stored value is no longer the one the form showed."""
        return [name for name, value in self.values.items()
                if name in names and comparable(getattr(record, name, None)) != value]

    def hidden_values(self) -> str:
        return json.dumps(self.values)


def comparable(value: t.Any) -> t.Any:
    """A stored value as it reads back from the form's hidden JSON (ids and dates as text)."""
    return json.loads(json.dumps(value, default=str))


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
