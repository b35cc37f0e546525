"""Photos in S3-compatible object storage (AWS S3, MinIO, Ceph, ...) through boto3.

Keys are the same content addresses as on the local filesystem, under an optional
prefix. A PUT is atomic in S3 (an object appears whole or not at all), and a content
address is never overwritten with different bytes, so no temporary names are needed.
"""

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from server.core.config import Settings
from server.storage.base import ReadableObject, content_key, file_sha256

_MISSING = {"404", "NoSuchKey", "NotFound"}


def _missing(exc: ClientError) -> bool:
    return str(exc.response.get("Error", {}).get("Code")) in _MISSING


class S3PhotoStorage:
    def __init__(self, *, bucket: str, prefix: str = "", client: Any) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.client = client

    @classmethod
    def from_settings(cls, settings: Settings) -> "S3PhotoStorage":
        if not settings.s3_bucket:
            raise ValueError("WHISTLE_S3_BUCKET is not set")
        secret = settings.s3_secret_access_key
        client = boto3.client(
            "s3",
            endpoint_url=settings.s3_endpoint_url,
            region_name=settings.s3_region,
            aws_access_key_id=settings.s3_access_key_id,
            aws_secret_access_key=secret.get_secret_value() if secret else None,
            config=Config(retries={"max_attempts": 5, "mode": "standard"}),
        )
        return cls(bucket=settings.s3_bucket, prefix=settings.s3_prefix, client=client)

    def key_for(self, sha256_hex: str) -> str:
        return content_key(sha256_hex)

    def _object(self, key: str) -> str:
        if not key or key.startswith("/") or ".." in key.split("/"):
            raise ValueError(f"not a storage key: {key!r}")
        return self.prefix + key

    def _head(self, key: str) -> dict[str, Any] | None:
        try:
            head: dict[str, Any] = self.client.head_object(
                Bucket=self.bucket, Key=self._object(key)
            )
        except ClientError as exc:
            if _missing(exc):
                return None
            raise
        return head

    def exists(self, key: str) -> bool:
        return self._head(key) is not None

    def size(self, key: str) -> int:
        head = self._head(key)
        if head is None:
            raise FileNotFoundError(key)
        return int(head["ContentLength"])

    def put_bytes(self, data: bytes, *, key: str | None = None) -> str:
        key = key or self.key_for(hashlib.sha256(data).hexdigest())
        self.client.put_object(Bucket=self.bucket, Key=self._object(key), Body=data)
        return key

    def put_many(self, items: Sequence[tuple[bytes, str]]) -> list[str]:
        # One PUT each: an object is durable when S3 answers it.
        return [self.put_bytes(data, key=self.key_for(sha)) for data, sha in items]

    def put_file(self, path: Path, *, sha256_hex: str | None = None, move: bool = False) -> str:
        # `move` changes nothing here: the object is uploaded, the caller removes the file.
        key = self.key_for(sha256_hex or file_sha256(path))
        head = self._head(key)
        if head is not None and int(head["ContentLength"]) == path.stat().st_size:
            return key
        with path.open("rb") as fh:
            self.client.put_object(
                Bucket=self.bucket,
                Key=self._object(key),
                Body=fh,
                ContentLength=path.stat().st_size,
            )
        return key

    def open(self, key: str) -> ReadableObject:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._object(key))
        except ClientError as exc:
            if _missing(exc):
                raise FileNotFoundError(key) from exc
            raise
        body: ReadableObject = response["Body"]
        return body

    def read_bytes(self, key: str) -> bytes:
        body = self.open(key)
        try:
            return body.read()
        finally:
            body.close()

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._object(key))
