"""put_file(move=True): the local backend takes a finished upload by rename (same
filesystem), falls back to a copy across filesystems, and S3 uploads and leaves the file
to the caller."""

import errno
import hashlib
import os
import tempfile
from pathlib import Path

import pytest
from pydantic import SecretStr

from server.core.config import Settings
from server.storage.factory import make_storage
from server.storage.local import LocalPhotoStorage
from server.storage.s3 import S3PhotoStorage
from tests.moto_s3 import BUCKET

DATA = bytes(range(256)) * 1200


def _finished(directory: Path, data: bytes = DATA) -> tuple[Path, str]:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "upload-id"
    path.write_bytes(data)
    return path, hashlib.sha256(data).hexdigest()


def test_move_renames_the_file_into_place(tmp_path: Path) -> None:
    storage = LocalPhotoStorage(tmp_path / "photos")
    source, digest = _finished(tmp_path / "photos" / "partial")
    inode = source.stat().st_ino
    key = storage.put_file(source, sha256_hex=digest, move=True)
    stored = storage.path_for(key)
    assert not source.exists()
    assert stored.stat().st_ino == inode  # the same file: no copy
    assert storage.read_bytes(key) == DATA
    # The same content again (another photo with these bytes): kept, nothing replaced.
    again, _ = _finished(tmp_path / "photos" / "partial")
    assert storage.put_file(again, sha256_hex=digest, move=True) == key
    assert stored.stat().st_ino == inode
    assert again.exists()  # the caller removes its own file


def test_without_move_put_file_still_copies(tmp_path: Path) -> None:
    storage = LocalPhotoStorage(tmp_path / "photos")
    source, digest = _finished(tmp_path / "incoming")
    key = storage.put_file(source, sha256_hex=digest)
    assert source.exists() and storage.path_for(key).stat().st_ino != source.stat().st_ino


def test_across_filesystems_move_falls_back_to_a_copy(tmp_path: Path) -> None:
    shm = Path("/dev/shm")
    if not os.access(shm, os.W_OK) or shm.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("needs /dev/shm on another filesystem than the temporary directory")
    storage = LocalPhotoStorage(tmp_path / "photos")
    with tempfile.TemporaryDirectory(dir=shm) as other:
        source, digest = _finished(Path(other))
        key = storage.put_file(source, sha256_hex=digest, move=True)
        assert source.exists()  # copied, not moved: the caller removes it
    assert storage.read_bytes(key) == DATA
    leftovers = [p.name for p in storage.path_for(key).parent.iterdir()]
    assert leftovers == [key.split("/")[1]]  # no temporary file


def test_a_cross_device_rename_error_falls_back_to_a_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same fallback where no second filesystem is at hand: rename says EXDEV."""
    storage = LocalPhotoStorage(tmp_path / "photos")
    source, digest = _finished(tmp_path / "partial")
    real_replace = os.replace

    def replace(src: str | Path, dst: str | Path) -> None:
        if Path(src) == source:
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    key = storage.put_file(source, sha256_hex=digest, move=True)
    assert source.exists() and storage.read_bytes(key) == DATA


def test_other_rename_errors_are_raised(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    storage = LocalPhotoStorage(tmp_path / "photos")
    source, digest = _finished(tmp_path / "partial")

    def replace(src: str | Path, dst: str | Path) -> None:
        raise OSError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(PermissionError):
        storage.put_file(source, sha256_hex=digest, move=True)
    assert source.exists()


def test_s3_uploads_and_leaves_the_file(s3_endpoint: str, tmp_path: Path) -> None:
    settings = Settings(
        env="test",
        storage_dir=tmp_path,
        storage_backend="s3",
        s3_bucket=BUCKET,
        s3_prefix=f"move/{tmp_path.name}",
        s3_endpoint_url=s3_endpoint,
        s3_region="us-east-1",
        s3_access_key_id="test",
        s3_secret_access_key=SecretStr("test"),
    )
    storage = make_storage(settings)
    assert isinstance(storage, S3PhotoStorage)
    source, digest = _finished(tmp_path / "partial")
    key = storage.put_file(source, sha256_hex=digest, move=True)
    assert storage.read_bytes(key) == DATA
    assert source.exists()
