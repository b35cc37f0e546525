"""A CJK font is found and really draws Chinese; the shell's catalogs are complete."""

from __future__ import annotations

import re
import string
from pathlib import Path
from typing import Any

import pytest
from PIL import ImageFont

from inspector_app.ui import catalog
from inspector_app.ui.fonts import (
    FontNotFound,
    chinese_face_index,
    find_cjk_font,
    standalone_chinese_font,
)

DEBIAN_NOTO = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")


def test_a_cjk_font_is_found_here() -> None:
    found = find_cjk_font("linux")
    assert found.regular.is_file()


def test_every_platform_has_candidates_and_none_found_names_them(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import inspector_app.ui.fonts as fonts

    monkeypatch.setattr(fonts, "BUNDLED_DIR", tmp_path / "none")
    monkeypatch.delenv("WHISTLE_CJK_FONT", raising=False)
    paths = {p: [str(r) for r, _ in fonts.candidates(p)] for p in ("android", "win", "linux")}
    assert "/system/fonts/NotoSansCJK-Regular.ttc" in paths["android"]
    assert any(r.endswith("msyh.ttc") for r in paths["win"])
    monkeypatch.setattr(fonts, "LINUX_FONTS", (("/nowhere/a.ttc", None),))
    with pytest.raises(FontNotFound) as caught:
        find_cjk_font("linux")
    assert "/nowhere/a.ttc" in str(caught.value) and "fonts-noto-cjk" in str(caught.value)
    own = tmp_path / "mine.ttf"
    own.write_bytes(DEBIAN_NOTO.read_bytes()[:10])
    monkeypatch.setenv("WHISTLE_CJK_FONT", str(own))
    assert find_cjk_font("linux").regular == own


@pytest.mark.skipif(not DEBIAN_NOTO.is_file(), reason="fonts-noto-cjk not installed")
def test_the_simplified_chinese_face_is_extracted_once(tmp_path: Path) -> None:
    assert chinese_face_index(DEBIAN_NOTO.read_bytes()) == 2
    made = standalone_chinese_font(DEBIAN_NOTO, tmp_path)
    assert made.suffix == ".otf"
    assert ImageFont.truetype(str(made), 20).getname() == ("Noto Sans CJK SC", "Regular")
    stamp = made.stat().st_mtime_ns
    assert standalone_chinese_font(DEBIAN_NOTO, tmp_path) == made
    assert made.stat().st_mtime_ns == stamp  # reused, not written again


def test_chinese_renders_as_glyphs_not_boxes(ui: Any) -> None:
    """Every character draws differently: missing glyphs would all be the same box."""
    from kivy.core.text import Label as CoreLabel

    def pixels(text: str) -> bytes:
        label = CoreLabel(text=text, font_size=40)
        label.refresh()
        data: bytes = label.texture.pixels
        return data

    samples = ["上", "报", "隐", "患", "网", "格"]
    rendered = [pixels(c) for c in samples]
    assert len(set(rendered)) == len(samples)
    assert pixels("\U000f0000") not in rendered  # a private-use char: the font's box


def test_the_shell_catalogs_are_complete_and_compiled() -> None:
    extracted = catalog.extract(catalog.source_files())[catalog.SHELL_DOMAIN]
    assert len(extracted) > 50
    for language in ("zh_CN", "en"):
        path = catalog.po_path(language, catalog.SHELL_DOMAIN)
        messages = catalog.read_po(path)
        assert set(extracted) <= set(messages), "run scripts/app_i18n.py"
        assert path.with_suffix(".mo").read_bytes() == catalog.mo_for(path)
    assert catalog.untranslated("zh_CN", catalog.SHELL_DOMAIN) == []


def test_translations_keep_every_placeholder_and_are_chinese() -> None:
    fields = string.Formatter()
    allowed = re.compile(r"\{\w+\}|Wi-Fi|HTTP|GPS|https?://\S+|px|MB")
    path = catalog.po_path("zh_CN", catalog.SHELL_DOMAIN)
    for msgid, msgstr in catalog.read_po(path).items():
        if not msgid:
            continue
        want = {f for _, f, _, _ in fields.parse(msgid) if f}
        have = {f for _, f, _, _ in fields.parse(msgstr) if f}
        assert want == have, msgid
        assert not re.search(r"[A-Za-z]{3,}", allowed.sub("", msgstr)), msgstr


def test_mo_files_are_what_gettext_reads(tmp_path: Path) -> None:
    import gettext

    target = tmp_path / "zh_CN" / "LC_MESSAGES"
    target.mkdir(parents=True)
    (target / "t.mo").write_bytes(
        catalog.compile_mo(
            {"": "Content-Type: text/plain; charset=UTF-8\n", "Hi": "你好", "No": ""}
        )
    )
    translations = gettext.translation("t", str(tmp_path), languages=["zh_CN"])
    assert translations.gettext("Hi") == "你好"
    assert translations.gettext("No") == "No"
