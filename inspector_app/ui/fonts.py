"""A CJK font for every label, so Chinese never shows as boxes.

Kivy's bundled Roboto has no Chinese glyphs. At start-up :func:`install_default_font`
looks for a CJK font in the usual places (``WHISTLE_CJK_FONT`` first, then fonts shipped
in ``inspector_app/ui/fonts/``, Android's system fonts, Debian's ``fonts-noto-cjk`` and
others, macOS, Windows' Microsoft YaHei) and registers it under Kivy's default font name,
so every widget uses it without naming it.

Kivy's SDL2 text provider opens face 0 of a font collection (``.ttc``). Face 0 of Noto
Sans CJK is the *Japanese* variant, whose shapes of some shared characters are not the
ones Chinese readers expect; so the Simplified Chinese face is copied once into a
standalone font file in a cache directory (a plain sfnt table copy, below).

No font found is an error with the list of places searched (:class:`FontNotFound`).
"""

from __future__ import annotations

import logging
import os
import struct
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

DEFAULT_FONT_NAME = "Roboto"  # Kivy's default font name: registering it re-fonts everything
BUNDLED_DIR = Path(__file__).resolve().parent / "fonts"

# (regular, bold) candidates, most preferred first. Bold may be None (the regular is used).
ANDROID_FONTS: tuple[tuple[str, str | None], ...] = (
    ("/system/fonts/NotoSansCJK-Regular.ttc", "/system/fonts/NotoSansCJK-Bold.ttc"),
    ("/system/fonts/NotoSansSC-Regular.otf", "/system/fonts/NotoSansSC-Bold.otf"),
    ("/system/fonts/NotoSansHans-Regular.otf", "/system/fonts/NotoSansHans-Bold.otf"),
    ("/system/fonts/DroidSansFallbackFull.ttf", None),
    ("/system/fonts/DroidSansFallback.ttf", None),
)
LINUX_FONTS: tuple[tuple[str, str | None], ...] = (
    (
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    ),
    (
        "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
        "/usr/share/fonts/noto-cjk/NotoSansCJK-Bold.ttc",
    ),
    (
        "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
        "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Bold.ttc",
    ),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", None),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", None),
    ("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", None),
)
MAC_FONTS: tuple[tuple[str, str | None], ...] = (
    ("/System/Library/Fonts/PingFang.ttc", None),
    ("/System/Library/Fonts/STHeiti Light.ttc", "/System/Library/Fonts/STHeiti Medium.ttc"),
    ("/Library/Fonts/Arial Unicode.ttf", None),
)
WINDOWS_FONTS: tuple[tuple[str, str | None], ...] = (
    ("msyh.ttc", "msyhbd.ttc"),
    ("msyh.ttf", "msyhbd.ttf"),
    ("simhei.ttf", None),
    ("simsun.ttc", None),
)


class FontNotFound(RuntimeError):
    """No CJK font anywhere: Chinese would show as boxes."""

    def __init__(self, searched: Sequence[str]) -> None:
        self.searched = list(searched)
        super().__init__(
            "No Chinese (CJK) font found, so Chinese text would show as empty boxes. "
            "Install one (Debian: apt-get install fonts-noto-cjk), put a .ttf/.otf/.ttc in "
            f"{BUNDLED_DIR}, or set WHISTLE_CJK_FONT=/path/to/font. Searched: "
            + ", ".join(self.searched)
        )


@dataclass(frozen=True)
class FontChoice:
    regular: Path
    bold: Path | None


def _windows_dir() -> Path:
    return Path(os.environ.get("WINDIR", r"C:\Windows")) / "Fonts"


def candidates(platform: str | None = None) -> list[tuple[Path, Path | None]]:
    """Every (regular, bold) pair worth trying on ``platform``, in order."""
    platform = platform or _platform()
    pairs: list[tuple[Path, Path | None]] = []
    env = os.environ.get("WHISTLE_CJK_FONT")
    if env:
        pairs.append((Path(env), None))
    if BUNDLED_DIR.is_dir():
        for path in sorted(BUNDLED_DIR.iterdir()):
            if path.suffix.lower() in (".ttf", ".otf", ".ttc") and "bold" not in path.name.lower():
                bold = path.with_name(path.name.replace("Regular", "Bold"))
                pairs.append((path, bold if bold != path else None))
    table: tuple[tuple[str, str | None], ...]
    if platform == "android":
        table = ANDROID_FONTS
    elif platform == "win":
        base = _windows_dir()
        table = tuple((str(base / r), str(base / b) if b else None) for r, b in WINDOWS_FONTS)
    elif platform == "macosx":
        table = MAC_FONTS
    else:
        table = LINUX_FONTS
    pairs.extend((Path(r), Path(b) if b else None) for r, b in table)
    return pairs


def _platform() -> str:
    if "ANDROID_ARGUMENT" in os.environ or "ANDROID_PRIVATE" in os.environ:
        return "android"
    if sys.platform.startswith("win"):
        return "win"
    if sys.platform == "darwin":
        return "macosx"
    return "linux"


