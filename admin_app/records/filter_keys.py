"""The list filters' keys: each filtered field's values, kept as search keys of the record.

A list may be filtered on any combination of fields (two choices, a date range, a text
and the search box at once). An index per field, or per pair of fields, could never
serve every combination in equality–sort–range order; so every filter is asked of one
multikey field instead. A record's `search_keys` hold, besides the prefixes of the words
of its searchable fields (`models/search.py`), keys for the value of each *filtered*
field (a list column, or a field the dictionary flags `filterable`): a filter is an
equality (or `$in`) on those keys, any number of filters and the search words are
several equalities on the same field, and the list index (Level, Archive flag,
search_keys, name, _id) serves them all, on MongoDB and on the embedded store (whose
keys table answers them, `store/litemongo_changes/keys_table.py`).

Every key starts with a mark that no word of a search starts with (a search word is
letters, digits and `_`), then the field's name and `:`, which no field name holds:

- a choice, several choices, a reference, a boolean: `=sla:Gold` + END per value
  (`=vip:no` + END, `=org:<id>` + END); a filter asks for any of its values;
- a text, word by word: `%department:` + every prefix of every word (as search keys
  are); a filter asks for each word typed;
- a text, exactly: `=department:` + the whole value, case-folded, spaces collapsed, + END;
- a date: `@expiry_date:` + every prefix of its YYYYMMDD; a number: `#score:` + every
  prefix of its 32 base-4 digits, in the numbers' order; a range asks for the prefixes
  that cover it.

END (a control character no value holds) ends an exact key, so no exact key starts
another one: the embedded store's keys table finds a key as the range of keys it starts
(it keeps only each record's longest keys), which is then exactly the records holding it.
A range is asked as the fewest prefixes whose keys make up exactly the range (`cover`),
at most 2 × 9 × 8 for a date and 2 × 3 × 32 for a number (under MongoDB's 200 for an
`$in` that still walks the index in name order); a record without a value, or a value
of another type, has no key and matches no range.

Which fields are keyed, and how, is a list of descriptors (`name/mode`) that joins the
searchable fields' names in `search_keys.searched_fields`: the marker that says what
the stored keys are made of, and the search-key job that rewrites them when a field is
made filterable or a list column, retyped or retired.
"""

from __future__ import annotations

import calendar
import math
import struct
import typing as t
import unicodedata
from datetime import date, datetime

from bson import ObjectId

from ..models.search import MAX_PREFIX, words

END = "\x1f"
EXACT, WORDS, DATE, NUMBER = "=", "%", "@", "#"
# Fields a list does not filter on: the search box finds by name; a list is one Level;
# the Archive flag is the Current / Archived tabs.
NOT_FILTERED = frozenset({"name", "level", "archived"})
# The filter controls, by what a field's type says of its values (`mode`).
CHOICE, REFERENCE, BOOLEAN, TEXT, DATES, INTEGER, DECIMAL = (
    "choice", "reference", "boolean", "text", "date", "integer", "decimal")
RANGED = frozenset({DATES, INTEGER, DECIMAL})
# A long text is keyed by its first words (as a ticket's description is), and matched
# exactly only when short: an exact key as long as a page would bloat every index.
WORDS_KEYED = 100
EXACT_LONGEST = 200
_DIGITS = {DATES: "0123456789", INTEGER: "0123", DECIMAL: "0123"}
_WIDTH = {DATES: 8, INTEGER: 32, DECIMAL: 32}


def mode(field: t.Any) -> str:
    """Which filter a field gets, by what its type says of its values."""
    kind = field.kind
    if kind.has_choices:
        return CHOICE
    if kind.is_reference:
        return REFERENCE
    if kind.always_set:
        return BOOLEAN
    if kind.ranged:
        return DATES if kind.in_time else INTEGER if kind.name == "integer" else DECIMAL
    return TEXT


def filtered(entity: str, snapshot: t.Any) -> list[t.Any]:
    """The fields of `entity` a list filters on: its list columns and the fields flagged
    filterable, live, in the dictionary's order (list columns first)."""
    fields = [f for f in snapshot.live_fields(entity)
              if (f.filterable or f.list_column is not None) and f.name not in NOT_FILTERED]
    return sorted(fields, key=lambda f: (f.list_column is None, f.list_column or 0))


def descriptors(entity: str, snapshot: t.Any) -> list[str]:
    """What the filter keys of `entity` are made of: `name/mode` per filtered field,
    sorted (a change of mode changes the keys, so the descriptor too)."""
    return sorted(f"{f.name}/{mode(f)}" for f in filtered(entity, snapshot))


def is_descriptor(entry: str) -> bool:
    return "/" in entry


def field_of(entry: str) -> str:
    """The field a searched-fields entry reads (a name, or a descriptor's name)."""
    return entry.partition("/")[0]


# -- a record's keys ----------------------------------------------------------------------

