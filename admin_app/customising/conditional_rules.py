"""Adding, changing and retiring conditional rules, checked once and then written.

The rules screen, the dictionary file, solution profiles and a revert all come here, so a
rule gets the same checks whichever way it arrives (`dictionary/conditional/checks.py`:
its fields exist, its actions fit their types, its values fit its fields, no circle of
rules), the same compare-and-set against a stale copy, a History entry (kind "rule") and
a move of the shared version. Rules are retired, never deleted, so History can show and
revert every one. Each History entry also keeps the change in words (`change_in_words`:
the condition as `conditional.words` says it, the actions, with the labels of the day) and
the reason it was made (a file import, a profile), for the History screen and for
profiles, which retire only the rules a profile brought.
"""

from __future__ import annotations

import typing as t

from ..dictionary import conditional, history
from ..dictionary.conditional.shape import KEYS, Actions, ConditionalRule
from ..dictionary.documents import (
    EntityDefinition,
    FieldDefinition,
    RuleDefinition,
    bump_version,
)
from .checked import DictionaryError, compare_and_set


def stored_rules(entity: str) -> list[ConditionalRule]:
    return [conditional.from_document(r.document(), r.revision)
            for r in RuleDefinition.objects(entity=entity).order_by("name")]


def check_rule(document: t.Any, *, fields: t.Iterable[t.Any] | None = None,
               others: t.Iterable[ConditionalRule] | None = None,
               adding: bool | None = None) -> ConditionalRule:
    """The rule `document` describes, fitted to the dictionary, or DictionaryError naming
    the rule. `fields` / `others`: the entity's fields and other rules as they will be
    (default: as stored); `adding`: True refuses a name in use, False a name not in use."""
    try:
        rule = conditional.from_document(document)
    except conditional.ShapeError as exc:
        raise DictionaryError(str(exc)) from exc
    if EntityDefinition.objects(name=rule.entity).first() is None:
        known = ", ".join(sorted(e.pk for e in EntityDefinition.objects))
        raise DictionaryError(f"Rule {rule.name}: there is no entity {rule.entity!r} (the "
                              f"entities are {known}).")
    exists = RuleDefinition.objects(entity=rule.entity, name=rule.name).first() is not None
    if adding is True and exists:
        raise DictionaryError(f"{rule.entity} already has a rule named {rule.name!r}; "
                              f"choose another name or edit that rule.")
    if adding is False and not exists:
        raise DictionaryError(f"{rule.entity} has no rule named {rule.name!r}.")
    by_name = {f.name: f for f in (FieldDefinition.objects(entity=rule.entity)
                                   if fields is None else fields)}
    try:
        return conditional.fitted(rule, by_name, stored_rules(rule.entity)
                                  if others is None else others)
    except conditional.RuleRefused as exc:
        raise DictionaryError(str(exc)) from exc


def add_rule(document: t.Any, *, reason: str = "") -> ConditionalRule:
    """Save a new rule; it is in force on the next request of every process."""
    rule = check_rule(document, adding=True)
    data = rule.document()
    stored = RuleDefinition(entity=rule.entity, name=rule.name, description=rule.description,
                            when=data["when"], then=data["then"],
                            except_directory_sync=rule.except_directory_sync,
                            retired=rule.retired)
    stored.save(force_insert=True)
    bump_version()
    _record(rule.entity, rule.name, "added", {}, _plain(stored), reason)
    return rule


def update_rule(document: t.Any, *, expected_revision: int | None = None,
                reason: str = "") -> ConditionalRule:
    """Replace a rule's condition, actions and words (its entity and name stay)."""
    rule = check_rule(document, adding=False)
    stored = RuleDefinition.objects.get(entity=rule.entity, name=rule.name)
    before = _plain(stored)
    data = rule.document()
    after = {**before, "description": rule.description, "when": data["when"],
             "then": data["then"], "except_directory_sync": rule.except_directory_sync,
             "retired": rule.retired}
    if after == before:
        raise DictionaryError(f"Rule {rule.name} is already as given; nothing was changed.")
    compare_and_set(RuleDefinition, stored, expected_revision, f"Rule {rule.name}",
                    **{k: v for k, v in after.items() if k not in ("entity", "name")})
    bump_version()
    _record(rule.entity, rule.name, history.describe(before, after), before, after, reason)
    return rule


