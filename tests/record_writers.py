"""Who writes the record collections: every write sent to `customers` or `contacts`,
with the app module that sent it (the first frame of `admin_app` that is not the store
layer). Only `admin_app.records` may appear (tests/test_record_writers.py)."""

from __future__ import annotations

import contextlib
import sys
import typing as t

RECORD_COLLECTIONS = frozenset({"customers", "contacts"})
WRITES = ("insert_one", "insert_many", "update_one", "update_many", "replace_one",
          "delete_one", "delete_many", "find_one_and_update", "find_one_and_replace",
          "find_one_and_delete", "bulk_write")
# The store layer itself: it carries writes, it does not decide them.
STORE = ("admin_app.store",)


def sender() -> str | None:
    """The app module whose code sent the current write (None: a test wrote directly)."""
    frame = sys._getframe(2)
    while frame is not None:
        module = str(frame.f_globals.get("__name__", ""))
        if module.startswith("admin_app") and not module.startswith(STORE):
            return module
        frame = frame.f_back
    return None


@contextlib.contextmanager
def watching() -> t.Iterator[list[tuple[str, str, str]]]:
    """Every (module, method, collection) that wrote a record collection while inside."""
    import mongomock
    from litemongo._vendor import mongomock as vendored

    seen: list[tuple[str, str, str]] = []
    originals = []

    def watched(name: str, method: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
        def write(self: t.Any, *args: t.Any, **kwargs: t.Any) -> t.Any:
            if self.name in RECORD_COLLECTIONS:
                module = sender()
                if module is not None:
                    seen.append((module, name, self.name))
            return method(self, *args, **kwargs)
        return write

    for module in (mongomock, vendored):
        owner = module.collection.Collection
        for name in WRITES:
            method = owner.__dict__[name]
            originals.append((owner, name, method))
            setattr(owner, name, watched(name, method))
    try:
        yield seen
    finally:
        for owner, name, method in reversed(originals):
            setattr(owner, name, method)
