"""The photo storage interface: content-addressed objects behind one small protocol.

A key is a relative, slash-separated name. Photos live under their content address
(`key_for(sha256)` -> `ab/abcdef...`); derived objects (thumbnails) under names of their
own (`thumbs/320/<sha256>.jpg`). Every put is atomic: a reader sees the whole object or
nothing, and putting the same key twice is harmless.
"""

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

CHUNK = 1024 * 1024


def content_key(sha256_hex: str) -> str:
    """The content address of a photo: `ab/abcdef...` (256 directories of fan-out)."""
    digest = sha256_hex.lower()
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise ValueError(f"not a sha256 hex digest: {sha256_hex!r}")
    return f"{digest[:2]}/{digest}"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


class ReadableObject(Protocol):
    """What `open` returns: read it (in pieces), then close it."""

    def read(self, size: int = -1, /) -> bytes: ...

    def close(self) -> None: ...


class PhotoStorage(Protocol):
    def key_for(self, sha256_hex: str) -> str:
        """The content address of bytes with this sha256."""
        ...

    def put_bytes(self, data: bytes, *, key: str | None = None) -> str:
        """Store data under `key` (default: its content address); return the key."""
        ...

    def put_many(self, items: Sequence[tuple[bytes, str]]) -> list[str]:
        """Store several photos, each `(data, verified sha256 hex)`, under their content
        addresses; return the keys in order. All are durable when it returns (a backend
        may share the cost of that between them: one pass of fsyncs)."""
        ...

    def put_file(self, path: Path, *, sha256_hex: str | None = None, move: bool = False) -> str:
        """Store a finished local file under its content address; return the key.
        `sha256_hex`, when given, is the caller's verified digest of the file. With
        `move`, the caller gives the file up and has already fsynced its data: a backend
        on the same filesystem may take it by rename (the file is then gone); others copy
        it and leave it where it was (the caller removes it with `missing_ok`)."""
        ...

    def open(self, key: str) -> ReadableObject:
        """The object's bytes as a stream; FileNotFoundError if there is none."""
        ...

    def read_bytes(self, key: str) -> bytes: ...

    def exists(self, key: str) -> bool: ...

    def size(self, key: str) -> int:
        """The object's size in bytes; FileNotFoundError if there is none."""
        ...

    def delete(self, key: str) -> None:
        """Remove the object; no error when it does not exist."""
        ...