def retire_rule(entity: str, name: str, *, expected_revision: int | None = None,
                retired: bool = True, reason: str = "") -> None:
    """Take a rule out of force (or, `retired=False`, put it back: checked again)."""
    stored = RuleDefinition.objects(entity=entity, name=name).first()
    if stored is None:
        raise DictionaryError(f"{entity} has no rule named {name!r}.")
    if bool(stored.retired) == retired:
        raise DictionaryError(f"Rule {name} is already {'retired' if retired else 'in force'}.")
    update_rule({**stored.document(), "retired": retired},
                expected_revision=stored.revision if expected_revision is None
                else expected_revision, reason=reason)


def rules_still_fit(entity: str, fields: t.Iterable[t.Any],
                    rules: t.Iterable[ConditionalRule] | None = None) -> None:
    """Refuse a field change that a rule in force would no longer fit (a field it names
    retired, a value it compares no longer among the choices…), naming the rule. `rules`:
    the entity's rules as they will be (default: as stored; a dictionary file that
    carries rules judges them against its fields itself, and passes none)."""
    by_name = {f.name: f for f in fields}
    live = [r for r in (stored_rules(entity) if rules is None else rules) if not r.retired]
    for rule in live:
        try:
            conditional.fitted(rule, by_name, live)
        except conditional.RuleRefused as exc:
            raise DictionaryError(f"{exc} Change or retire rule {rule.name} first.") from exc


def _plain(stored: RuleDefinition) -> dict[str, t.Any]:
    return history.plain(stored)


def _record(entity: str, name: str, summary: str, before: dict[str, t.Any],
            after: dict[str, t.Any], reason: str) -> None:
    """The History entry, with the change in words as the fields were labelled then."""
    labels = {f.name: f for f in FieldDefinition.objects(entity=entity)}
    history.record("rule", entity, name, f"{reason}: {summary}" if reason else summary,
                   before, after, details={"words": change_in_words(before, after, labels),
                                           "reason": reason})


# -- a rule and its changes in words -------------------------------------------------------

def _rule(data: t.Mapping[str, t.Any]) -> ConditionalRule:
    """A stored definition (plain) or a rule document, read as a rule."""
    return conditional.from_document({k: v for k, v in data.items() if k in KEYS})


def _labels(names: t.Iterable[str], fields: t.Mapping[str, t.Any]) -> str:
    return ", ".join(fields[n].label if n in fields else n for n in names)


def actions_in_words(rule: ConditionalRule, fields: t.Mapping[str, t.Any]) -> str:
    """"shows Cost Centre, makes Cost Centre mandatory" (`fields`: name → its definition)."""
    then: Actions = rule.then
    parts = []
    if then.show:
        parts.append(f"shows {_labels(then.show, fields)}")
    if then.hide:
        parts.append(f"hides {_labels(then.hide, fields)}")
    if then.mandatory:
        parts.append(f"makes {_labels(then.mandatory, fields)} mandatory")
    if then.read_only:
        sync = " (the directory sync may still change it)" if rule.except_directory_sync \
            else ""
        parts.append(f"makes {_labels(then.read_only, fields)} read-only{sync}")
    parts += [f"limits {_labels([n], fields)} to {', '.join(allowed)}"
              for n, allowed in then.choices]
    return ", ".join(parts)


def rule_in_words(rule: ConditionalRule, fields: t.Mapping[str, t.Any]) -> str:
    """"when Department is Finance and Level is not Org: makes Cost Centre mandatory"."""
    return f"when {conditional.words(rule.when, fields)}: {actions_in_words(rule, fields)}"


def change_in_words(before: t.Mapping[str, t.Any], after: t.Mapping[str, t.Any],
                    fields: t.Mapping[str, t.Any]) -> list[str]:
    """A rule's change as History and a file's plan say it, one line per part that
    changed; `before` empty: the rule was added."""
    try:
        new = _rule(after)
        if not before:
            return [f"added{' (retired)' if new.retired else ''}: "
                    f"{rule_in_words(new, fields)}"]
        old = _rule(before)
    except conditional.ShapeError:
        return [history.describe(dict(before), dict(after))]
    lines = []
    if (was := conditional.words(old.when, fields)) != (now := conditional.words(new.when,
                                                                                  fields)):
        lines.append(f"condition: {was} → {now}")
    if (was := actions_in_words(old, fields)) != (now := actions_in_words(new, fields)):
        lines.append(f"actions: {was} → {now}")
    if old.description != new.description:
        lines.append(f"description: {old.description!r} → {new.description!r}")
    if old.retired != new.retired:
        lines.append("retired: no longer in force" if new.retired else "back in force")
    return lines or [history.describe(dict(before), dict(after))]
