"""Which words of a record are its search keys: the dictionary's searchable fields, and
the keys of its filtered fields (list columns and fields flagged filterable), which the
list filters ask for (`filter_keys.py`).

The text rules (a word's prefixes, what a typed search asks for) are the models layer's
`models.search`, shared with tickets; which fields of a record are keyed is the
dictionary's to say, so it is decided here, above the dictionary, and the models layer
never asks it.

The record write path stamps keys on every write (`write.py`). A plain MongoEngine save
or bulk insert of a Customer or Contact (a script, a test's fixture) is keyed here too:
this module listens to MongoEngine's save and bulk-insert signals, so importing
`admin_app.records` is enough for such a save to store the keys the write path would.
"""

from __future__ import annotations

import typing as t

from mongoengine import signals

from ..models.records import Record
from ..models.search import keys_of
from . import filter_keys


def searched_fields(entity: str, snapshot: t.Any = None) -> tuple[str, ...]:
    """What the keys are made of: the fields whose words are keys (the dictionary's
    searchable text fields, and name), then a descriptor (`name/mode`) per filtered field
    (`filter_keys.descriptors`). The upkeep marker and the search-key job keep this list,
    so a change to either part rewrites the keys.

    Outside an app (no dictionary to ask), the name alone."""
    from flask import has_app_context

    if snapshot is None and not has_app_context():
        return ("name",)
    from .. import dictionary

    snapshot = snapshot or dictionary.current()
    if entity not in snapshot.entities:
        return ("name",)
    # Asked once per record written (imports, syncs): kept for the dictionary version.
    return snapshot.memo(("searched fields", entity), lambda: (
        "name", *sorted(f.name for f in snapshot.searchable(entity)
                        if f.kind.searchable and f.name != "name"),
        *filter_keys.descriptors(entity, snapshot)))


def searched_names(fields: t.Sequence[str]) -> list[str]:
    """The fields whose words the search box matches (the descriptors left out)."""
    return [entry for entry in fields if not filter_keys.is_descriptor(entry)]


def value_fields(fields: t.Sequence[str]) -> list[str]:
    """The fields whose values the keys are made of (what a rewrite reads)."""
    return list(dict.fromkeys(filter_keys.field_of(entry) for entry in fields))


def keys_for(entity: str, document: t.Mapping[str, t.Any],
             fields: t.Sequence[str] | None = None) -> list[str]:
    """The search keys of a record of `entity` holding `document`'s values (sorted, so a
    rewrite that changes nothing stores the same list)."""
    fields = fields or searched_fields(entity)
    found = keys_of(document.get(name) for name in fields
                    if not filter_keys.is_descriptor(name))
    filtering = [key for entry in fields if filter_keys.is_descriptor(entry)
                 for key in filter_keys.keys(entry, document.get(filter_keys.field_of(entry)))]
    return sorted({*found, *filtering}) if filtering else found


def of_record(record: Record) -> list[str]:
    """The keys a record document's current values give."""
    fields = searched_fields(record.entity)
    return keys_for(record.entity, {name: getattr(record, name, None)
                                    for name in value_fields(fields)}, fields)


def _key_plain_save(sender: type, document: t.Any, **_kwargs: t.Any) -> None:
    # After clean() (which moves the revision), before the document is written.
    if isinstance(document, Record):
        document.search_keys = of_record(document)


def _key_bulk_insert(sender: type, documents: list[t.Any], **_kwargs: t.Any) -> None:
    # `Model.objects.insert([...])` skips clean() and the save signals.
    for document in documents:
        if isinstance(document, Record):
            document.search_keys = of_record(document)


signals.pre_save_post_validation.connect(_key_plain_save)
signals.pre_bulk_insert.connect(_key_bulk_insert)
