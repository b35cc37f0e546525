"""What may be a photo: JPEG, PNG or WebP by magic bytes, confirmed by Pillow; thumbnails."""

import io
import warnings
from pathlib import Path

from PIL import Image, ImageOps

from shared_schemas.enums import MediaType

THUMB_EDGE = 320


def sniff_media_type(head: bytes) -> MediaType | None:
    """The media type named by the file's first bytes, if it is one we accept."""
    if head.startswith(b"\xff\xd8\xff"):
        return MediaType.JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return MediaType.PNG
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return MediaType.WEBP
    return None


_PIL_FORMATS = {MediaType.JPEG: "JPEG", MediaType.PNG: "PNG", MediaType.WEBP: "WEBP"}
_PIL_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    Image.DecompressionBombError,
    Image.DecompressionBombWarning,
)
_PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"
_JPEG_EOI = b"\xff\xd9"


def _ends_complete(media_type: MediaType, head: bytes, tail: bytes, size: int) -> bool:
    """Whether the file ends the way a whole file of its format must: a cut-off upload
    does not. JPEG: the EOI marker last (0xFF 0xD9 cannot occur inside entropy-coded
    data, where 0xFF is always stuffed); PNG: the IEND chunk last; WebP: the RIFF size
    covers exactly the file."""
    if media_type is MediaType.JPEG:
        return tail.endswith(_JPEG_EOI)
    if media_type is MediaType.PNG:
        return tail.endswith(_PNG_END)
    return int.from_bytes(head[4:8], "little") + 8 == size


def _opened(source: Path | bytes) -> Image.Image:
    return Image.open(io.BytesIO(source) if isinstance(source, bytes) else source)


def _header_ok(source: Path | bytes, media_type: MediaType) -> bool:
    """Pillow parses the header (for JPEG every marker up to the scan), the format is the
    sniffed one, and the dimensions are sane and under the decompression-bomb limit."""
    with _opened(source) as image:
        width, height = image.size
        return image.format == _PIL_FORMATS[media_type] and width > 0 and height > 0


def _decodes(source: Path | bytes, media_type: MediaType) -> bool:
    """The thorough check: structure (verify) and a trial decode at reduced scale."""
    with _opened(source) as image:
        if image.format != _PIL_FORMATS[media_type]:
            return False
        image.verify()
    # verify() checks structure only (a JPEG cut short passes): decode it too, at reduced
    # scale where the format allows (JPEG DCT scaling keeps this cheap).
    with _opened(source) as image:
        image.draft("RGB", (max(1, image.width // 8), max(1, image.height // 8)))
        image.load()
    return True


def verify_image(source: Path | bytes) -> MediaType | None:
    """The media type of a file (or of bytes in memory) if it is a whole JPEG/PNG/WebP,
    else None.

    Cheap for the usual photo (~0.2 ms instead of ~5 ms): magic bytes, Pillow reads the
    header, and the file ends as its format requires. A file that fails the ending test
    (a cut-off upload, or a camera's trailer after the image) gets the thorough check
    (Pillow verify and a trial decode), so nothing the old check accepted is refused.
    """
    if isinstance(source, bytes):
        head, size = source[:16], len(source)
        tail = source[-len(_PNG_END) :]
    else:
        with source.open("rb") as fh:
            head = fh.read(16)
            size = fh.seek(0, io.SEEK_END)
            fh.seek(max(0, size - len(_PNG_END)))
            tail = fh.read()
    media_type = sniff_media_type(head)
    if media_type is None:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            if not _header_ok(source, media_type):
                return None
            if _ends_complete(media_type, head, tail, size) or _decodes(source, media_type):
                return media_type
    except _PIL_ERRORS:
        return None
    return None


def make_thumbnail(data: bytes, edge: int = THUMB_EDGE) -> bytes:
    """A JPEG whose longest edge is at most `edge`, upright by its EXIF orientation."""
    with Image.open(io.BytesIO(data)) as image:
        upright = ImageOps.exif_transpose(image)
        upright.thumbnail((edge, edge))
        out = io.BytesIO()
        upright.convert("RGB").save(out, "JPEG", quality=80, optimize=True)
        return out.getvalue()
