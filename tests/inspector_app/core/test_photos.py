"""Photo processing: orientation, downscaling, EXIF kept and dropped, refusals, worker."""

from __future__ import annotations

import hashlib
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from PIL import ExifTags, Image

from inspector_app.core.photos import (
    ImageRejected,
    PhotoJob,
    PhotoProcessor,
    ProcessedPhoto,
    ProcessingSettings,
    probe_image,
    process_photo,
)
from tests.inspector_app.core import images


def _process(tmp_path: Path, data: bytes, **settings: object) -> tuple[ProcessedPhoto, Path, Path]:
    original = tmp_path / "in.jpg"
    original.write_bytes(data)
    out, thumb = tmp_path / "out.jpg", tmp_path / "thumb.jpg"
    result = process_photo(original, out, thumb, ProcessingSettings(**settings))  # type: ignore[arg-type]
    return result, out, thumb


def test_camera_photo_is_upright_downscaled_and_stripped(tmp_path: Path) -> None:
    """The one big image: 4000x3000, EXIF orientation 6 (rotate 90° clockwise), GPS, serial."""
    data = images.jpeg(4000, 3000, orientation=6, gps=True, camera=True, quality=70)
    info = probe_image(data, "IMG_0001.JPG")
    assert (info.width, info.height) == (4000, 3000)
    assert info.taken_at == datetime(2026, 5, 1, 9, 30, tzinfo=timezone(timedelta(hours=8)))

    result, out, thumb = _process(tmp_path, data)
    assert (result.width, result.height) == (1536, 2048)  # rotated, longest edge 2048
    assert result.media_type == "image/jpeg"
    assert result.size_bytes == out.stat().st_size
    assert result.sha256 == hashlib.sha256(out.read_bytes()).hexdigest()
    with Image.open(out) as img:
        assert img.format == "JPEG" and img.size == (1536, 2048)
        # the blue marker was top-left before rotating 90° clockwise: now top-right
        r, _, b = img.getpixel((1536 - 20, 20))  # type: ignore[misc]
        assert b > 200 and r < 60
        exif = img.getexif()
        assert ExifTags.Base.Orientation not in exif
        assert ExifTags.Base.Make not in exif and ExifTags.Base.Model not in exif
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
        assert gps[1] == "N" and gps[3] == "E"
        assert [float(x) for x in gps[2]] == [39.0, 54.0, 20.5]
        sub = exif.get_ifd(ExifTags.IFD.Exif)
        assert sub[ExifTags.Base.DateTimeOriginal] == images.DATETIME_ORIGINAL
        assert ExifTags.Base.BodySerialNumber not in sub
    assert images.SERIAL.encode() not in out.read_bytes()
    with Image.open(thumb) as small:
        assert max(small.size) == 256 and small.size[1] > small.size[0]
        assert not small.getexif()


@pytest.mark.parametrize(("edge", "expected"), [(1024, (1024, 768)), (None, (1200, 900))])
def test_longest_edge_is_configurable(
    tmp_path: Path, edge: int | None, expected: tuple[int, int]
) -> None:
    result, _, _ = _process(tmp_path, images.jpeg(1200, 900), max_edge=edge)
    assert (result.width, result.height) == expected


def test_small_photo_is_not_upscaled_and_has_no_exif(tmp_path: Path) -> None:
    result, out, _ = _process(tmp_path, images.jpeg(64, 48, camera=True))
    assert (result.width, result.height) == (64, 48)
    with Image.open(out) as img:
        assert not img.getexif()


def test_png_with_transparency_becomes_jpeg(tmp_path: Path) -> None:
    result, out, _ = _process(tmp_path, images.png_with_alpha())
    assert result.media_type == "image/jpeg"
    with Image.open(out) as img:
        assert img.format == "JPEG" and img.mode == "RGB"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"%PDF-1.4 not a photo at all", "not an image"),
        (b"", "not an image"),
        (images.jpeg(64, 48)[:200], "damaged|cannot be read"),
    ],
)
def test_what_is_not_an_image_is_refused_clearly(data: bytes, reason: str) -> None:
    with pytest.raises(ImageRejected, match=reason) as caught:
        probe_image(data, "report.pdf")
    assert caught.value.name == "report.pdf"
    assert str(caught.value).startswith("report.pdf is not a usable photo")


def test_truncated_image_is_refused_by_processing(tmp_path: Path) -> None:
    with pytest.raises(ImageRejected, match=r"in\.jpg"):
        _process(tmp_path, images.jpeg(300, 200)[:400])
    assert not (tmp_path / "out.jpg").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["in.jpg"]


def test_settings_refuse_a_silly_edge() -> None:
    with pytest.raises(ValueError, match="max_edge"):
        ProcessingSettings(max_edge=3)


def test_processor_runs_in_the_background_and_calls_back(tmp_path: Path) -> None:
    processor = PhotoProcessor()
    results: dict[str, object] = {}
    threads: set[str] = set()
    done = threading.Event()

    def on_done(photo_id: str, result: object) -> None:
        results[photo_id] = result
        threads.add(threading.current_thread().name)
        if len(results) == 2:
            done.set()

    good, bad = tmp_path / "good.jpg", tmp_path / "bad.jpg"
    good.write_bytes(images.jpeg())
    bad.write_bytes(b"nope")
    try:
        for name, src in (("good", good), ("bad", bad)):
            processor.submit(
                PhotoJob(name, src, tmp_path / f"{name}.out.jpg", tmp_path / f"{name}.t.jpg"),
                on_done,
            )
        assert done.wait(10)
        processor.wait_idle()
    finally:
        processor.shutdown()
    assert isinstance(results["good"], ProcessedPhoto)
    assert isinstance(results["bad"], ImageRejected)
    assert threads and all(t.startswith("photo") for t in threads)
