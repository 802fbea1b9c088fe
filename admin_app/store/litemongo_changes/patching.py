"""How each change replaces a piece of litemongo: the upstream piece is kept under its
name in `UPSTREAM`, so that the tests can run a query both ways and compare."""

from __future__ import annotations

import typing as t

# The upstream methods replaced, by "Class.method" (or "module.function").
UPSTREAM: dict[str, t.Any] = {}


def replace(cls: type, name: str, make: t.Callable[[t.Any], t.Any]) -> None:
    """Wrap `cls.name`; UPSTREAM keeps the method as litemongo ships it (the first one
    replaced, when two changes wrap the same method)."""
    current = getattr(cls, name)
    UPSTREAM.setdefault(f"{cls.__name__}.{name}", current)
    setattr(cls, name, make(current))


def replace_function(module: t.Any, name: str, make: t.Callable[[t.Any], t.Any]) -> None:
    upstream = UPSTREAM[f"{module.__name__.rsplit('.', 1)[-1]}.{name}"] = getattr(module, name)
    setattr(module, name, make(upstream))
