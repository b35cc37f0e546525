"""One set of interface tests for every PhotoStorage: the local filesystem, and S3
through moto's server (an S3 *emulator* on loopback, spoken to over real HTTP by boto3;
MinIO itself cannot be installed from the package registries this project uses)."""

import hashlib
from pathlib import Path

import pytest
from pydantic import SecretStr

from server.core.config import Settings
from server.storage.base import PhotoStorage, content_key
from server.storage.factory import make_storage
from server.storage.local import LocalPhotoStorage
from server.storage.s3 import S3PhotoStorage
from tests.moto_s3 import BUCKET


def _s3_settings(endpoint: str, tmp_path: Path, prefix: str) -> Settings:
    return Settings(
        env="test",
        storage_dir=tmp_path,
        storage_backend="s3",
        s3_bucket=BUCKET,
        s3_prefix=prefix,
        s3_endpoint_url=endpoint,
        s3_region="us-east-1",
        s3_access_key_id="test",
        s3_secret_access_key=SecretStr("test"),
    )


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> PhotoStorage:
    if request.param == "local":
        result = make_storage(Settings(env="test", storage_dir=tmp_path / "photos"))
        assert isinstance(result, LocalPhotoStorage)
        return result
    endpoint = request.getfixturevalue("s3_endpoint")
    # A prefix per test keeps tests apart in the one bucket.
    result = make_storage(_s3_settings(endpoint, tmp_path, f"t/{tmp_path.name}"))
    assert isinstance(result, S3PhotoStorage)
    return result


def test_put_bytes_is_content_addressed(storage: PhotoStorage) -> None:
    data = b"\xff\xd8\xff a photo"
    digest = hashlib.sha256(data).hexdigest()
    key = storage.put_bytes(data)
    assert key == storage.key_for(digest) == f"{digest[:2]}/{digest}"
    assert storage.exists(key)
    assert storage.size(key) == len(data)
    assert storage.read_bytes(key) == data
    assert storage.put_bytes(data) == key  # twice is harmless


def test_put_file_and_stream_it_back(storage: PhotoStorage, tmp_path: Path) -> None:
    data = bytes(range(256)) * 5000  # bigger than one read
    source = tmp_path / "finished-upload"
    source.write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    key = storage.put_file(source)
    assert key == content_key(digest)
    assert storage.put_file(source, sha256_hex=digest) == key
    stream = storage.open(key)
    try:
        pieces = []
        while piece := stream.read(65536):
            pieces.append(piece)
    finally:
        stream.close()
    assert b"".join(pieces) == data
    assert source.exists()  # put_file copies; the caller removes its own file


def test_named_keys_missing_keys_and_delete(storage: PhotoStorage) -> None:
    key = "thumbs/320/" + "ab" * 32 + ".jpg"
    assert not storage.exists(key)
    with pytest.raises(FileNotFoundError):
        storage.size(key)
    with pytest.raises(FileNotFoundError):
        storage.open(key)
    assert storage.put_bytes(b"thumb", key=key) == key
    assert storage.read_bytes(key) == b"thumb"
    storage.delete(key)
    assert not storage.exists(key)
    storage.delete(key)  # deleting what is gone is no error


def test_keys_cannot_escape(storage: PhotoStorage) -> None:
    for bad in ("../etc/passwd", "/abs", "a/../../b"):
        with pytest.raises(ValueError, match="storage key"):
            storage.put_bytes(b"x", key=bad)
    with pytest.raises(ValueError, match="sha256"):
        storage.key_for("not-a-digest")


def test_put_many_stores_each_under_its_content_address(storage: PhotoStorage) -> None:
    blobs = [b"\xff\xd8\xff first", b"\xff\xd8\xff second", b"\xff\xd8\xff first"]
    keys = storage.put_many([(b, hashlib.sha256(b).hexdigest()) for b in blobs])
    assert keys == [storage.key_for(hashlib.sha256(b).hexdigest()) for b in blobs]
    assert [storage.read_bytes(k) for k in keys] == blobs
    assert storage.put_many([(blobs[1], hashlib.sha256(blobs[1]).hexdigest())]) == [keys[1]]


def test_local_put_many_leaves_no_temporary_files_even_when_it_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = LocalPhotoStorage(tmp_path)
    storage.put_many([(b"a", hashlib.sha256(b"a").hexdigest())])

    def no_space(_fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("server.storage.local.os.fsync", no_space)
    with pytest.raises(OSError, match="No space"):
        storage.put_many([(b"b", hashlib.sha256(b"b").hexdigest())])
    names = sorted(p.name for p in tmp_path.rglob("*") if p.is_file())
    assert names == [hashlib.sha256(b"a").hexdigest()]  # no temporary file, no half photo


def test_local_writes_leave_no_temporary_files(tmp_path: Path) -> None:
    storage = LocalPhotoStorage(tmp_path)
    key = storage.put_bytes(b"data")
    assert [p.name for p in (tmp_path / key).parent.iterdir()] == [key.split("/")[1]]


def test_s3_requires_a_bucket() -> None:
    with pytest.raises(ValueError, match="WHISTLE_S3_BUCKET"):
        Settings(env="test", storage_backend="s3")
