"""How the data dictionary is stored: one collection per kind of definition.

Each definition carries a `revision` so that later edits can refuse a stale save
(optimistic locking); the `DictionaryVersion` counter moves on every change so that
every process can tell, with one small read, that what it derived is out of date.
"""

from __future__ import annotations

import mongoengine as me

from ..targets import TARGETS
from .conditional.shape import document
from .types import FIELD_TYPES

REFERENCE_TARGETS = tuple(TARGETS)


class LevelDefinition(me.EmbeddedDocument):
    """A Level of an entity (Customer, Org…) and the words the screens use for it."""

    name = me.StringField(required=True)
    singular = me.StringField(required=True)
    plural = me.StringField(required=True)


class EntityDefinition(me.Document):
    meta = {"collection": "dictionary_entities"}

    name = me.StringField(primary_key=True)
    singular = me.StringField(required=True)
    plural = me.StringField(required=True)
    levels = me.EmbeddedDocumentListField(LevelDefinition)
    revision = me.IntField(default=1)


class FieldDefinition(me.Document):
    meta = {
        "collection": "dictionary_fields",
        "indexes": [{"fields": ["entity", "name"], "unique": True}],
    }

    entity = me.StringField(required=True)
    name = me.StringField(required=True)
    label = me.StringField(required=True)
    type = me.StringField(required=True, choices=FIELD_TYPES)
    mandatory = me.ListField(me.StringField())  # the Levels on which a value is required
    help_text = me.StringField(default="")
    choices = me.ListField(me.StringField())
    max_length = me.IntField()
    pattern = me.StringField()
    # Range for integer, decimal and date fields: numbers, or dates as YYYY-MM-DD.
    minimum = me.DynamicField()
    maximum = me.DynamicField()
    target = me.StringField(choices=REFERENCE_TARGETS)  # for type "reference"
    default = me.DynamicField()
    list_column = me.IntField()  # position in the list, or None for "not listed"
    searchable = me.BooleanField(default=False)
    # A filter on the record lists (list columns have one anyway): its values are keyed
    # in the records' search keys (`records/filter_keys.py`).
    filterable = me.BooleanField(default=False)
    system = me.BooleanField(default=False)
    brought_forward = me.BooleanField(default=False)
    # The self-service portal: shown to the customer on "My details", and (editable
    # implies visible) changeable by them there. Customer fields only.
    customer_visible = me.BooleanField(default=False)
    customer_editable = me.BooleanField(default=False)
    retired = me.BooleanField(default=False)
    revision = me.IntField(default=1)


class LayoutSection(me.EmbeddedDocument):
    title = me.StringField(required=True)
    fields = me.ListField(me.StringField())


class LayoutDefinition(me.Document):
    meta = {
        "collection": "dictionary_layouts",
        "indexes": [{"fields": ["entity", "level"], "unique": True}],
    }

    entity = me.StringField(required=True)
    level = me.StringField(required=True)
    sections = me.EmbeddedDocumentListField(LayoutSection)
    revision = me.IntField(default=1)


class RuleDefinition(me.Document):
    """A conditional rule (`conditional/shape.py` reads `when` and `then`); retired,
    never deleted, so its history stays readable."""

    meta = {
        "collection": "dictionary_rules",
        "indexes": [{"fields": ["entity", "name"], "unique": True}],
    }

    entity = me.StringField(required=True)
    name = me.StringField(required=True)
    description = me.StringField(default="")
    when = me.DictField(required=True)
    then = me.DictField(required=True)
    except_directory_sync = me.BooleanField(default=False)
    retired = me.BooleanField(default=False)
    revision = me.IntField(default=1)

    def document(self) -> dict:
        """The rule as `conditional.shape` reads it (and as the dictionary file holds it)."""
        return document(self.name, self.entity, dict(self.when), dict(self.then),
                        self.description or "", bool(self.except_directory_sync),
                        bool(self.retired))


class DictionaryVersion(me.Document):
    """A single counter; its `_id` is fixed so the per-request check is one indexed read."""

    meta = {"collection": "dictionary_version"}

    id = me.StringField(primary_key=True, default="dictionary")
    number = me.IntField(default=0)


def bump_version() -> int:
    """Move the shared version: every process reloads the dictionary on its next read."""
    doc = DictionaryVersion.objects(id="dictionary").modify(
        upsert=True, new=True, inc__number=1
    )
    return doc.number
