"""Every visible string of the work screens has a Chinese translation in whistle_screens.

Strings are taken from the screens' sources the way xgettext would: ``tr._("...")`` in
kv rules, ``N_``/``_``/``tr``/``tr._``/``gettext`` calls with a literal in Python.
"""

from __future__ import annotations

import ast
import gettext
import re
from pathlib import Path

import pytest

from inspector_app.viewmodels.locale import LOCALE_DIR, Catalogs

ROOT = Path(__file__).resolve().parents[3]
SOURCES = [
    *(
        ROOT / "inspector_app/viewmodels" / f
        for f in (
            "screen_words.py",
            "categories.py",
            "report_list.py",
            "report_detail.py",
            "task_list.py",
        )
    ),
    *(
        ROOT / "inspector_app/ui/screens" / f"{name}.{ext}"
        for name in (
            "new_report",
            "my_reports",
            "report_detail",
            "tasks",
            "task_detail",
            "map",
            "work_common",
        )
        for ext in ("py", "kv")
    ),
]
KV_CALL = re.compile(r"""tr\._\(\s*(['"])(.*?)(?<!\\)\1\s*\)""")
SAME_IN_CHINESE = {"GPS"}


def _py_msgids(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if not (isinstance(node, ast.Call) and node.args):
            continue
        first = node.args[0]
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        literal = isinstance(first, ast.Constant) and isinstance(first.value, str)
        if name in ("N_", "_", "tr", "gettext") and literal:
            found.append(first.value)  # type: ignore[attr-defined]
    return found


def msgids() -> list[str]:
    out: list[str] = []
    for path in SOURCES:
        texts = (
            [m.group(2) for m in KV_CALL.finditer(path.read_text("utf-8"))]
            if path.suffix == ".kv"
            else _py_msgids(path)
        )
        out += [t for t in texts if t not in out]
    return out


def test_sources_have_strings() -> None:
    ids = msgids()
    assert len(ids) > 150 and "Save report" in ids and "Waiting to sync" in ids


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_compiled_catalog_has_every_string(lang: str) -> None:
    mo = LOCALE_DIR / lang / "LC_MESSAGES" / "whistle_screens.mo"
    with mo.open("rb") as handle:
        catalog = gettext.GNUTranslations(handle)
    missing = [m for m in msgids() if m not in catalog._catalog]  # type: ignore[attr-defined]
    assert missing == [], f"not in {mo} (rebuild the .po/.mo): {missing}"


def test_every_string_is_chinese_in_the_app() -> None:
    zh = Catalogs("zh_CN")
    untranslated = [m for m in msgids() if zh.gettext(m) == m and m not in SAME_IN_CHINESE]
    assert untranslated == []


def test_placeholders_survive_translation() -> None:
    zh = Catalogs("zh_CN")
    field = re.compile(r"\{(\w*)\}")
    for msgid in msgids():
        assert sorted(field.findall(zh.gettext(msgid))) == sorted(field.findall(msgid)), msgid