def keys(entry: str, value: t.Any) -> list[str]:
    """The keys of one filtered field's stored value (`entry` its descriptor)."""
    name, _, how = entry.partition("/")
    if how in (CHOICE, REFERENCE):
        held = value if isinstance(value, list | tuple) else [value]
        return [exact(name, v) for v in held if isinstance(v, str | ObjectId)]
    if how == BOOLEAN:
        return [exact(name, "yes" if value is True else "no")]
    if how == TEXT:
        found: list[str] = []
        texts = [v for v in (value if isinstance(value, list | tuple) else [value])
                 if isinstance(v, str)]
        for text in texts:
            found += prefixes(WORDS + name + ":", words(text)[:WORDS_KEYED])
            if len(text) <= EXACT_LONGEST and text.strip():
                found.append(exact(name, folded(text)))
        return found
    if how in RANGED:
        digits = encoded(how, value)
        return [] if digits is None else [ranged_key(how, name, digits[:end])
                                          for end in range(1, len(digits) + 1)]
    return []


def prefixes(mark: str, found: t.Iterable[str]) -> list[str]:
    """`mark` and every prefix of each word (the words as `models.search.words` gives
    them: case-folded, cut to MAX_PREFIX letters)."""
    return [mark + word[:end] for word in found for end in range(1, len(word) + 1)]


def exact(name: str, value: t.Any) -> str:
    return f"{EXACT}{name}:{value}{END}"


def folded(text: str) -> str:
    """A text as an exact filter compares it: case-folded, spaces collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def ranged_key(how: str, name: str, digits: str) -> str:
    return f"{DATE if how == DATES else NUMBER}{name}:{digits}"


def encoded(how: str, value: t.Any) -> str | None:
    """A date or number as fixed-width digits in the value's order (None: not one)."""
    if how == DATES:
        if isinstance(value, datetime | date):
            return f"{value.year:04d}{value.month:02d}{value.day:02d}"
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if how == INTEGER:
        if not isinstance(value, int) or not -2**63 <= value < 2**63:
            return None
        return _base4(value + 2**63)
    number = float(value)
    if not math.isfinite(number):
        return None
    bits = struct.unpack(">Q", struct.pack(">d", number + 0.0))[0]  # -0.0 is 0.0
    # IEEE 754 doubles in order: the sign bit set for positives, every bit flipped for
    # negatives.
    bits = bits ^ 0xFFFF_FFFF_FFFF_FFFF if bits >> 63 else bits | 1 << 63
    return _base4(bits)


def _base4(number: int) -> str:
    return "".join("0123"[(number >> shift) & 3] for shift in range(62, -1, -2))


# -- what a filter asks ---------------------------------------------------------------------

def wanted_words(name: str, text: str) -> list[str]:
    """One key per typed word: every word must start a word of the field."""
    return sorted({WORDS + name + ":" + word for word in words(text)}, key=len, reverse=True)


def lowest(how: str) -> str:
    return _DIGITS[how][0] * _WIDTH[how]


def highest(how: str) -> str:
    return _DIGITS[how][-1] * _WIDTH[how]


def wanted_range(how: str, name: str, low: t.Any, high: t.Any) -> list[str]:
    """The keys of the records whose value is from `low` to `high` (inclusive; None: no
    bound), as the fewest prefixes."""
    start = lowest(how) if low is None else encoded(how, low)
    end = highest(how) if high is None else encoded(how, high)
    if start is None or end is None:
        return []
    if how == DATES:
        start, end = _whole_months(start, end)
    covered = cover(start, end, _DIGITS[how])
    if covered == [""]:  # everything: every record with a value has one of these
        covered = list(_DIGITS[how])
    return [ranged_key(how, name, digits) for digits in covered]


def _whole_months(start: str, end: str) -> tuple[str, str]:
    """A range of dates widened over digits no date has (day 00, month 13…), so that
    whole months and years are one prefix each: 2026-01-01 to 2026-12-31 is `2026`."""
    if start[6:] == "01":
        start = start[:6] + "00"
        if start[4:6] == "01":
            start = start[:4] + "0000"
    year, month, day = int(end[:4]), int(end[4:6]), int(end[6:])
    if 1 <= year and 1 <= month <= 12 and day == calendar.monthrange(year, month)[1]:
        end = end[:6] + "99"
        if month == 12:
            end = end[:4] + "9999"
    return start, end


def cover(low: str, high: str, digits: str) -> list[str]:
    """The fewest prefixes whose completions (strings as long as `low`, of `digits`) are
    exactly those from `low` to `high`."""
    if low > high:
        return []
    width, first, last = len(low), digits[0], digits[-1]

    def from_low(at: int) -> list[str]:  # [low, low[:at] + last…]
        if low[at:] == first * (width - at):
            return [low[:at]]
        return [*from_low(at + 1), *(low[:at] + d for d in digits if d > low[at])]

    def to_high(at: int) -> list[str]:  # [high[:at] + first…, high]
        if high[at:] == last * (width - at):
            return [high[:at]]
        return [*(high[:at] + d for d in digits if d < high[at]), *to_high(at + 1)]

    at = 0
    while at < width and low[at] == high[at]:
        at += 1
    if at == width or (low[at:] == first * (width - at) and high[at:] == last * (width - at)):
        return [low[:at]]
    between = [low[:at] + d for d in digits if low[at] < d < high[at]]
    return [*from_low(at + 1), *between, *to_high(at + 1)]


__all__ = ["BOOLEAN", "CHOICE", "DATES", "DECIMAL", "END", "INTEGER", "MAX_PREFIX",
           "NOT_FILTERED", "RANGED", "REFERENCE", "TEXT", "cover", "descriptors", "encoded",
           "exact", "field_of", "filtered", "folded", "is_descriptor", "keys", "mode",
           "wanted_range", "wanted_words"]
