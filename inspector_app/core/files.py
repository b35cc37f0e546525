"""Durable file writes: temporary name, fsync, rename, fsync of the directory.

A file written here either exists complete under its final name or not at all; a crash
leaves at most a temporary file (``is_temp_name``), which start-up recovery deletes.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

TEMP_MARKER = ".tmp-"
_CHUNK = 1024 * 1024
_NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})


class StorageFullError(OSError):
    """The tablet's storage is full: the save did not happen (nothing half-written)."""

    def __init__(self, what: str) -> None:
        super().__init__(
            errno.ENOSPC,
            f"Not enough free storage on the tablet to save {what}. "
            "Free some space (delete old photos or apps) and try again; nothing was saved.",
        )
        self.what = what


def is_no_space(exc: BaseException) -> bool:
    """True for an OS error that means the disk or the quota is full."""
    return isinstance(exc, OSError) and exc.errno in _NO_SPACE


def is_temp_name(name: str) -> bool:
    return name.startswith(".") and TEMP_MARKER in name


def temp_path_for(dest: Path) -> Path:
    return dest.with_name(f".{dest.name}{TEMP_MARKER}{secrets.token_hex(6)}")


def fsync_dir(directory: Path) -> None:
    """Make a rename or unlink in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _open_temp(dest: Path, what: str) -> Iterator[tuple[BinaryIO, Path]]:
    """A temporary file next to ``dest``; removed again unless the caller renamed it."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path_for(dest)
    try:
        with open(tmp, "xb") as handle:
            yield handle, tmp
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if is_no_space(exc):
            raise StorageFullError(what) from exc
        raise
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _commit_temp(handle: BinaryIO, tmp: Path, dest: Path) -> None:
    handle.flush()
    os.fsync(handle.fileno())
    os.replace(tmp, dest)


def atomic_write_bytes(dest: Path, data: bytes, *, what: str = "the file") -> str:
    """Write ``data`` durably to ``dest``; returns its sha256 (hex)."""
    try:
        with _open_temp(dest, what) as (handle, tmp):
            handle.write(data)
            _commit_temp(handle, tmp, dest)
        fsync_dir(dest.parent)
    except OSError as exc:
        if is_no_space(exc) and not isinstance(exc, StorageFullError):
            raise StorageFullError(what) from exc
        raise
    return hashlib.sha256(data).hexdigest()


def atomic_copy(src: Path, dest: Path, *, what: str = "the file") -> tuple[str, int]:
    """Copy ``src`` durably to ``dest``; returns (sha256 hex, size in bytes)."""
    digest = hashlib.sha256()
    size = 0
    try:
        with open(src, "rb") as source, _open_temp(dest, what) as (handle, tmp):
            while chunk := source.read(_CHUNK):
                digest.update(chunk)
                size += len(chunk)
                handle.write(chunk)
            _commit_temp(handle, tmp, dest)
        fsync_dir(dest.parent)
    except OSError as exc:
        if is_no_space(exc) and not isinstance(exc, StorageFullError):
            raise StorageFullError(what) from exc
        raise
    return digest.hexdigest(), size


def remove_quietly(*paths: Path) -> None:
    """Unlink files that may or may not exist (missing is fine)."""
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
