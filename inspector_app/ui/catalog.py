"""Message catalogs of the app: extract msgids, update .po files, compile .mo files.

Plain Python (no Kivy, no gettext tools needed); ``scripts/app_i18n.py`` is the command
line. Rules:

* A visible string is marked ``tr._("...")`` (kv and Python), ``_("...")`` or
  ``N_("...")`` (marked now, translated where shown). Msgids are English.
* The shell's files (:data:`SHELL_FILES`) belong to the ``whistle`` domain; any other file
  to the domain named in a comment ``# i18n-domain: NAME`` in its first lines, else to
  ``whistle_screens`` (the work screens' own catalog, so they never edit the shell's).
  Each domain has ``inspector_app/locale/<lang>/LC_MESSAGES/<domain>.po`` and its
  compiled ``.mo`` (committed: Android builds and the app read it).
* ``en`` is the source language: its msgstr is the msgid. ``zh_CN`` is translated by hand;
  an untranslated entry has an empty msgstr and shows in English until filled in.
"""

from __future__ import annotations

import ast
import re
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from inspector_app.viewmodels.locale import LANGUAGES, LOCALE_DIR

PACKAGE_DIR = LOCALE_DIR.parent
SOURCE_DIRS = ("ui", "viewmodels", "platform")
SHELL_DOMAIN = "whistle"
DEFAULT_DOMAIN = "whistle_screens"
# The app shell's files (relative to inspector_app/): their strings are in "whistle".
SHELL_FILES = frozenset(
    {
        "ui/app.py",
        "ui/shell.kv",
        "ui/widgets.py",
        "ui/widgets.kv",
        "ui/filechooser.py",
        "ui/filechooser.kv",
        "ui/i18n.py",
        "ui/fonts.py",
        "ui/screens/base.py",
        "ui/screens/signin.py",
        "ui/screens/signin.kv",
        "ui/screens/home.py",
        "ui/screens/home.kv",
        "ui/screens/settings.py",
        "ui/screens/settings.kv",
        "viewmodels/context.py",
        "viewmodels/home.py",
        "viewmodels/locale.py",
        "viewmodels/messages.py",
        "viewmodels/queries.py",
        "viewmodels/settings.py",
        "viewmodels/signin.py",
        "viewmodels/signout.py",
        "platform/base.py",
        "platform/desktop.py",
        "platform/android.py",
        "platform/fake.py",
    }
)
SOURCE_LANGUAGE = "en"
_MARKERS = {"_", "N_"}
_DOMAIN_RE = re.compile(r"#\s*i18n-domain:\s*([A-Za-z0-9_]+)")
_KV_CALL_RE = re.compile(
    r"""(?:\btr\._|\bN_|(?<![\w.])_)\(\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')\s*\)"""
)


@dataclass
class Entry:
    msgid: str
    msgstr: str = ""
    locations: list[str] = field(default_factory=list)


def domain_of(path: Path, *, root: Path = PACKAGE_DIR) -> str:
    try:
        if path.resolve().relative_to(root.resolve()).as_posix() in SHELL_FILES:
            return SHELL_DOMAIN
    except ValueError:
        pass
    with path.open(encoding="utf-8") as handle:
        for _, line in zip(range(8), handle, strict=False):
            found = _DOMAIN_RE.search(line)
            if found:
                return found.group(1)
    return DEFAULT_DOMAIN


def _python_msgids(source: str) -> list[tuple[str, int]]:
    found: list[tuple[str, int]] = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else None
        attr = func.attr if isinstance(func, ast.Attribute) else None
        if name in _MARKERS or attr == "_":
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.append((first.value, node.lineno))
    return found


def _kv_msgids(source: str) -> list[tuple[str, int]]:
    found: list[tuple[str, int]] = []
    for number, line in enumerate(source.splitlines(), start=1):
        if line.lstrip().startswith("#"):
            continue
        for match in _KV_CALL_RE.finditer(line):
            found.append((ast.literal_eval(match.group(1)), number))
    return found


def source_files(root: Path = PACKAGE_DIR) -> list[Path]:
    files: list[Path] = []
    for sub in SOURCE_DIRS:
        base = root / sub
        if base.is_dir():
            files.extend(sorted(base.rglob("*.py")))
            files.extend(sorted(base.rglob("*.kv")))
    return files


def extract(files: Iterable[Path], *, root: Path = PACKAGE_DIR) -> dict[str, dict[str, Entry]]:
    """domain -> msgid -> Entry (with locations) for every marked string."""
    domains: dict[str, dict[str, Entry]] = {}
    for path in files:
        text = path.read_text(encoding="utf-8")
        ids = _kv_msgids(text) if path.suffix == ".kv" else _python_msgids(text)
        if not ids:
            continue
        entries = domains.setdefault(domain_of(path, root=root), {})
        rel = path.relative_to(root.parent).as_posix()
        for msgid, line in ids:
            if not msgid:
                continue
            entry = entries.setdefault(msgid, Entry(msgid))
            entry.locations.append(f"{rel}:{line}")
    return domains


# ---------------------------------------------------------------- .po files


def _unescape(text: str) -> str:
    return str(ast.literal_eval(f'"{text}"'))


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")


