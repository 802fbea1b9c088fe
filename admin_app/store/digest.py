"""A collection's count and checksum, the same on every store, so that a backup, a
restore and a copy can each prove that a collection arrived whole.

Each document counts as its canonical BSON: the document as stored with `_id` moved
first (where MongoDB and the embedded store put it, and mongomock does not), encoded by
`bson`. The checksum is the SHA-256 of the sorted per-document SHA-256s, so it does not
depend on the order a store returns documents in, yet a changed, lost or extra document
changes it.
"""

from __future__ import annotations

import hashlib
import typing as t

import bson


def counted(documents: int) -> str:
    """"1 document", "2,000 documents"."""
    return f"{documents:,} document{'' if documents == 1 else 's'}"


def canonical(document: t.Mapping[str, t.Any] | bytes) -> bytes:
    """The document's canonical BSON (a raw BSON document is decoded first)."""
    if isinstance(document, (bytes, bytearray, memoryview)):
        document = bson.decode(bytes(document))
    if "_id" in document:
        document = {"_id": document["_id"], **{k: v for k, v in document.items() if k != "_id"}}
    return bson.encode(document)


class Digest:
    """Counts documents and builds the order-independent checksum of a collection."""

    def __init__(self) -> None:
        self._digests: list[bytes] = []

    def add(self, document: t.Mapping[str, t.Any] | bytes) -> None:
        self._digests.append(hashlib.sha256(canonical(document)).digest())

    @property
    def count(self) -> int:
        return len(self._digests)

    @property
    def checksum(self) -> str:
        whole = hashlib.sha256()
        for digest in sorted(self._digests):
            whole.update(digest)
        return "sha256:" + whole.hexdigest()


def of_collection(collection: t.Any) -> Digest:
    """Count and checksum of a collection as a store returns it now."""
    digest = Digest()
    for document in collection.find({}):
        digest.add(document)
    return digest
