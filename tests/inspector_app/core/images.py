"""Test images made with Pillow (no binary fixtures in the repository)."""

from __future__ import annotations

import io

from PIL import ExifTags, Image

GPS = {
    1: "N",
    2: (39.0, 54.0, 20.5),
    3: "E",
    4: (116.0, 23.0, 1.0),
}
DATETIME_ORIGINAL = "2026:05:01 09:30:00"
OFFSET_ORIGINAL = "+08:00"
SERIAL = "SN-0042-SECRET"


def jpeg(
    width: int = 64,
    height: int = 48,
    *,
    colour: tuple[int, int, int] = (200, 30, 30),
    orientation: int | None = None,
    gps: bool = False,
    camera: bool = False,
    quality: int = 80,
) -> bytes:
    """A JPEG; ``orientation`` sets the EXIF tag, ``gps`` a GPS IFD and DateTimeOriginal,
    ``camera`` make, model and serial numbers (which processing must drop)."""
    img = Image.new("RGB", (width, height), colour)
    # a marker in the top-left corner, to see where the top went after rotation
    img.paste((0, 0, 255), (0, 0, max(1, width // 4), max(1, height // 4)))
    exif = Image.Exif()
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    if gps:
        exif[ExifTags.IFD.GPSInfo] = dict(GPS)
    sub: dict[int, str] = {}
    if gps:
        sub[ExifTags.Base.DateTimeOriginal] = DATETIME_ORIGINAL
        sub[ExifTags.Base.OffsetTimeOriginal] = OFFSET_ORIGINAL
    if camera:
        exif[ExifTags.Base.Make] = "PhoneMaker"
        exif[ExifTags.Base.Model] = "Tab 9"
        sub[ExifTags.Base.BodySerialNumber] = SERIAL
    if sub:
        exif[ExifTags.IFD.Exif] = sub
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif, quality=quality)
    return out.getvalue()


def png_with_alpha(width: int = 40, height: int = 30) -> bytes:
    img = Image.new("RGBA", (width, height), (0, 255, 0, 128))
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def noise_jpeg(width: int = 300, height: int = 300, *, seed: int = 1) -> bytes:
    """A JPEG that does not compress (random pixels): big bytes for a small image."""
    import random

    rng = random.Random(seed)
    img = Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=95)
    return out.getvalue()
