"""The image check at the end of an upload: cheap (magic bytes, Pillow reads the header,
the file ends as its format requires) yet it refuses what the former full decode refused:
a renamed text file, any cut-off JPEG, PNG or WebP."""

import io
import random
import warnings
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from server.uploads import images
from shared_schemas.enums import MediaType
from tests.server.uploads.helpers import make_jpeg


def _encode(fmt: str, seed: int = 1) -> bytes:
    rng = random.Random(seed)
    image = Image.frombytes("RGB", (160, 120), rng.randbytes(160 * 120 * 3))
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


FILES = {
    MediaType.JPEG: make_jpeg(seed=21, size=(160, 120)),
    MediaType.PNG: _encode("PNG"),
    MediaType.WEBP: _encode("WEBP"),
}


def _former_check(path: Path) -> bool:
    """What the server did before: magic bytes, Pillow verify, a trial decode."""
    with path.open("rb") as fh:
        media_type = images.sniff_media_type(fh.read(16))
    if media_type is None:
        return False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                if image.format != media_type.name:
                    return False
                image.verify()
            with Image.open(path) as image:
                image.draft("RGB", (max(1, image.width // 8), max(1, image.height // 8)))
                image.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return False
    return True


@pytest.mark.parametrize("media_type", list(FILES))
def test_whole_images_pass(media_type: MediaType, tmp_path: Path) -> None:
    path = tmp_path / "photo"
    path.write_bytes(FILES[media_type])
    assert images.verify_image(path) is media_type


@settings(max_examples=60, deadline=None)
@given(media_type=st.sampled_from(list(FILES)), fraction=st.floats(0.0, 1.0, exclude_max=True))
def test_a_cut_off_file_is_judged_as_before(media_type: MediaType, fraction: float) -> None:
    """Any prefix: the same answer as the former full decode, and refused whenever image
    data is missing (a PNG cut inside its final IEND chunk has all its pixels; both
    checks let it through)."""
    data = FILES[media_type]
    cut = int(len(data) * fraction)
    path = Path(f"/tmp/whistle-image-check-{media_type.name}-{cut}")
    try:
        path.write_bytes(data[:cut])
        accepted = images.verify_image(path) is not None
        assert accepted == _former_check(path)
        if cut < len(data) - 12:
            assert not accepted
    finally:
        path.unlink(missing_ok=True)


@pytest.mark.parametrize("keep", [-1, -2, -100, 2000, 600, 16])
def test_a_truncated_jpeg_or_webp_is_refused(keep: int, tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    for media_type in (MediaType.JPEG, MediaType.WEBP):
        path.write_bytes(FILES[media_type][:keep])
        assert images.verify_image(path) is None, media_type


def test_text_renamed_to_jpg_and_fake_magic_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "IMG_0001.jpg"
    path.write_bytes(b"meeting notes, not a photo\n" * 100)
    assert images.verify_image(path) is None
    path.write_bytes(b"\xff\xd8\xff" + b"then text" * 100 + b"\xff\xd9")  # magic and EOI
    assert images.verify_image(path) is None
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 50 + FILES[MediaType.PNG][-12:])
    assert images.verify_image(path) is None


def test_a_camera_trailer_after_the_image_still_passes(tmp_path: Path) -> None:
    """Bytes after a JPEG's end (some phones append data) fail the cheap ending test;
    the full decode then accepts the file, as the former check did."""
    path = tmp_path / "photo.jpg"
    path.write_bytes(FILES[MediaType.JPEG] + b"SEFT trailer\0\0")
    assert images.verify_image(path) is MediaType.JPEG
    assert _former_check(path)


def test_the_decompression_bomb_limit_still_applies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "photo.jpg"
    path.write_bytes(FILES[MediaType.JPEG])
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 160 x 120 is over it
    assert images.verify_image(path) is None
