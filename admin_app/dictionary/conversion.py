"""What a stored value means under another field type: the rules a type change goes by.

A value converts only if it means the same under the new type (see `convert`); the
rulebook's own checks (email, URL, phone) decide the formats, so a value a type change
lets through is one the forms and the importer would accept too.
"""

from __future__ import annotations

import typing as t

from .types import of


def convert(value: t.Any, new_type: str) -> t.Any | None:
    """`value` as stored under `new_type`, or None when it would not mean the same there.

    Each type says what it takes (`FieldType.convert`). Text converts to a number only if
    it is the number's canonical text (no leading zeros, spaces or `+`) and the number
    fits: 64-bit integers, decimals a float holds exactly. Booleans come only from
    booleans; dates only from strict `YYYY-MM-DD`.
    """
    try:
        return of(new_type).convert(value)
    except (ValueError, OverflowError, ArithmeticError):
        return None
