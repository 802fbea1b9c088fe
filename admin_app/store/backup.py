"""A whole store in one file, and back: `flask store backup FILE` / `flask store restore FILE`.

The file is a zip archive a person can open with any unzip tool:

- `<database>/<collection>.bson`: the collection's documents as stored (BSON, one after
  another: the layout `mongodump` writes, so `bsondump` prints a file and `mongorestore`
  reads the folder), every type kept (ObjectIds, dates);
- `manifest.json`, written last: what the file is, when and from which store it was
  taken, and per collection its count and checksum (`digest.py`).

A restore reads the whole file and checks every count and checksum before it writes
anything, so a file that is not a backup, is cut short or damaged changes nothing.
Indexes are not in the file: the app's models declare them and create them on a store
when the app starts on it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import typing as t
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime

import bson
from bson.errors import BSONError

from . import snapshot as snapshots
from .digest import Digest, counted

FORMAT = "dictadmin store backup"
VERSION = 1
MANIFEST = "manifest.json"
# A manifest is small (one line per collection); a larger one is not ours.
_MANIFEST_LIMIT = 1 << 20
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,119}$")
BATCH = 1000


class BackupError(ValueError):
    """The file cannot be used as a backup; the message says why in one sentence."""


@dataclass(frozen=True)
class Collection:
    name: str
    member: str
    documents: int
    checksum: str


@dataclass(frozen=True)
class Manifest:
    taken_at: str
    store: str
    database: str
    moment: str
    collections: tuple[Collection, ...]

    @property
    def documents(self) -> int:
        return sum(c.documents for c in self.collections)


# -- taking a backup ----------------------------------------------------------------------

def take(database: t.Any, path: str, *, store: str,
         progress: t.Callable[[str], None] = lambda _line: None) -> tuple[Manifest, float | None]:
    """Write every collection of `database`, read at one moment (`snapshot.py`), to
    `path`; the manifest and how long writers waited (ms; None on MongoDB). The file
    appears under its name only once complete (written beside it, then renamed)."""
    partial = f"{path}.partial"
    try:
        with snapshots.taken(database) as snapshot, \
                zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED,
                                compresslevel=6, allowZip64=True) as archive:
            collections = []
            for name in snapshot.collections:
                member = f"{database.name}/{name}.bson"
                digest = Digest()
                with archive.open(member, "w", force_zip64=True) as out:
                    for raw in snapshot.documents(name):
                        out.write(raw)
                        digest.add(raw)
                collections.append(Collection(name, member, digest.count, digest.checksum))
                progress(f"{name}: {counted(digest.count)}")
            manifest = Manifest(datetime.now(UTC).isoformat(timespec="seconds"),
                                store, database.name, snapshot.moment, tuple(collections))
            archive.writestr(MANIFEST, json.dumps(_manifest_json(manifest), indent=1))
            held = snapshot.held_ms
        with open(partial, "rb") as written:
            os.fsync(written.fileno())
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(partial)
        raise
    return manifest, held


def _manifest_json(manifest: Manifest) -> dict[str, t.Any]:
    return {"format": FORMAT, "version": VERSION, "taken_at": manifest.taken_at,
            "store": manifest.store, "database": manifest.database, "moment": manifest.moment,
            "collections": [{"name": c.name, "file": c.member, "documents": c.documents,
                             "checksum": c.checksum} for c in manifest.collections]}


# -- reading one ----------------------------------------------------------------------------

class Backup:
    """An opened backup file: its manifest, and each collection's documents."""

    def __init__(self, path: str) -> None:
        self.path = path
        shown = os.path.basename(path)
        try:
            self._archive = zipfile.ZipFile(path)
        except FileNotFoundError as exc:
            raise BackupError(f"There is no file {shown}.") from exc
        except IsADirectoryError as exc:
            raise BackupError(f"{shown} is a folder, not a backup file.") from exc
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
            raise BackupError(f"{shown} is not a Dictadmin backup, or it was cut short "
                              f"(it cannot be read as a zip archive).") from exc
        try:
            self.manifest = self._read_manifest(shown)
        except BaseException:
            self._archive.close()
            raise

    def __enter__(self) -> Backup:
        return self

    def __exit__(self, *_exc: t.Any) -> None:
        self._archive.close()

    def _read_manifest(self, shown: str) -> Manifest:
        not_ours = f"{shown} is not a Dictadmin backup (it has no readable manifest)."
        try:
            info = self._archive.getinfo(MANIFEST)
            if info.file_size > _MANIFEST_LIMIT:
                raise BackupError(not_ours)
            data = json.loads(self._archive.read(info).decode("utf-8"))
        except RecursionError as exc:
            raise BackupError(f"{shown} is not a Dictadmin backup (its manifest is nested "
                              f"too deeply to read).") from exc
        except (KeyError, ValueError, zipfile.BadZipFile, OSError, EOFError) as exc:
            raise BackupError(not_ours) from exc
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise BackupError(not_ours)
        if data.get("version") != VERSION:
            raise BackupError(f"{shown} is a backup in format version {data.get('version')!r}, "
                              f"which this version of Dictadmin cannot read.")
        try:
            collections = tuple(self._collection(entry) for entry in data["collections"])
            return Manifest(str(data["taken_at"]), str(data["store"]), str(data["database"]),
                            str(data["moment"]), collections)
        except (KeyError, TypeError, ValueError) as exc:
            raise BackupError(f"{shown} is not a Dictadmin backup (its manifest is "
                              f"incomplete).") from exc

    def _collection(self, entry: t.Any) -> Collection:
        name, member = entry["name"], entry["file"]
        documents, checksum = entry["documents"], entry["checksum"]
        if not (isinstance(name, str) and _NAME.match(name) and isinstance(member, str)
                and isinstance(documents, int) and documents >= 0
                and isinstance(checksum, str)):
            raise ValueError(name)
        self._archive.getinfo(member)  # KeyError: listed but missing
        return Collection(name, member, documents, checksum)

    def documents(self, collection: Collection) -> t.Iterator[dict[str, t.Any]]:
        """The collection's documents, decoded (a damaged file raises BackupError)."""
        try:
            with self._archive.open(collection.member) as stream:
                yield from bson.decode_file_iter(stream)
        except (BSONError, zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            raise self._damaged(collection, exc) from exc
        except RecursionError as exc:
            raise self._damaged(collection, "nested too deeply to read") from exc

    def _damaged(self, collection: Collection, why: t.Any) -> BackupError:
        shown = os.path.basename(self.path)
        detail = str(why).rstrip(".") or type(why).__name__
        return BackupError(f"{shown} is damaged: {collection.name} cannot be read ({detail}).")

    def check(self, progress: t.Callable[[str], None] = lambda _line: None) -> None:
        """Read every collection whole and compare its count and checksum with the
        manifest's: BackupError when any differs."""
        for collection in self.manifest.collections:
            digest = Digest()
            for document in self.documents(collection):
                digest.add(document)
            shown = os.path.basename(self.path)
            if digest.count != collection.documents:
                raise BackupError(f"{shown} is damaged: {collection.name} holds "
                                  f"{counted(digest.count)} where the manifest says "
                                  f"{collection.documents:,}.")
            if digest.checksum != collection.checksum:
                raise BackupError(f"{shown} is damaged: the documents of {collection.name} "
                                  f"differ from those backed up (their checksum).")
            progress(f"{collection.name}: {counted(digest.count)}, checked")


# -- restoring ------------------------------------------------------------------------------

def contents(database: t.Any) -> dict[str, int]:
    """The collections of `database` that hold documents, with how many."""
    counts = {name: database[name].count_documents({})
              for name in database.list_collection_names() if not name.startswith("system.")}
    return {name: n for name, n in counts.items() if n}


def restore(backup: Backup, database: t.Any, *, replace: bool,
            progress: t.Callable[[str], None] = lambda _line: None) -> list[tuple[str, int]]:
    """Write the backup's collections into `database` (emptied first with `replace`),
    then count and checksum each as stored: (name, documents) per collection. The
    caller has checked the file (`Backup.check`) and the store."""
    if replace:
        for name in database.list_collection_names():
            if not name.startswith("system."):
                database[name].delete_many({})
    restored = []
    for collection in backup.manifest.collections:
        target = database[collection.name]
        if collection.name not in database.list_collection_names():
            database.create_collection(collection.name)
        batch: list[dict[str, t.Any]] = []
        for document in backup.documents(collection):
            batch.append(document)
            if len(batch) >= BATCH:
                target.insert_many(batch, ordered=True)
                batch = []
        if batch:
            target.insert_many(batch, ordered=True)
        digest = Digest()
        for document in target.find({}):
            digest.add(document)
        if (digest.count, digest.checksum) != (collection.documents, collection.checksum):
            raise BackupError(f"{collection.name} did not restore whole: the store holds "
                              f"{counted(digest.count)} where the backup has "
                              f"{collection.documents:,}, or they differ.")
        restored.append((collection.name, digest.count))
        progress(f"{collection.name}: {counted(digest.count)}, verified")
    return restored
