"""The dictionary as a reviewable file: export, plan an import, apply it.

The file is the whole dictionary in stable, sorted JSON, so it can live in version
control and be diffed. Importing is planned first: each change is listed with its
effect on existing records, and nothing is ever deleted — a field missing from the
file is retired (its data stays in the records), never dropped.
"""

from __future__ import annotations

import json
import typing as t
from dataclasses import dataclass, field
from pathlib import Path

from . import history, impact
from .changes import bump_version, check_field_change, update_field
from .documents import EntityDefinition, FieldDefinition, LayoutDefinition

# Local bookkeeping that does not belong in a shared file.
NOT_FILED = {"_id", "id", "revision"}
KINDS: dict[str, tuple[type, tuple[str, ...]]] = {
    "entities": (EntityDefinition, ("name",)),
    "fields": (FieldDefinition, ("entity", "name")),
    "layouts": (LayoutDefinition, ("entity", "level")),
}
SINGULAR = {"entities": "entity", "fields": "field", "layouts": "layout"}


def _plain(document: t.Any) -> dict[str, t.Any]:
    data = history.plain(document)
    if isinstance(document, EntityDefinition):
        data["name"] = document.pk
    return {k: v for k, v in data.items() if k not in NOT_FILED and v is not None}


def snapshot_definitions() -> dict[str, list[dict[str, t.Any]]]:
    result = {}
    for kind, (model, key) in KINDS.items():
        docs = [_plain(d) for d in model.objects]
        result[kind] = sorted(docs, key=lambda d, key=key: tuple(str(d.get(k)) for k in key))
    return result


def export(path: str | Path) -> int:
    data = snapshot_definitions()
    Path(path).write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n",
                          encoding="utf-8")
    return sum(len(v) for v in data.values())


@dataclass
class Plan:
    changes: list[str] = field(default_factory=list)
    writes: list[tuple[str, dict[str, t.Any]]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.writes


class DictionaryFileError(ValueError):
    """The file is not a dictionary file; the message says why."""


def _read(path: str | Path) -> dict[str, list[dict[str, t.Any]]]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise DictionaryFileError(f"Cannot read {path}: {exc}.") from exc
    except json.JSONDecodeError as exc:
        raise DictionaryFileError(f"{Path(path).name} is not valid JSON: {exc.msg} at line "
                                  f"{exc.lineno}, column {exc.colno}.") from exc
    if not isinstance(data, dict) or set(data) - set(KINDS):
        raise DictionaryFileError(f"{Path(path).name} must be an object with the keys "
                                  f"{', '.join(KINDS)}.")
    return data


def plan(path: str | Path) -> Plan:
    """What importing `path` would change, and its effect on existing records."""
    wanted = _read(path)
    current = snapshot_definitions()
    result = Plan()
    for kind, (model, key) in KINDS.items():
        have = {tuple(d.get(k) for k in key): d for d in current[kind]}
        for new in wanted.get(kind, []):
            ident = tuple(new.get(k) for k in key)
            label = f"{SINGULAR[kind]} {'.'.join(map(str, ident))}"
            old = have.pop(ident, None)
            if old is None:
                result.changes.append(f"add {label}")
                result.writes.append((kind, new))
                continue
            # A key the file leaves out means the attribute's default, not "no change".
            diffs = {k: (_value(model, old, k), _value(model, new, k))
                     for k in sorted(set(old) | set(new))
                     if _value(model, old, k) != _value(model, new, k)}
            if diffs:
                if kind == "fields":
                    # Refuse the whole file now rather than fail half-way through applying it.
                    check_field_change(new["entity"], new["name"],
                                       {k: after for k, (_before, after) in diffs.items()})
                for k, (before, after) in diffs.items():
                    result.changes.append(f"change {label}: {k} {before!r} → {after!r}"
                                          + _effect(kind, new, k))
                result.writes.append((kind, new))
        if kind == "fields":
            for ident, old in sorted(have.items()):
                if old.get("system"):
                    result.changes.append(f"keep field {'.'.join(ident)} (not in the file, but "
                                          f"system fields cannot be retired)")
                elif not old.get("retired"):
                    held = _records_with_value(old["entity"], old["name"])
                    result.changes.append(f"retire field {'.'.join(ident)} (not in the file; "
                                          f"{held} records keep their values)")
                    result.writes.append((kind, {**old, "retired": True}))
    return result


def _effect(kind: str, new: dict[str, t.Any], attribute: str) -> str:
    if kind != "fields" or attribute != "mandatory" or not new.get("mandatory"):
        return ""
    if new["entity"] not in impact.RECORDS:
        return ""
    lacking = impact.lacking(new["entity"], new["name"], new["mandatory"])
    return f" ({lacking} existing records lack a value)"


def _records_with_value(entity: str, name: str) -> int:
    return impact.holding(entity, name) if entity in impact.RECORDS else 0


def apply(path: str | Path) -> Plan:
    """Import `path`: upsert every changed definition, then move the version once.

    Changes to existing fields go through `update_field`, so a file gets the same guard
    rails as the screens (type conversion, pattern check, system fields kept).
    """
    result = plan(path)
    for kind, values in result.writes:
        model, key = KINDS[kind]
        query = {("pk" if kind == "entities" else k): values[k] for k in key}
        existing = model.objects(**query).first()
        if kind == "fields" and existing is not None:
            current = _plain(existing)
            changes = {k: _value(model, values, k) for k in set(current) | set(values)
                       if k not in ("entity", "name")
                       and _value(model, current, k) != _value(model, values, k)}
            update_field(existing.entity, existing.name, reason="file import", **changes)
            continue
        before = history.plain(existing) if existing is not None else {}
        if existing is None:
            existing = model(**values)
        else:
            for attribute, value in values.items():
                setattr(existing, attribute, value)
            existing.revision = (existing.revision or 0) + 1
        existing.save()
        after = history.plain(existing)
        history.record(SINGULAR[kind], values.get("entity", values.get("name")),
                       values.get("name") if kind == "fields" else values.get("level"),
                       f"file import: {history.describe(before, after)}", before, after)
    if result.writes:
        bump_version()
    return result


def _value(model: t.Any, definition: dict[str, t.Any], attribute: str) -> t.Any:
    """The attribute's value, or its default when the definition leaves it out."""
    if attribute in definition:
        return definition[attribute]
    field = model._fields.get(attribute)
    default = field.default if field is not None else None
    return default() if callable(default) else default
