"""What a list request may ask for (its query arguments), as a MongoDB filter, and as
OpenAPI parameters for the description: one module decides both, so the description
says exactly what the list accepts."""

from __future__ import annotations

import typing as t

from .. import dictionary
from .problems import Problem


def list_query(entity: str, args: t.Mapping[str, str]) -> dict[str, t.Any]:
    """The filter for a list request's arguments (the Archived tab and, for customers,
    the Level); a 400 problem for an argument it cannot use."""
    archived = args.get("archived", "false")
    if archived not in ("true", "false"):
        raise Problem(400, "bad-filter", "archived must be true or false.")
    query: dict[str, t.Any] = {"archived": archived == "true"}
    if entity == "customer":
        levels = [lv.name for lv in dictionary.current().entity(entity).levels]
        level = args.get("level")
        if level is not None and level not in levels:
            raise Problem(400, "bad-filter", f"level must be one of {', '.join(levels)}.")
        query = {"level": level if level is not None else {"$in": levels}, **query}
    return query


def list_parameters(entity: str, snapshot: t.Any) -> list[dict[str, t.Any]]:
    """The OpenAPI parameters `list_query` reads (paging and `fields` are the list's)."""
    parameters: list[dict[str, t.Any]] = [
        {"name": "archived", "in": "query", "required": False,
         "description": "true: the Archived tab; false (the default): current records.",
         "schema": {"type": "string", "enum": ["true", "false"], "default": "false"}}]
    if entity == "customer":
        parameters.append({"name": "level", "in": "query", "required": False,
                           "description": "Only records at this Level (default: every Level).",
                           "schema": {"type": "string", "enum": [
                               lv.name for lv in snapshot.entity(entity).levels]}})
    return parameters
