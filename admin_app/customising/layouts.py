"""Arranging a Level's form layout, checked once and then written.

Each Level of an entity has one layout, which can be arranged but not added. A layout is
refused if the form would lose a field it needs: the Level switch, or a field mandatory
at that Level (`fields` keeps the same rule from the field's side).
"""

from __future__ import annotations

import typing as t

from ..dictionary import history
from ..dictionary.documents import FieldDefinition, LayoutDefinition, LayoutSection, bump_version
from .checked import DictionaryError, compare_and_set, record


def check_arrange_layout(entity: str, level: str, sections: list[tuple[str, list[str]]], *,
                         fields: t.Iterable[FieldDefinition] | None = None) -> LayoutDefinition:
    """Raise what `arrange_layout` would raise, writing nothing; returns the layout as it
    would be saved.

    `fields` are the entity's fields as they will be when the layout is saved (by
    default, as they are stored). A caller that changes fields and layouts together (a
    dictionary file) passes them, so that a field it adds can be placed and a field it
    makes mandatory must be.
    """
    return _arranged(_layout_definition(entity, level), sections, fields)


def arrange_layout(entity: str, level: str, sections: list[tuple[str, list[str]]], *,
                   expected_revision: int | None = None, reason: str = "") -> None:
    """Set a Level's form layout: sections in order, each with its fields in order."""
    layout = _layout_definition(entity, level)
    before = history.plain(layout)
    arranged = _arranged(layout, sections, None)
    compare_and_set(LayoutDefinition, layout, expected_revision, f"The {level} layout",
                    sections=arranged.sections)
    bump_version()
    after = history.plain(LayoutDefinition.objects.get(pk=layout.pk))
    record("layout", entity, level, history.describe(before, after), before, after, reason)


def _layout_definition(entity: str, level: str) -> LayoutDefinition:
    layout = LayoutDefinition.objects(entity=entity, level=level).first()
    if layout is None:
        raise DictionaryError(f"There is no {level} layout for {entity}: each Level of an "
                              f"entity has one layout, which can be arranged but not added.")
    return layout


def _arranged(layout: LayoutDefinition, sections: list[tuple[str, list[str]]],
              fields: t.Iterable[FieldDefinition] | None) -> LayoutDefinition:
    """`layout` with `sections` (not saved), refused if the form would lose a field it
    needs: the Level switch, or a field mandatory at this Level."""
    entity, level = layout.entity, layout.level
    fields = list(FieldDefinition.objects(entity=entity) if fields is None else fields)
    known = {f.name for f in fields}
    placed: list[str] = []
    for title, names in sections:
        if not title.strip():
            raise DictionaryError("Every section needs a title.")
        unknown = [n for n in names if n not in known]
        if unknown:
            raise DictionaryError(f"Section {title!r} names fields that do not exist: "
                                  f"{', '.join(unknown)}.")
        placed += names
    twice = sorted({n for n in placed if placed.count(n) > 1})
    if twice:
        raise DictionaryError(f"These fields are placed more than once: {', '.join(twice)}.")
    if entity == "customer" and "level" not in placed:
        raise DictionaryError("The Level field must stay on the form: it switches the layout.")
    mandatory = [f.label for f in fields
                 if not f.retired and level in (f.mandatory or []) and f.name not in placed]
    if mandatory:
        raise DictionaryError(f"Mandatory fields must stay on the {level} form: "
                              f"{', '.join(mandatory)}.")
    layout.sections = [LayoutSection(title=t_.strip(), fields=list(n)) for t_, n in sections]
    return layout
