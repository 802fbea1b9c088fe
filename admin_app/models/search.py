"""Search keys: what the list search box and the reference lookups match, kept per record.

Matching "contains, case-insensitively" is an unanchored regular expression: MongoDB
scans every index entry for it and the embedded store decodes every record. So each
record carries `search_keys`, the case-folded prefixes of every word of its searchable
fields (the dictionary's `searchable` flag; `name` always), and a search asks for records
holding every typed word as a key: equalities on one multikey field, which an index
on (level, archived, search_keys, name) serves on MongoDB, and the embedded store's hash
index serves too. Typing "acme ma" finds "Acme Manufacturing Ltd"; so does "manu".

This module holds the text rules only (shared by records and tickets). Which fields of
a record are keyed is the dictionary's to say: `records/search_keys.py`. Every writer of
records keeps the keys (the record write path, and a plain MongoEngine save through
`records/search_keys.py`'s signals); `records/upkeep.py` fills them in once on older
stores.
"""

from __future__ import annotations

import re
import typing as t
import unicodedata

# Longer words are keyed by their first letters only; a longer typed word is cut too,
# so it matches words sharing its first MAX_PREFIX letters.
MAX_PREFIX = 12
_WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
    """The words of `text`, case-folded and NFKC-normalised, each cut to MAX_PREFIX."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return [word[:MAX_PREFIX] for word in _WORD.findall(folded)]


def keys_of(values: t.Iterable[t.Any]) -> list[str]:
    """Every prefix of every word of the text values, a list's texts included (sorted, so
    a rewrite that changes nothing stores the same list)."""
    return keys_of_words(word for value in values
                         for text in (value if isinstance(value, list | tuple) else (value,))
                         if isinstance(text, str) for word in words(text))


def keys_of_words(found: t.Iterable[str]) -> list[str]:
    """Every prefix of each of these words (as `words` gives them), sorted."""
    keys: set[str] = set()
    for word in found:
        keys.update(word[:end] for end in range(1, len(word) + 1))
    return sorted(keys)


def criteria(term: str) -> dict[str, t.Any] | None:
    """The filter for records holding every word typed (None: nothing typed to look for).

    One equality per word, joined by `$and`: MongoDB bounds its index scan on one of them
    and the embedded store intersects the hash index's sets for each."""
    wanted = sorted(set(words(term)), key=len, reverse=True)  # the most selective first
    if not wanted:
        return None
    first, *rest = wanted
    return {"search_keys": first, **({"$and": [{"search_keys": w} for w in rest]}
                                     if rest else {})}
