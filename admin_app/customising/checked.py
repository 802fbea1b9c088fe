"""What every checked dictionary change shares: its errors, how it saves and what it leaves.

The operations are split by what they change (`fields`, `layouts`, `entities`; a type
change is `retype`, a revert `revert`). Each checks once, before it writes, and then
saves through this module: compare-and-set on the definition's revision, so that of two
admins one wins and the other is told (`StaleDefinition`); a History entry; and a move
of the shared version (`dictionary.documents.bump_version`), so that every process
notices the change.
"""

from __future__ import annotations

import typing as t

from mongoengine.errors import ValidationError

from ..dictionary import history

# Records written per batch of the record write path (a choice rename, a type change): its
# read by a list of ids costs the embedded store the square of the list's length.
WRITES = 100


class DictionaryError(ValueError):
    """A dictionary change that cannot be applied; the message is for the admin."""


class StaleDefinition(DictionaryError):
    """Someone saved this definition after the admin opened it."""


def validate(definition: t.Any) -> None:
    """MongoEngine's own checks (types, allowed values), told as a DictionaryError: a
    definition can come from a file holding any JSON, and its author needs a sentence."""
    try:
        definition.validate()
    except ValidationError as exc:
        problems = "; ".join(
            f"{key}: {message}" if not isinstance(message, dict)  # a list: one per item
            else f"{key}: {'; '.join(map(str, message.values()))}"
            for key, message in sorted((exc.to_dict() or {}).items()))
        raise DictionaryError(f"These settings are not valid: {problems or exc}. Correct them "
                              f"and try again.") from exc


def stale(what: str) -> StaleDefinition:
    """The refusal of a save based on a copy someone else has changed since."""
    return StaleDefinition(f"{what} was changed by someone else after you opened it; reload "
                           f"to see their change, then make yours again.")


def compare_and_set(model: t.Any, definition: t.Any, expected_revision: int | None,
                    what: str, **values: t.Any) -> None:
    """Save only if nobody saved since `expected_revision`: of two admins, one wins."""
    revision = definition.revision if expected_revision is None else expected_revision
    updated = model.objects(pk=definition.pk, revision=revision).update_one(
        inc__revision=1, **{f"set__{k}": v for k, v in values.items()})
    if not updated:
        raise stale(what)


def record(kind: str, entity: str, name: str | None, summary: str,
           before: dict[str, t.Any], after: dict[str, t.Any], reason: str = "") -> None:
    """The History entry of a change; `reason` (a file import, a profile) leads it."""
    history.record(kind, entity, name, f"{reason}: {summary}" if reason else summary,
                   before, after)
