"""Reverting a change set, or one field of it: putting back the values it replaced.

A revert is one more write through the record write path (`write.update`), so the
rulebook checks the record as it will be and the revert is itself a change set in
history, way in "revert". It is refused, with a sentence and nothing written,

- when a field it would put back has changed since that change (the stored value is no
  longer the change's new value): reverting would silently undo the later change;
- when the old value breaks a rule now (the field became mandatory, a choice was
  removed…): the sentence names the field and the rule's message;
- for the change set that created the record (archiving is how a record goes away), and
  for values a dictionary change rewrote (a type change converts every value, and is
  reverted as a whole in the dictionary's history, which converts them back).

`seen` carries the values the change set wrote, so a change made between the check and
the write is refused too (`write.Overlap`), not overwritten.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from bson import ObjectId
from bson.errors import InvalidId

from .. import dictionary
from . import write
from .history import RecordChange, definition_of, same
from .shown import Names, readable
from .trace import DICTIONARY, REVERT, Trace


class NotReverted(Exception):
    """The revert was refused; the message is the sentence to show. Nothing was written."""


@dataclass
class Reverting:
    """What a revert would do: the change set, the lines it puts back (all of them, or
    the one field asked for) and the record as stored now."""

    change: RecordChange
    lines: list[dict[str, t.Any]]
    record: dict[str, t.Any]
    snapshot: dictionary.Snapshot
    names: Names

    @property
    def entity(self) -> str:
        return self.change.entity

    def definition(self, line: t.Mapping[str, t.Any]) -> dictionary.Field | None:
        return definition_of(self.snapshot, self.entity, line)

    def label(self, line: t.Mapping[str, t.Any]) -> str:
        """The field's label now (its label then, if the dictionary no longer has it)."""
        definition = self.definition(line)
        return definition.label if definition is not None else str(line.get("label") or "")

    def shown(self, line: t.Mapping[str, t.Any], value: t.Any) -> str:
        definition = self.definition(line)
        return readable(value, definition.target if definition else None, self.names)

    def now(self, line: t.Mapping[str, t.Any]) -> t.Any:
        return self.record.get(line["name"])

    def changes(self) -> dict[str, t.Any]:
        """What the revert writes: each field's value before the change."""
        return {line["name"]: line.get("old") for line in self.lines}

    def seen(self) -> dict[str, t.Any]:
        """What the change wrote: the values the revert expects to find."""
        return {line["name"]: line.get("new") for line in self.lines}

    def changed_since(self, current: t.Mapping[str, t.Any] | None = None) -> list[dict]:
        current = self.record if current is None else current
        return [line for line in self.lines
                if not same(current.get(line["name"]), line.get("new"))]

    def refusal(self) -> str | None:
        """Why this revert cannot be made now (a sentence), or None."""
        moved = self.changed_since()
        if moved:
            return self.changed_sentence(moved, self.record)
        after = {**self.record, **self.changes()}
        after = {name: value for name, value in after.items() if value is not None}
        diff = [name for name, value in self.changes().items()
                if not same(self.record.get(name), value)]
        found = write.problems(self.entity, after, diff, self.snapshot, before=self.record,
                               way=REVERT)
        return self.rule_sentence(found) if found else None

    def changed_sentence(self, moved: list[dict], current: t.Mapping[str, t.Any]) -> str:
        parts = [(self.label(line), _quoted(self.shown(line, current.get(line["name"]))))
                 for line in moved]
        if len(parts) == 1:
            label, now = parts[0]
            return f"{label} has changed since this change (it is now {now}); nothing was " \
                   f"reverted."
        listed = ", ".join(f"{label} (now {now})" for label, now in parts[:-1])
        label, now = parts[-1]
        return (f"{listed} and {label} (now {now}) have changed since this change; "
                f"nothing was reverted.")

    def done_sentence(self, written: write.Written) -> str:
        """What a revert that went through put back."""
        by_name = {line["name"]: line for line in self.lines}
        parts = []
        for name in written.changed:
            line = by_name[name]
            value = self.shown(line, line.get("old"))
            parts.append(f"{self.label(line)} is '{value}' again" if value
                         else f"{self.label(line)} is empty again")
        return f"Reverted: {'; '.join(parts)}." if parts else "Nothing needed reverting."

    def rule_sentence(self, problems: list[write.Problem]) -> str:
        by_name = {line["name"]: line for line in self.lines}
        said = []
        for problem in problems:
            line = by_name.get(problem.field)
            if line is not None:
                said.append(f"{problem.label} cannot go back to "
                            f"'{self.shown(line, line.get('old'))}': {problem.message}")
            else:
                said.append(problem.message)
        return " ".join(said) + " Nothing was reverted."


def _quoted(shown: str) -> str:
    return f"'{shown}'" if shown else "empty"


def find(change_id: t.Any) -> RecordChange | None:
    try:
        oid = change_id if isinstance(change_id, ObjectId) else ObjectId(str(change_id))
    except (InvalidId, TypeError):
        return None
    return RecordChange.objects(pk=oid).first()


def prepare(change: RecordChange, field_id: str | None = None,
            names: Names | None = None) -> Reverting:
    """What reverting `change` (or only its field `field_id`) would do; NotReverted when
    it cannot be reverted at all."""
    if change.created:
        raise NotReverted("This change created the record: it cannot be reverted. "
                          "Archive the record instead.")
    if change.way == DICTIONARY:
        raise NotReverted("This change was made by a dictionary change (a type change or a "
                          "choice rename): revert that in the dictionary's history instead.")
    lines = [dict(line) for line in change.fields
             if field_id is None or (line.get("id") or line.get("name")) == field_id]
    if not lines:
        raise NotReverted("This change did not change that field; nothing was reverted.")
    record = write.collection_of(change.entity).find_one({"_id": change.record})
    if record is None:
        raise NotReverted("The record no longer exists; nothing was reverted.")
    snapshot = dictionary.current()
    reverting = Reverting(change, lines, record, snapshot, names or Names())
    gone = [str(line.get("label") or line.get("name")) for line in lines
            if reverting.definition(line) is None]
    if gone:
        raise NotReverted(f"{', '.join(gone)} is no longer in the dictionary: it cannot be "
                          f"reverted.")
    return reverting


@dataclass
class Reverted:
    written: write.Written
    sentence: str  # what was put back, in words


def revert(change: RecordChange, field_id: str | None, trace: Trace) -> Reverted:
    """Put back what `change` replaced (all its fields, or only `field_id`), as a new
    change set made by `trace` (its way: revert). Raises NotReverted with the sentence."""
    reverting = prepare(change, field_id)
    reason = reverting.refusal()
    if reason:
        raise NotReverted(reason)
    try:
        written = write.update(change.entity, change.record, reverting.changes(), trace,
                               seen=reverting.seen())
    except write.Overlap as overlap:
        raise NotReverted(reverting.changed_sentence(
            reverting.changed_since(overlap.current) or reverting.lines,
            overlap.current)) from overlap
    except write.Refused as refused:
        raise NotReverted(reverting.rule_sentence(refused.problems)) from refused
    except write.Missing as missing:
        raise NotReverted("The record no longer exists; nothing was reverted.") from missing
    return Reverted(written, reverting.done_sentence(written))
