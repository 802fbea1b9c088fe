"""`flask store copy --to TARGET`: every collection of this store into another store (a
MongoDB server, or an embedded store's folder), each verified, resumable.

The source is read at one moment (`snapshot.py`) while the app may go on serving. Each
collection is copied in batches, then read back from the target and compared with the
source by count and checksum (`digest.py`). What is finished is noted on the target in
`store_copy_progress` (collection name, count, checksum): a copy stopped half-way (killed,
a lost connection, a full disk) is run again with the same command, and it keeps each
finished collection whose source still has that count and checksum (and whose target
copy still matches), and copies the rest again from the start, a half-copied collection
included. The note is removed when every collection is copied.
"""

from __future__ import annotations

import os
import pathlib
import typing as t
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlparse

import bson

from . import snapshot as snapshots
from .backup import contents
from .digest import Digest, counted, of_collection

STATE = snapshots.COPY_STATE
_RUN = "#copy"  # the state document naming the source the copy is from
BATCH = 1000
PROGRESS_EVERY = 10_000  # documents between progress lines of a long collection


class CopyError(RuntimeError):
    """The copy cannot go on; the message says why in a sentence."""


@dataclass
class Target:
    """The store copied into: its database handle and how to name it to a person."""

    database: t.Any
    shown: str
    folder: pathlib.Path | None = None

    def close(self) -> None:
        self.database.client.close()


@dataclass
class Copied:
    """What a copy did, per collection: (name, documents, how: copied / kept)."""

    collections: list[tuple[str, int, str]] = field(default_factory=list)
    resumed: bool = False
    held_ms: float | None = None
    moment: str = ""


def open_target(target: str, default_db: str, timeout_ms: int = 3000) -> Target:
    """The store TARGET names: `mongodb://…` / `mongodb+srv://…`, `mongomock://HOST/NAME`
    (in this process only: tests), or an embedded store's folder (its database in
    `<folder>/<default_db>`, as `STORE_PATH` lays it out)."""
    scheme = urlparse(target).scheme
    if scheme in ("mongodb", "mongodb+srv"):
        return _server(target, default_db, timeout_ms)
    if scheme == "mongomock":
        import mongomock

        name = urlparse(target).path.strip("/") or default_db
        return Target(mongomock.MongoClient()[name], f"mongomock://{name} (in this process)")
    if "://" in target:
        raise CopyError(f"{target.split('://')[0]}:// is not a store: give a mongodb:// "
                        f"address or an embedded store's folder.")
    return _folder(pathlib.Path(target), default_db)


def _server(uri: str, default_db: str, timeout_ms: int) -> Target:
    import pymongo
    from pymongo.errors import ConfigurationError, InvalidURI, PyMongoError

    parsed = urlparse(uri)
    try:
        client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=timeout_ms,
                                     uuidRepresentation="standard")
        database = client.get_default_database(default_db)
        client.admin.command("ping")
    except (InvalidURI, ConfigurationError, ValueError) as exc:
        raise CopyError(f"{parsed.scheme}://{parsed.hostname or ''} is not a valid MongoDB "
                        f"address ({exc}).") from exc
    except PyMongoError as exc:
        raise CopyError(f"Cannot reach MongoDB at {parsed.hostname or uri} within "
                        f"{timeout_ms} ms; check that it runs and the address is right.") \
            from exc
    return Target(database, f"{parsed.scheme}://{parsed.hostname or ''}/{database.name}")


def _folder(folder: pathlib.Path, database: str) -> Target:
    import litemongo

    from . import litemongo_changes

    litemongo_changes.apply()
    folder = folder.absolute()
    if folder.exists() and not folder.is_dir():
        raise CopyError(f"{folder} is a file, not a folder for an embedded store.")
    try:
        (folder / database).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CopyError(f"Cannot create the folder {folder / database}: "
                        f"{exc.strerror or exc}.") from exc
    client = litemongo.MongoClient(str(folder), database=database)
    return Target(client[database], f"embedded store in {folder}", folder / database)


