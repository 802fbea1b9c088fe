"""An entity's words: each Level's singular and plural, checked once and then written.

Entities and their Levels come with the code (the menus, the Org switch and the importer
know them), so nothing adds one; only the words shown for them change.
"""

from __future__ import annotations

from ..dictionary import history
from ..dictionary.documents import EntityDefinition, LevelDefinition, bump_version
from .checked import DictionaryError, compare_and_set, record


def check_relabel_entity(entity: str, words: dict[str, tuple[str, str]]) -> EntityDefinition:
    """Raise what `relabel_entity` would raise, writing nothing; returns the entity as it
    would be saved, so a caller checking many changes (a dictionary file) sees the words
    exactly as they will be stored."""
    return _relabelled(_entity_definition(entity), words)


def relabel_entity(entity: str, words: dict[str, tuple[str, str]], *,
                   expected_revision: int | None = None, reason: str = "") -> None:
    """Rename an entity's Levels: `words` maps a Level to (singular, plural)."""
    definition = _entity_definition(entity)
    before = history.plain(definition)
    relabelled = _relabelled(definition, words)
    compare_and_set(EntityDefinition, definition, expected_revision,
                    f"The words for {before['plural']}", levels=relabelled.levels,
                    singular=relabelled.singular, plural=relabelled.plural)
    bump_version()
    after = history.plain(EntityDefinition.objects.get(pk=entity))
    summary = ", ".join(f"{old['plural']} → {new['plural']}"
                        for old, new in zip(before["levels"], after["levels"], strict=True))
    record("entity", entity, None, summary, before, after, reason)


def _entity_definition(entity: str) -> EntityDefinition:
    definition = EntityDefinition.objects(name=entity).first()
    if definition is None:
        raise DictionaryError(f"There is no entity {entity!r}: entities come with Dictadmin "
                              f"and cannot be added; only their words can change.")
    return definition


def _relabelled(definition: EntityDefinition,
                words: dict[str, tuple[str, str]]) -> EntityDefinition:
    """`definition` with the new words (not saved). The entity's own words follow its
    first Level, which is what the menu and headings use."""
    names = [level.name for level in definition.levels]
    unknown = sorted(set(words) - set(names))
    if unknown:
        raise DictionaryError(f"{definition.pk} has no Level {', '.join(map(repr, unknown))}; "
                              f"its Levels are {', '.join(names)}, and only their words can "
                              f"change.")
    levels = []
    for level in definition.levels:
        singular, plural = (w.strip() for w in words.get(level.name,
                                                         (level.singular, level.plural)))
        if not singular or not plural:
            raise DictionaryError(f"The {level.name} Level needs a singular and a plural word.")
        levels.append(LevelDefinition(name=level.name, singular=singular, plural=plural))
    definition.levels = levels
    definition.singular, definition.plural = levels[0].singular, levels[0].plural
    return definition