def find_cjk_font(platform: str | None = None) -> FontChoice:
    """The first CJK font that exists; FontNotFound naming every place searched."""
    searched: list[str] = []
    for regular, bold in candidates(platform):
        searched.append(str(regular))
        if regular.is_file():
            return FontChoice(regular, bold if bold is not None and bold.is_file() else None)
    raise FontNotFound(searched)


# ---------------------------------------------------------------- font collections (.ttc)
# A .ttc is a header ('ttcf', version, face count, offsets) followed by sfnt table
# directories that share table data. One face becomes a standalone font by writing its
# table directory with the tables copied behind it (offsets rewritten, 4-byte aligned).


def _face_offsets(data: bytes) -> list[int]:
    if data[:4] != b"ttcf":
        return []
    count = struct.unpack(">I", data[8:12])[0]
    return list(struct.unpack(f">{count}I", data[12 : 12 + 4 * count]))


def _tables(data: bytes, offset: int) -> dict[bytes, tuple[int, int, int]]:
    """tag -> (checksum, offset, length) of the face at ``offset``."""
    num = struct.unpack(">H", data[offset + 4 : offset + 6])[0]
    tables: dict[bytes, tuple[int, int, int]] = {}
    for i in range(num):
        rec = offset + 12 + 16 * i
        tag, checksum, where, length = struct.unpack(">4sIII", data[rec : rec + 16])
        tables[tag] = (checksum, where, length)
    return tables


def _family_names(data: bytes, tables: dict[bytes, tuple[int, int, int]]) -> list[str]:
    if b"name" not in tables:
        return []
    _, base, _ = tables[b"name"]
    _fmt, count, strings = struct.unpack(">HHH", data[base : base + 6])
    names: list[str] = []
    for i in range(count):
        rec = base + 6 + 12 * i
        platform_id, _enc, _lang, name_id, length, off = struct.unpack(
            ">HHHHHH", data[rec : rec + 12]
        )
        if name_id in (1, 16) and platform_id == 3:
            raw = data[base + strings + off : base + strings + off + length]
            names.append(raw.decode("utf-16-be", "replace"))
    return names


def chinese_face_index(data: bytes) -> int:
    """The index of the Simplified Chinese face of a collection (0 when none is named so)."""
    for index, offset in enumerate(_face_offsets(data)):
        names = _family_names(data, _tables(data, offset))
        if any(n.endswith((" SC", " GB")) or "Hans" in n or "YaHei" in n for n in names):
            if any("Mono" in n for n in names):
                continue
            return index
    return 0


def extract_face(data: bytes, index: int) -> bytes:
    """Face ``index`` of a collection as a standalone sfnt font."""
    offset = _face_offsets(data)[index]
    header = data[offset : offset + 12]
    tables = _tables(data, offset)
    directory = bytearray(header)
    body = bytearray()
    start = 12 + 16 * len(tables)
    for tag in sorted(tables):
        checksum, where, length = tables[tag]
        directory += struct.pack(">4sIII", tag, checksum, start + len(body), length)
        body += data[where : where + length]
        body += b"\0" * (-len(body) % 4)
    return bytes(directory + body)


def standalone_chinese_font(path: Path, cache_dir: Path) -> Path:
    """``path`` itself, or for a collection whose Chinese face is not the first, that face
    copied once into ``cache_dir`` (reused while the source file is unchanged)."""
    if path.suffix.lower() != ".ttc":
        return path
    stat = path.stat()
    data = path.read_bytes()
    index = chinese_face_index(data)
    if index == 0:
        return path
    target = cache_dir / f"{path.stem}-{index}-{stat.st_size}-{int(stat.st_mtime)}.otf"
    if target.is_file():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    temp = target.with_suffix(".tmp")
    temp.write_bytes(extract_face(data, index))
    temp.replace(target)
    log.info("fonts: copied face %d of %s to %s", index, path, target)
    return target


# ---------------------------------------------------------------- registration with Kivy


def install_default_font(*, cache_dir: Path, platform: str | None = None) -> FontChoice:
    """Find a CJK font and make it Kivy's default (regular and bold). Returns what is used.

    Raises FontNotFound. Call before any label is created (fonts are cached per name).
    """
    from kivy.core.text import LabelBase

    found = find_cjk_font(platform)
    regular = standalone_chinese_font(found.regular, cache_dir)
    bold = standalone_chinese_font(found.bold, cache_dir) if found.bold else regular
    LabelBase.register(
        name=DEFAULT_FONT_NAME,
        fn_regular=str(regular),
        fn_bold=str(bold),
        fn_italic=str(regular),
        fn_bolditalic=str(bold),
    )
    log.info("fonts: default font %s (bold %s)", regular, bold)
    return FontChoice(regular, bold)


__all__ = [
    "FontChoice",
    "FontNotFound",
    "candidates",
    "chinese_face_index",
    "extract_face",
    "find_cjk_font",
    "install_default_font",
    "standalone_chinese_font",
]