def same_store(source: t.Any, target: Target) -> bool:
    """True when the target is the source itself (a copy onto itself would empty it)."""
    if target.database.client is source.client:
        return True
    here = snapshots.embedded_folder(source)
    return (here is not None and target.folder is not None
            and os.path.realpath(here) == os.path.realpath(target.folder))


def copy(source: t.Any, target: Target, *, source_shown: str, replace: bool = False,
         progress: t.Callable[[str], None] = lambda _line: None) -> Copied:
    """Copy every collection of `source` into `target`, verifying each (see above)."""
    database = target.database
    state = database[STATE]
    if replace:
        for name in database.list_collection_names():
            if not name.startswith("system."):
                database.drop_collection(name)
    run = state.find_one({"_id": _RUN})
    held = {name: n for name, n in contents(database).items() if name != STATE}
    if run is None and held:
        raise CopyError(
            f"The target already holds data ({sum(held.values()):,} documents in "
            f"{len(held)} collections, e.g. {sorted(held)[0]}); copy into an empty store, "
            f"or add --replace to empty it first.")
    if run is not None and run.get("source") != source_shown:
        raise CopyError(f"The target holds an unfinished copy of another store "
                        f"({run.get('source')}); add --replace to empty it first.")
    result = Copied(resumed=run is not None)
    if run is None:
        state.insert_one({"_id": _RUN, "source": source_shown,
                          "started": datetime.now(UTC)})
    finished = {d["_id"]: d for d in state.find({"_id": {"$ne": _RUN}})}
    with snapshots.taken(source) as snapshot:
        result.held_ms, result.moment = snapshot.held_ms, snapshot.moment
        for name in snapshot.collections:
            note = finished.get(name)
            if note is not None and _still_same(snapshot, name, note, database[name]):
                result.collections.append((name, note["documents"], "kept"))
                progress(f"{name}: {counted(note['documents'])}, copied before, verified")
                continue
            count = _copy_one(snapshot, name, database, state, progress)
            result.collections.append((name, count, "copied"))
            progress(f"{name}: {counted(count)}, verified")
        for name in set(finished) - set(snapshot.collections):
            database.drop_collection(name)  # copied before, since gone from the source
    database.drop_collection(STATE)
    return result


def _still_same(snapshot: t.Any, name: str, note: t.Mapping[str, t.Any], copied: t.Any) -> bool:
    source = Digest()
    for raw in snapshot.documents(name):
        source.add(raw)
    if (source.count, source.checksum) != (note.get("documents"), note.get("checksum")):
        return False
    there = of_collection(copied)
    return (there.count, there.checksum) == (source.count, source.checksum)


def _copy_one(snapshot: t.Any, name: str, database: t.Any, state: t.Any,
              progress: t.Callable[[str], None]) -> int:
    state.delete_one({"_id": name})
    target = database[name]
    target.delete_many({})  # what an interrupted run left of it
    if name not in database.list_collection_names():
        database.create_collection(name)
    source = Digest()
    batch: list[dict[str, t.Any]] = []
    for raw in snapshot.documents(name):
        source.add(raw)
        batch.append(bson.decode(raw))
        if len(batch) >= BATCH:
            target.insert_many(batch, ordered=True)
            batch = []
            if source.count % PROGRESS_EVERY == 0:
                progress(f"{name}: {counted(source.count)} copied…")
    if batch:
        target.insert_many(batch, ordered=True)
    there = of_collection(target)
    if (there.count, there.checksum) != (source.count, source.checksum):
        raise CopyError(f"{name} did not arrive whole: the target holds {there.count:,} "
                        f"documents where the source has {source.count:,}, or they differ; "
                        f"run the copy again.")
    state.replace_one({"_id": name}, {"_id": name, "documents": source.count,
                                      "checksum": source.checksum}, upsert=True)
    return source.count