def read_po(path: Path) -> dict[str, str]:
    """msgid -> msgstr of a .po file (the header entry under '')."""
    result: dict[str, str] = {}
    if not path.is_file():
        return result
    msgid: str | None = None
    msgstr: str | None = None
    current: str | None = None

    def flush() -> None:
        if msgid is not None and msgstr is not None:
            result[msgid] = msgstr

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line.startswith("msgid "):
            flush()
            msgid, msgstr, current = _unescape(line[7:-1]), None, "id"
        elif line.startswith("msgstr "):
            msgstr, current = _unescape(line[8:-1]), "str"
        elif line.startswith('"') and current == "id" and msgid is not None:
            msgid += _unescape(line[1:-1])
        elif line.startswith('"') and current == "str" and msgstr is not None:
            msgstr += _unescape(line[1:-1])
        elif not line or line.startswith("#"):
            current = None if not line else current
    flush()
    return result


HEADER = (
    "Project-Id-Version: whistle-inspector\n"
    "MIME-Version: 1.0\n"
    "Content-Type: text/plain; charset=UTF-8\n"
    "Content-Transfer-Encoding: 8bit\n"
    "Language: {language}\n"
)


def render_po(language: str, entries: dict[str, Entry]) -> str:
    lines = [
        f"# Whistle tablet app, {language}. Edit msgstr; run scripts/app_i18n.py.",
        'msgid ""',
        'msgstr ""',
    ]
    lines += [f'"{_escape(part)}\\n"' for part in HEADER.format(language=language).splitlines()]
    for msgid in sorted(entries):
        entry = entries[msgid]
        lines.append("")
        lines += [f"#: {loc}" for loc in sorted(set(entry.locations))]
        lines.append(f'msgid "{_escape(msgid)}"')
        lines.append(f'msgstr "{_escape(entry.msgstr)}"')
    return "\n".join(lines) + "\n"


def po_path(language: str, domain: str, *, locale_dir: Path = LOCALE_DIR) -> Path:
    return locale_dir / language / "LC_MESSAGES" / f"{domain}.po"


def updated_entries(
    language: str, extracted: dict[str, Entry], old: dict[str, str]
) -> dict[str, Entry]:
    """The entries for a .po: extracted msgids with their kept translations."""
    result: dict[str, Entry] = {}
    for msgid, entry in extracted.items():
        msgstr = msgid if language == SOURCE_LANGUAGE else old.get(msgid, "")
        result[msgid] = Entry(msgid, msgstr, list(entry.locations))
    return result


# ---------------------------------------------------------------- .mo files


def compile_mo(messages: dict[str, str]) -> bytes:
    """GNU .mo bytes for msgid -> msgstr (untranslated entries left out; sorted; no hash)."""
    items = sorted((k, v) for k, v in messages.items() if v or k == "")
    ids = [k.encode("utf-8") for k, _ in items]
    strs = [v.encode("utf-8") for _, v in items]
    count = len(items)
    originals = 7 * 4
    translations = originals + count * 8
    data_start = translations + count * 8
    id_table: list[int] = []
    str_table: list[int] = []
    blob = bytearray()
    for raw in ids:
        id_table += [len(raw), data_start + len(blob)]
        blob += raw + b"\0"
    for raw in strs:
        str_table += [len(raw), data_start + len(blob)]
        blob += raw + b"\0"
    header = struct.pack("<7I", 0x950412DE, 0, count, originals, translations, 0, data_start)
    tables = struct.pack(f"<{4 * count}I", *id_table, *str_table)
    return header + tables + bytes(blob)


def header_text(language: str) -> str:
    return HEADER.format(language=language)


def mo_for(path: Path) -> bytes:
    """The .mo that a .po compiles to."""
    return compile_mo(read_po(path))


def untranslated(language: str, domain: str, *, locale_dir: Path = LOCALE_DIR) -> list[str]:
    messages = read_po(po_path(language, domain, locale_dir=locale_dir))
    return sorted(k for k, v in messages.items() if k and not v)


def update(
    *,
    domains: Iterable[str] = (SHELL_DOMAIN,),
    root: Path = PACKAGE_DIR,
    locale_dir: Path = LOCALE_DIR,
) -> list[Path]:
    """Extract, merge into every language's .po of ``domains``, compile the .mo; returns
    the files written. Other domains' files are left alone."""
    written: list[Path] = []
    wanted = set(domains)
    for domain, extracted in extract(source_files(root), root=root).items():
        if domain not in wanted:
            continue
        for language in LANGUAGES:
            path = po_path(language, domain, locale_dir=locale_dir)
            old = read_po(path)
            entries = updated_entries(language, extracted, old)
            path.parent.mkdir(parents=True, exist_ok=True)
            text = render_po(language, entries)
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                path.write_text(text, encoding="utf-8")
                written.append(path)
            mo = path.with_suffix(".mo")
            data = mo_for(path)
            if not mo.is_file() or mo.read_bytes() != data:
                mo.write_bytes(data)
                written.append(mo)
    return written


__all__ = [
    "DEFAULT_DOMAIN",
    "SHELL_DOMAIN",
    "SHELL_FILES",
    "Entry",
    "compile_mo",
    "domain_of",
    "extract",
    "mo_for",
    "po_path",
    "read_po",
    "render_po",
    "source_files",
    "untranslated",
    "update",
]
