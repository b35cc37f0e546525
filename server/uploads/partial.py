"""The bytes of an unfinished upload: `<storage_dir>/partial/<upload id>`.

One PATCH at a time per upload: the file is locked with flock (non-blocking) for the
whole request, across processes on one host and, on a shared filesystem that supports
it (NFS v4), across hosts.
"""

import fcntl
import os
from pathlib import Path
from uuid import UUID


class PartialBusy(Exception):
    """Another request holds this upload's lock."""


def partial_dir(storage_dir: Path) -> Path:
    return storage_dir / "partial"


def partial_path(storage_dir: Path, upload_id: UUID) -> Path:
    return partial_dir(storage_dir) / str(upload_id)


def create_partial(path: Path) -> None:
    """An empty partial file. Not fsynced: if a crash loses it, the next PATCH answers 410
    upload_lost and the client starts a new upload (no byte was acknowledged yet)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))


class PartialFile:
    """An open, locked partial file. Use as a context manager."""

    def __init__(self, path: Path, *, create: bool = False) -> None:
        self.path = path
        # Without `create` there is no O_CREAT: a missing file means the data is gone.
        # With it the file must be new (a creation-with-upload POST names a fresh id).
        flags = os.O_RDWR | (os.O_CREAT | os.O_EXCL if create else 0)
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, flags, 0o600)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            os.close(self._fd)
            raise PartialBusy(str(path)) from exc

    def __enter__(self) -> "PartialFile":
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def size(self) -> int:
        return os.fstat(self._fd).st_size

    def truncate(self, size: int) -> None:
        """Cut the file to `size` (drops bytes beyond the committed offset) and sync the
        cut; a file already that long is only positioned (no fsync for nothing)."""
        if os.fstat(self._fd).st_size != size:
            os.ftruncate(self._fd, size)
            os.fsync(self._fd)
        os.lseek(self._fd, size, os.SEEK_SET)

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]

    def sync(self) -> None:
        os.fsync(self._fd)

    def close(self) -> None:
        if self._fd >= 0:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = -1
