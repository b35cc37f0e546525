"""Reading a photo batch's multipart body into memory, part by part.

Starlette's `request.form()` spools every file part into a SpooledTemporaryFile (a BytesIO
grown a chunk at a time) and `read()` copies it out again: for a batch of 16 photos of
~300 KB that cost ~1.4 ms of CPU per photo here, most of it the kernel handing out fresh
pages for the growing buffers, about as much as everything else the server does for the
photo. A batch is at most `photo_batch_max_bytes` (8 MiB), checked from Content-Length
before a byte is read, so its parts are simply kept as the chunks that arrived and joined
once at the end of each part. The parsing itself is python-multipart's, as Starlette's.
"""

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from python_multipart.multipart import MultipartParser, parse_options_header


class MultipartError(ValueError):
    """The body is not a multipart body this endpoint takes; the message says why."""


@dataclass
class Part:
    name: str
    filename: str | None  # None: a plain field
    data: bytes


@dataclass
class _Current:
    headers: dict[bytes, bytes] = field(default_factory=dict)
    chunks: list[bytes] = field(default_factory=list)
    size: int = 0
    name: str = ""
    filename: str | None = None


@dataclass(frozen=True)
class Limits:
    max_files: int
    max_fields: int
    max_field_bytes: int


def boundary_of(content_type: str) -> bytes:
    _kind, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if not boundary:
        raise MultipartError("the Content-Type names no multipart boundary")
    return boundary


class _Reader:
    def __init__(self, boundary: bytes, limits: Limits) -> None:
        self.limits = limits
        self.parts: list[Part] = []
        self.files = self.fields = 0
        self.ended = False
        self._current = _Current()
        self._field_name = b""
        self._field_value = b""
        self.parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._begin,
                "on_header_field": self._header_field,
                "on_header_value": self._header_value,
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished,
                "on_part_data": self._data,
                "on_part_end": self._end,
                "on_end": self._all_done,
            },
        )

    def write(self, chunk: bytes) -> None:
        try:
            self.parser.write(chunk)
        except MultipartError:
            raise
        except Exception as exc:  # python-multipart's parse errors: the body is malformed
            raise MultipartError(
                f"not well-formed multipart ({exc or type(exc).__name__})"
            ) from exc

    def _begin(self) -> None:
        self._current = _Current()

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._field_name += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._field_value += data[start:end]

    def _header_end(self) -> None:
        self._current.headers[self._field_name.lower()] = self._field_value
        self._field_name = self._field_value = b""

    def _headers_finished(self) -> None:
        current = self._current
        disposition = current.headers.get(b"content-disposition")
        if disposition is None:
            raise MultipartError("a part has no Content-Disposition header")
        _kind, options = parse_options_header(disposition)
        name = options.get(b"name")
        if name is None:
            raise MultipartError("a part has no name in its Content-Disposition")
        current.name = name.decode("utf-8", "replace")
        filename = options.get(b"filename")
        current.filename = None if filename is None else filename.decode("utf-8", "replace")
        if current.filename is None:
            self.fields += 1
            if self.fields > self.limits.max_fields:
                raise MultipartError(f"more than {self.limits.max_fields} plain field(s)")
        else:
            self.files += 1
            if self.files > self.limits.max_files:
                raise MultipartError(f"more than {self.limits.max_files} file parts")

    def _data(self, data: bytes, start: int, end: int) -> None:
        current = self._current
        current.size += end - start
        if current.filename is None and current.size > self.limits.max_field_bytes:
            raise MultipartError(
                f"the field {current.name!r} is over {self.limits.max_field_bytes} bytes"
            )
        # A whole chunk is kept as it is (no copy); the parts' edges are sliced out.
        current.chunks.append(data if start == 0 and end == len(data) else data[start:end])

    def _end(self) -> None:
        current = self._current
        data = current.chunks[0] if len(current.chunks) == 1 else b"".join(current.chunks)
        self.parts.append(Part(current.name, current.filename, data))

    def _all_done(self) -> None:
        self.ended = True


async def read_parts(
    chunks: AsyncIterator[bytes], *, content_type: str, limits: Limits
) -> list[Part]:
    """Every part of the body, in order. MultipartError when the body is malformed, cut
    short, or over the limits (the rest of the body is not read then). A client that goes
    away mid-body raises what `chunks` raises (Starlette's ClientDisconnect)."""
    reader = _Reader(boundary_of(content_type), limits)
    async for chunk in chunks:
        if chunk:
            reader.write(chunk)
    if not reader.ended:
        raise MultipartError("the body ended before its closing boundary")
    return reader.parts
