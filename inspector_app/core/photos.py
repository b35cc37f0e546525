"""Photo processing with Pillow: orientation, downscale, EXIF stripping, thumbnails.

What a processed photo keeps of the camera's EXIF: the GPS IFD and DateTimeOriginal (with
its OffsetTimeOriginal, the time zone of that same timestamp). Everything else (camera
make, model and serial numbers, lens, software, maker notes, XMP, comments) is dropped.
The output is always a baseline JPEG (media type image/jpeg), RGB, orientation applied.

:class:`PhotoProcessor` runs processing jobs on a background thread and calls a
completion callback with the result or the exception.
"""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from inspector_app.core.files import atomic_write_bytes

log = logging.getLogger(__name__)

DEFAULT_MAX_EDGE = 2048
MAX_EDGE_CHOICES: tuple[int | None, ...] = (1024, 2048, 3072, None)  # None: original size
THUMB_EDGE = 256
JPEG_QUALITY = 85
THUMB_QUALITY = 80
ACCEPTED_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "MPO", "HEIF", "TIFF", "BMP", "GIF"})
MAX_PIXELS = 80_000_000  # a decompression bomb guard well above any tablet camera

_TAG_DATETIME_ORIGINAL = 0x9003
_TAG_OFFSET_TIME_ORIGINAL = 0x9011


