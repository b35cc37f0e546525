"""server/uploads/multipart.py: a photo batch's body read into its parts, whatever the
chunking; malformed, cut-short and over-limit bodies refused with a reason."""

import itertools
from collections.abc import AsyncIterator, Coroutine
from typing import Any, TypeVar, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.uploads.multipart import Limits, MultipartError, Part, read_parts

BOUNDARY = "whistle-7d3f0a"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"
T = TypeVar("T")
LIMITS = Limits(max_files=4, max_fields=1, max_field_bytes=64)


def encode(parts: list[Part]) -> bytes:
    out = b""
    for part in parts:
        disposition = f'form-data; name="{part.name}"'
        if part.filename is not None:
            disposition += f'; filename="{part.filename}"'
        out += f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n".encode()
        if part.filename is not None:
            out += b"Content-Type: image/jpeg\r\n"
        out += b"\r\n" + part.data + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Drive a coroutine that never suspends (its chunks are all at hand) without an
    event loop: another test in the same worker may have left one running."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return cast(T, done.value)
    coroutine.close()
    raise AssertionError("read_parts suspended; these chunks never wait")


def parse(body: bytes, cuts: list[int] | None = None, limits: Limits = LIMITS) -> list[Part]:
    points = sorted({c % (len(body) + 1) for c in cuts or []} | {0, len(body)})

    async def chunks() -> AsyncIterator[bytes]:
        for start, end in itertools.pairwise(points):
            yield body[start:end]

    return run(read_parts(chunks(), content_type=CONTENT_TYPE, limits=limits))


# File bytes that look like the body's own syntax: CRLFs, dashes, a partial boundary.
file_bytes = st.lists(
    st.sampled_from([b"\r\n", b"--", b"-", f"--{BOUNDARY[:6]}".encode(), b"\xff\xd8", b"x"])
    | st.binary(max_size=40),
    max_size=12,
).map(b"".join)


@settings(max_examples=150, deadline=None)
@given(
    manifest=st.text(max_size=20).map(lambda t: t.encode()[:64]),
    files=st.lists(file_bytes, max_size=4),
    cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=12),
)
def test_parts_come_back_exactly_whatever_the_chunking(
    manifest: bytes, files: list[bytes], cuts: list[int]
) -> None:
    parts = [Part("manifest", None, manifest)] + [
        Part(f"p{i}", f"p{i}.jpg", data) for i, data in enumerate(files)
    ]
    assert parse(encode(parts), cuts) == parts


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (encode([Part("p0", "a.jpg", b"abc")])[:-20], "ended before its closing boundary"),
        (b"", "ended before its closing boundary"),
        (
            f"--{BOUNDARY}\r\nContent-Type: text/plain\r\n\r\nx\r\n--{BOUNDARY}--\r\n".encode(),
            "no Content-Disposition",
        ),
        (
            f"--{BOUNDARY}\r\nContent-Disposition: form-data\r\n\r\nx\r\n"
            f"--{BOUNDARY}--\r\n".encode(),
            "no name",
        ),
        (encode([Part(f"p{i}", "a.jpg", b"x") for i in range(5)]), "more than 4 file parts"),
        (encode([Part("manifest", None, b"{}"), Part("extra", None, b"1")]), "plain field"),
        (encode([Part("manifest", None, b"x" * 65)]), "over 64 bytes"),
        (b"not a multipart body at all", "not well-formed multipart"),
    ],
)
def test_bad_bodies_are_refused_with_the_reason(body: bytes, reason: str) -> None:
    with pytest.raises(MultipartError, match=reason):
        parse(body, [7, 30])


def test_a_content_type_without_a_boundary_is_refused() -> None:
    async def nothing() -> AsyncIterator[bytes]:
        yield b""

    with pytest.raises(MultipartError, match="boundary"):
        run(read_parts(nothing(), content_type="multipart/form-data", limits=LIMITS))
