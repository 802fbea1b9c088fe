"""**A new collection is made once, however many processes open it at once.** Opening a
collection file, litemongo switches it to write-ahead logging and then reads its `info`
table for the key format, inserting one when there is none; making a database, it makes
its folder. None of these steps expects another process doing the same at the same
moment (two seed loads started together, two workers' first requests on a new store):
one process finds the folder made under it (`FileExistsError`), the journal switch meets
another's open transaction (`database is locked`), or both find no key format and the
second's insert breaks the unique key (`UNIQUE constraint failed: info.key`).

Here a database's folder is made if missing first, and opening a collection file holds an
exclusive `flock` on one lock file in the store's folder (beside the database folders,
where litemongo looks only for folders), so the openers take turns; the next one finds
the file ready. Opening happens once per collection per process. The answers are
upstream's.

"""

from __future__ import annotations

import contextlib
import fcntl
import pathlib
import typing as t

from .patching import replace

LOCK_NAME = ".opening-turn"  # the store's own: not a lock a caller takes around its writes


def install() -> None:
    from litemongo import sqlite_store

    replace(sqlite_store.DatabaseStore, "__init__", _folder_first)
    replace(sqlite_store.CollectionStore, "open", _one_opener_at_a_time)


@contextlib.contextmanager
def _turn(store_folder: pathlib.Path) -> t.Iterator[None]:
    """This process's turn to open a collection of the store in `store_folder`."""
    with (store_folder / LOCK_NAME).open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _folder_first(upstream: t.Callable[..., None]) -> t.Callable[..., None]:
    def init(self: t.Any, path: pathlib.Path, *args: t.Any, **kwargs: t.Any) -> None:
        pathlib.Path(path).mkdir(parents=True, exist_ok=True)  # upstream: only if missing
        upstream(self, path, *args, **kwargs)

    return init


def _one_opener_at_a_time(upstream: t.Callable[[t.Any], None]) -> t.Callable[[t.Any], None]:
    def open_file(self: t.Any) -> None:
        with _turn(pathlib.Path(self._path).parent.parent):
            upstream(self)

    return open_file