class ImageRejected(ValueError):
    """The file is not an image the app can use."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name} is not a usable photo: {reason}")
        self.name = name
        self.reason = reason


@dataclass(frozen=True)
class ProcessingSettings:
    max_edge: int | None = DEFAULT_MAX_EDGE  # longest edge in pixels; None keeps the size
    quality: int = JPEG_QUALITY
    thumb_edge: int = THUMB_EDGE

    def __post_init__(self) -> None:
        if self.max_edge is not None and self.max_edge < 16:
            raise ValueError("max_edge must be at least 16 pixels (or None for original)")


@dataclass(frozen=True)
class ImageInfo:
    """What a quick look at an original tells (before processing)."""

    format: str
    width: int
    height: int
    taken_at: datetime | None


@dataclass(frozen=True)
class ProcessedPhoto:
    sha256: str
    size_bytes: int
    media_type: str
    width: int
    height: int


def _open(source: Path | bytes, name: str) -> Image.Image:
    try:
        img = Image.open(io.BytesIO(source) if isinstance(source, bytes) else source)
    except UnidentifiedImageError:
        raise ImageRejected(name, "the file is not an image (unknown format)") from None
    except FileNotFoundError:
        raise  # not a property of the image (e.g. the photo was removed meanwhile)
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ImageRejected(name, f"the image cannot be read ({exc})") from None
    if img.format not in ACCEPTED_FORMATS:
        fmt = img.format
        img.close()
        raise ImageRejected(name, f"the format {fmt} is not accepted")
    if img.width * img.height > MAX_PIXELS:
        img.close()
        raise ImageRejected(name, f"the image is too large ({img.width}x{img.height})")
    return img


def probe_image(source: Path | bytes, name: str) -> ImageInfo:
    """Check that ``source`` is an image (headers and structure); raise ImageRejected."""
    img = _open(source, name)
    try:
        info = ImageInfo(img.format or "?", img.width, img.height, _taken_at(img.getexif()))
        img.verify()
    except ImageRejected:
        raise
    except Exception as exc:
        raise ImageRejected(name, f"the image is damaged ({exc})") from None
    finally:
        img.close()
    return info


def _taken_at(exif: Image.Exif) -> datetime | None:
    """DateTimeOriginal (+ OffsetTimeOriginal) as an aware time, local zone if no offset."""
    sub = exif.get_ifd(ExifTags.IFD.Exif)
    raw = sub.get(_TAG_DATETIME_ORIGINAL)
    if not isinstance(raw, str):
        return None
    offset = sub.get(_TAG_OFFSET_TIME_ORIGINAL)
    try:
        moment = datetime.strptime(raw.strip("\x00 "), "%Y:%m:%d %H:%M:%S")
        if isinstance(offset, str) and offset.strip("\x00 "):
            zone = datetime.strptime(offset.strip("\x00 "), "%z").tzinfo
            return moment.replace(tzinfo=zone)
        return moment.astimezone()  # the camera's clock is the tablet's local time
    except ValueError:
        return None


def _kept_exif(exif: Image.Exif) -> Image.Exif:
    kept = Image.Exif()
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    if gps:
        kept[ExifTags.IFD.GPSInfo] = dict(gps)
    sub = exif.get_ifd(ExifTags.IFD.Exif)
    dated = {
        tag: sub[tag]
        for tag in (_TAG_DATETIME_ORIGINAL, _TAG_OFFSET_TIME_ORIGINAL)
        if isinstance(sub.get(tag), str)
    }
    if dated:
        kept[ExifTags.IFD.Exif] = dated
    return kept


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode == "RGB":
        return img
    if img.mode in ("RGBA", "LA", "P", "PA") or "transparency" in img.info:
        rgba = img.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, (255, 255, 255))
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas
    return img.convert("RGB")


def render(
    source: Path | bytes, name: str, settings: ProcessingSettings
) -> tuple[bytes, bytes, int, int]:
    """Process an original in memory: (jpeg bytes, thumbnail bytes, width, height)."""
    img = _open(source, name)
    try:
        exif = img.getexif()
        kept = _kept_exif(exif)
        if settings.max_edge is not None:
            # in place and before transposing: lets the JPEG decoder downscale (draft)
            img.thumbnail((settings.max_edge, settings.max_edge), Image.Resampling.LANCZOS)
        upright = ImageOps.exif_transpose(img)
        rgb = _to_rgb(upright)
        out = io.BytesIO()
        options: dict[str, Any] = {"quality": settings.quality, "optimize": True}
        if len(kept):
            options["exif"] = kept
        if icc := img.info.get("icc_profile"):
            options["icc_profile"] = icc
        rgb.save(out, "JPEG", **options)
        thumb_img = rgb.copy()
        thumb_img.thumbnail((settings.thumb_edge, settings.thumb_edge), Image.Resampling.LANCZOS)
        thumb = io.BytesIO()
        thumb_img.save(thumb, "JPEG", quality=THUMB_QUALITY)
        return out.getvalue(), thumb.getvalue(), rgb.width, rgb.height
    except ImageRejected:
        raise
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageRejected(name, f"the image cannot be decoded ({exc})") from None
    finally:
        img.close()


def process_photo(
    original: Path, processed: Path, thumb: Path, settings: ProcessingSettings
) -> ProcessedPhoto:
    """Process ``original`` into ``processed`` and ``thumb`` (durable, atomic writes)."""
    data, thumb_data, width, height = render(original, original.name, settings)
    atomic_write_bytes(thumb, thumb_data, what="the photo thumbnail")
    digest = atomic_write_bytes(processed, data, what="the processed photo")
    return ProcessedPhoto(
        sha256=digest, size_bytes=len(data), media_type="image/jpeg", width=width, height=height
    )


# ---------------------------------------------------------------- background processing

Completion = Callable[[str, "ProcessedPhoto | BaseException"], None]


@dataclass(frozen=True)
class PhotoJob:
    photo_id: str
    original: Path
    processed: Path
    thumb: Path


class PhotoProcessor:
    """Runs photo jobs off the UI thread; ``on_done(photo_id, result_or_error)`` after each.

    With ``background=False`` jobs run inline in the caller (tests, command-line tools).
    The callback runs on the worker thread: a UI must hop back to its own thread.
    """

    def __init__(
        self,
        settings: ProcessingSettings | None = None,
        *,
        background: bool = True,
        workers: int = 1,
    ) -> None:
        self.settings = settings or ProcessingSettings()
        self._executor = (
            ThreadPoolExecutor(max_workers=workers, thread_name_prefix="photo")
            if background
            else None
        )
        self._lock = threading.Lock()
        self._in_flight: set[str] = set()
        self._futures: list[Future[None]] = []

    def submit(self, job: PhotoJob, on_done: Completion) -> None:
        with self._lock:
            if job.photo_id in self._in_flight:
                return
            self._in_flight.add(job.photo_id)
        if self._executor is None:
            self._run(job, on_done)
            return
        future = self._executor.submit(self._run, job, on_done)
        with self._lock:
            self._futures = [f for f in self._futures if not f.done()]
            self._futures.append(future)

    def _run(self, job: PhotoJob, on_done: Completion) -> None:
        result: ProcessedPhoto | BaseException
        try:
            result = process_photo(job.original, job.processed, job.thumb, self.settings)
        except Exception as exc:
            result = exc
        finally:
            with self._lock:
                self._in_flight.discard(job.photo_id)
        try:
            on_done(job.photo_id, result)
        except Exception:
            log.exception("photo %s: the completion callback failed", job.photo_id)

    def wait_idle(self, timeout: float | None = 30.0) -> None:
        """Block until every submitted job and its callback finished (tests, shutdown)."""
        with self._lock:
            futures = list(self._futures)
        for future in futures:
            future.result(timeout=timeout)

    def shutdown(self, *, wait: bool = True) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=wait, cancel_futures=not wait)
