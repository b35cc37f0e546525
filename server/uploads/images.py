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


def verify_image(path: Path) -> MediaType | None:
    """The file's media type if it is a well-formed JPEG/PNG/WebP, else None."""
    with path.open("rb") as fh:
        media_type = sniff_media_type(fh.read(16))
    if media_type is None:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                if image.format != _PIL_FORMATS[media_type]:
                    return None
                image.verify()
            # verify() checks structure only (a JPEG cut short passes): decode it too, at
            # reduced scale where the format allows (JPEG DCT scaling keeps this cheap).
            with Image.open(path) as image:
                image.draft("RGB", (max(1, image.width // 8), max(1, image.height // 8)))
                image.load()
    except (
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ):
        return None
    return media_type


def make_thumbnail(data: bytes, edge: int = THUMB_EDGE) -> bytes:
    """A JPEG whose longest edge is at most `edge`, upright by its EXIF orientation."""
    with Image.open(io.BytesIO(data)) as image:
        upright = ImageOps.exif_transpose(image)
        upright.thumbnail((edge, edge))
        out = io.BytesIO()
        upright.convert("RGB").save(out, "JPEG", quality=80, optimize=True)
        return out.getvalue()
