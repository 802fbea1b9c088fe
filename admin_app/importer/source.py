"""Reading seed files: a JSON object keyed by entity, or JSON Lines streamed line by line.

A problem with the file as a whole (not UTF-8, not JSON, nested too deeply to read,
wrong top level, unknown entity) is a `SeedFileError` raised before anything is written.
A problem with one line of a JSON Lines file (the same ones) is reported against that
line, and the other lines load.
"""

from __future__ import annotations

import json
import re
import typing as t
from dataclasses import dataclass
from pathlib import Path

from .kinds import BY_NAME, KINDS, LIST_NAMES, Kind


class SeedFileError(ValueError):
    """The file cannot be read at all; the message says where and what to do."""


@dataclass
class Item:
    """One raw record and where it came from, for messages."""

    kind: Kind | None
    position: str
    raw: t.Any
    problem: str | None = None  # set when the line itself is unreadable


class JsonSource:
    """A whole-file JSON object; validated for shape on opening."""

    def __init__(self, path: Path) -> None:
        self.path = path
        text = _decode(path, path.read_bytes())
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SeedFileError(f"{path.name} is not valid JSON: {exc.msg} at line {exc.lineno}, "
                                f"column {exc.colno}.") from exc
        except RecursionError:
            raise SeedFileError(f"{path.name} cannot be read: its lists or objects nest too "
                                f"deeply{_deep_at(text)}; {VALUES}.") from None
        if not isinstance(data, dict):
            raise SeedFileError(
                f"The top level of {path.name} must be an object keyed by entity ({LIST_NAMES}), "
                f"not {_json_type(data)}.")
        unknown = [key for key in data if key not in BY_NAME]
        if unknown:
            words = "entities" if len(unknown) > 1 else "entity"
            raise SeedFileError(f"{path.name} has unknown {words} "
                                f"{', '.join(map(repr, unknown))}; expected {LIST_NAMES}.")
        for key, value in data.items():
            if not isinstance(value, list):
                raise SeedFileError(f"In {path.name}, {key!r} must be a list of records, "
                                    f"not {_json_type(value)}.")
        self.data = data

    def count(self) -> int:
        return sum(len(records) for records in self.data.values())

    def items(self, tier: int, first_pass: bool) -> t.Iterator[Item]:
        for key, records in self.data.items():
            kind = BY_NAME[key]
            if kind.tier != tier:
                continue
            for index, raw in enumerate(records, start=1):
                yield Item(kind, f"{self.path.name} {kind.name} #{index}", raw)


class JsonLinesSource:
    """One `{"entity": …, …}` object a line, read again for each tier so memory stays flat."""

    def __init__(self, path: Path) -> None:
        self.path = path
        if path.stat().st_size == 0:
            raise SeedFileError(f"{path.name} is empty.")

    def count(self) -> int:
        with self.path.open("rb") as handle:
            return sum(1 for line in handle if line.strip())

    def items(self, tier: int, first_pass: bool) -> t.Iterator[Item]:
        """Lines of this tier; unreadable lines are reported on the first pass only."""
        # After the first pass has reported bad lines, a line whose "entity" names another
        # tier is skipped without parsing it. Inside a JSON string the quotes are escaped,
        # so the pattern only meets real keys; a line it cannot read is parsed.
        names = {n.encode() for k in KINDS if k.tier == tier for n in (k.name, k.singular)}
        with self.path.open("rb") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                if not first_pass:
                    said = _ENTITY.findall(line)
                    if said and not names.intersection(said):
                        continue
                position = f"{self.path.name} line {number}"
                try:
                    text = line.decode("utf-8-sig")
                except UnicodeDecodeError as exc:
                    if first_pass:
                        yield Item(None, position, None, f"not UTF-8 text ({exc.reason} at byte "
                                                         f"{exc.start}).")
                    continue
                try:
                    raw = json.loads(text)
                except json.JSONDecodeError as exc:
                    if first_pass:
                        yield Item(None, position, None,
                                   f"not valid JSON: {exc.msg} at column {exc.colno}.")
                    continue
                except RecursionError:
                    if first_pass:
                        yield Item(None, position, None,
                                   f"its lists or objects nest too deeply to be read; {VALUES}.")
                    continue
                kind, problem = _line_kind(raw)
                if problem:
                    if first_pass:
                        yield Item(None, position, raw, problem)
                    continue
                if kind.tier == tier:
                    del raw["entity"]
                    yield Item(kind, position, raw)


_ENTITY = re.compile(rb'"entity"\s*:\s*"([a-z]+)"')

# Python's JSON reader recurses once per level, so a file nested thousands deep (a
# mistake or an attack) stops it with a RecursionError; a seed file needs four levels
# (the file, an entity's list, a record, a value that is a list).
VALUES = "a record's values are text, numbers, true/false or lists of them"
DEEP = 100  # a nesting this deep is the one to point at
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{},]')


def _deep_at(text: str) -> str:
    """Where a JSON file first nests DEEP levels: the record (entity and number) when the
    file is shaped as a seed file, and the line and column; "" when it never does."""
    depth, entity, number, string = 0, None, 0, None
    for match in _TOKENS.finditer(text):
        mark = match.group()
        if mark[0] == '"':
            string = mark if depth == 1 else string
        elif mark == ",":
            if depth == 2:  # the next record of the entity's list
                number += 1
        elif mark in "[{":
            depth += 1
            if depth == 2:
                entity, number = string, 1
            if depth >= DEEP:
                offset = match.start()
                line = text.count("\n", 0, offset) + 1
                column = offset - text.rfind("\n", 0, offset)
                record = f"{entity[1:-1]} #{number}, " if entity else ""
                return f" ({record}at line {line:,}, column {column:,})"
        else:
            depth -= 1
    return ""


def _line_kind(raw: t.Any) -> tuple[Kind | None, str | None]:
    if not isinstance(raw, dict):
        return None, f"must be a JSON object, not {_json_type(raw)}."
    entity = raw.get("entity")
    if not isinstance(entity, str) or entity not in BY_NAME:
        return None, f"has unknown entity {entity!r}; expected {LIST_NAMES}."
    return BY_NAME[entity], None


def _decode(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SeedFileError(
            f"{path.name} is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            f"save it as UTF-8 and load it again.") from exc


def _json_type(value: t.Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false",
            type(None): "null"}.get(type(value), "a number")


Source = JsonSource | JsonLinesSource


def open_source(path: str | Path) -> Source:
    path = Path(path)
    if not path.is_file():
        raise SeedFileError(f"{path} does not exist or is not a file.")
    if path.suffix.lower() == ".jsonl":
        return JsonLinesSource(path)
    return JsonSource(path)
