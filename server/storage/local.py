"""Photos on the local filesystem, content-addressed: <root>/ab/abcdef....

Written to a temporary name, fsynced, then renamed (and the directory fsynced): a crash
never leaves a partial file under a final name, and writing the same content twice is a
no-op. A finished upload whose data the caller already fsynced is *moved* in
(`put_file(..., move=True)`): one rename and the directory's fsync instead of a copy and a
second fsync of the data; across filesystems it falls back to the copy.
"""

import errno
import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from server.storage.base import content_key, file_sha256


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalPhotoStorage:
    def __init__(self, root: Path) -> None:
        self.root = root

    def key_for(self, sha256_hex: str) -> str:
        return content_key(sha256_hex)

    def path_for(self, key: str) -> Path:
        parts = PurePosixPath(key).parts
        if not parts or key.startswith("/") or any(p in ("..", ".") for p in parts):
            raise ValueError(f"not a storage key: {key!r}")
        return self.root.joinpath(*parts)

    def exists(self, key: str) -> bool:
        return self.path_for(key).is_file()

    def size(self, key: str) -> int:
        return self.path_for(key).stat().st_size

    def _make_parent(self, final: Path) -> None:
        """The fan-out directory, its own entry made durable when it is new."""
        if not final.parent.is_dir():
            final.parent.mkdir(parents=True, exist_ok=True)
            _fsync_dir(final.parent.parent)

    def _write_atomically(self, final: Path, write: Callable[[BinaryIO], object]) -> None:
        self._make_parent(final)
        fd, tmp = tempfile.mkstemp(dir=final.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as fh:
                write(fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, final)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _fsync_dir(final.parent)

    def put_bytes(self, data: bytes, *, key: str | None = None) -> str:
        """Store data; return its key (derived from the content unless given)."""
        key = key or self.key_for(hashlib.sha256(data).hexdigest())
        final = self.path_for(key)
        if final.is_file() and final.stat().st_size == len(data):
            return key
        self._write_atomically(final, lambda fh: fh.write(data))
        return key

    def put_many(self, items: Sequence[tuple[bytes, str]]) -> list[str]:
        """All written first, then all fsynced, renamed, and each directory fsynced once:
        the file system commits its journal once for the lot instead of once per photo
        (a photo batch: ~16 photos of ~300 KB)."""
        keys = [self.key_for(sha256_hex) for _data, sha256_hex in items]
        pending: list[tuple[int, str, Path]] = []  # (fd, temporary name, final path)
        try:
            for (data, _sha), key in zip(items, keys, strict=True):
                final = self.path_for(key)
                if final.is_file() and final.stat().st_size == len(data):
                    continue  # the same content is there already
                self._make_parent(final)
                fd, tmp = tempfile.mkstemp(dir=final.parent, prefix=".incoming-")
                pending.append((fd, tmp, final))
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
            for fd, _tmp, _final in pending:
                os.fsync(fd)
            for _fd, tmp, final in pending:
                os.replace(tmp, final)
        except BaseException:
            for _fd, tmp, _final in pending:
                Path(tmp).unlink(missing_ok=True)
            raise
        finally:
            for fd, _tmp, _final in pending:
                os.close(fd)
        for directory in {final.parent for _fd, _tmp, final in pending}:
            _fsync_dir(directory)
        return keys

    def put_file(self, path: Path, *, sha256_hex: str | None = None, move: bool = False) -> str:
        key = self.key_for(sha256_hex or file_sha256(path))
        final = self.path_for(key)
        if final.is_file() and final.stat().st_size == path.stat().st_size:
            return key
        if move and self._move_in(path, final):
            return key

        def copy(fh: BinaryIO) -> None:
            with path.open("rb") as src:
                shutil.copyfileobj(src, fh)

        self._write_atomically(final, copy)
        return key

    def _move_in(self, path: Path, final: Path) -> bool:
        """Rename a finished file whose data is already fsynced into place and make the
        rename durable (the directory's fsync). False when `path` is on another
        filesystem (then the caller copies)."""
        self._make_parent(final)
        try:
            os.replace(path, final)
        except OSError as exc:
            if exc.errno == errno.EXDEV:
                return False
            raise
        _fsync_dir(final.parent)
        return True

    def open(self, key: str) -> BinaryIO:
        return self.path_for(key).open("rb")

    def read_bytes(self, key: str) -> bytes:
        return self.path_for(key).read_bytes()

    def delete(self, key: str) -> None:
        self.path_for(key).unlink(missing_ok=True)
