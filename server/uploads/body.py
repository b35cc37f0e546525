"""A tus request body (PATCH, or a creation-with-upload POST) appended to a partial file.

The event loop only gathers the body; writing and hashing happen in a thread, a buffer
(1 MiB) at a time. The last buffer is written by `settle`, which the route runs in the
same trip to a thread as the fsync and the finish: a photo of up to 1 MiB costs one trip.
"""

import contextlib
import hashlib

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request

from server.core.errors import ApiError
from server.uploads.partial import PartialFile
from server.uploads.tus import CHECKSUM_MISMATCH, Checksum, too_large

WRITE_BUFFER = 1024 * 1024  # bytes gathered before one write


class Body:
    """The body of one request, appended at the partial file's end. `whole_file`: the
    body starts at byte 0, so the file's sha256 is computed on the way and finishing need
    not read the file again (`sha256_hex`)."""

    def __init__(
        self,
        partial: PartialFile,
        *,
        remaining: int,
        checksum: Checksum | None,
        whole_file: bool,
    ) -> None:
        self.partial = partial
        self.remaining = remaining
        self.checksum = checksum
        self.start = partial.size()
        self.count = 0
        self._whole = hashlib.sha256() if whole_file else None
        self._chunk = checksum.hasher() if checksum is not None else None
        if checksum is not None and checksum.algorithm == "sha256" and self._whole is not None:
            self._chunk = self._whole  # the same digest: hash once
        self._hashers = [h for h in (self._chunk, self._whole) if h is not None]
        if self._chunk is not None and self._chunk is self._whole:
            self._hashers = [self._chunk]
        self._pending: list[bytes] = []
        self._buffered = 0

    async def read(self, request: Request) -> bool:
        """Gather the body, writing full buffers; False when the client went away (the
        caller cuts the file back). Longer than `remaining`: cut back, 413."""
        try:
            async for chunk in request.stream():
                if not chunk:
                    continue
                self.count += len(chunk)
                if self.count > self.remaining:
                    self._pending = []
                    await run_in_threadpool(self.partial.truncate, self.start)
                    raise too_large(f"the body is longer than the {self.remaining} bytes expected")
                self._pending.append(chunk)
                self._buffered += len(chunk)
                if self._buffered >= WRITE_BUFFER:
                    await run_in_threadpool(self._flush)
        except ClientDisconnect:
            return False
        return True

    def _flush(self) -> None:
        data = b"".join(self._pending)
        self._pending, self._buffered = [], 0
        for hasher in self._hashers:
            hasher.update(data)
        self.partial.write(data)

    def settle(self) -> int:
        """(In a thread.) Write the rest and check Upload-Checksum: a mismatch cuts the
        file back to where this body began and answers 460. Returns the bytes received."""
        self._flush()
        checksum, hasher = self.checksum, self._chunk
        if checksum is not None and hasher is not None and hasher.digest() != checksum.digest:
            self.partial.truncate(self.start)
            raise ApiError(
                CHECKSUM_MISMATCH,
                "checksum_mismatch",
                f"Upload-Checksum ({checksum.algorithm}) does not match the chunk; it was "
                f"discarded, send it again from offset {self.start}",
                {"offset": self.start},
                headers={"Upload-Offset": str(self.start)},
            )
        return self.count

    @property
    def sha256_hex(self) -> str | None:
        """The whole file's sha256 when this body was all of it (after `settle`)."""
        if self._whole is None or self.count != self.remaining:
            return None
        return self._whole.hexdigest()


async def drain(request: Request, limit: int) -> None:
    """Read a body that changes nothing (a photo already received), so the answer does
    not race the client's sending; at most `limit` bytes (the declared length)."""
    seen = 0
    with contextlib.suppress(ClientDisconnect):
        async for chunk in request.stream():
            seen += len(chunk)
            if seen > limit:
                return
