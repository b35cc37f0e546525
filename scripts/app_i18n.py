#!/usr/bin/env python3
"""The tablet app's translations: extract marked strings, update .po, compile .mo.

    .venv/bin/python scripts/app_i18n.py [--domain D]   update the .po and .mo files of
                                                  domain D (default: whistle, the shell's)
    .venv/bin/python scripts/app_i18n.py check [--domain D]   exit 1 if D's .po/.mo is stale
                                                  or a zh_CN msgstr is empty

Then translate the empty ``msgstr ""`` entries in inspector_app/locale/zh_CN/LC_MESSAGES/
*.po and run it again. See inspector_app/ui/catalog.py for the rules.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from inspector_app.ui import catalog
from inspector_app.viewmodels.locale import LANGUAGES


def check(domains: list[str]) -> int:
    problems: list[str] = []
    extracted = catalog.extract(catalog.source_files())
    for domain, entries in extracted.items():
        if domain not in domains:
            continue
        for language in LANGUAGES:
            path = catalog.po_path(language, domain)
            have = {k for k in catalog.read_po(path) if k}
            if have != set(entries):
                missing = sorted(set(entries) - have)[:5]
                problems.append(f"{path}: out of date (run this script); missing e.g. {missing}")
            mo = path.with_suffix(".mo")
            if not mo.is_file() or mo.read_bytes() != catalog.mo_for(path):
                problems.append(f"{mo}: stale or missing (run this script)")
        for msgid in catalog.untranslated("zh_CN", domain):
            problems.append(f"zh_CN/{domain}.po: not translated: {msgid!r}")
    for line in problems:
        print(line)
    return 1 if problems else 0


def main(argv: list[str]) -> int:
    args = argv[1:]
    domains = [catalog.SHELL_DOMAIN]
    if "--domain" in args:
        at = args.index("--domain")
        domains = [args[at + 1]] if at + 1 < len(args) else []
        del args[at : at + 2]
    if not domains or args not in ([], ["check"]):
        print(__doc__)
        return 2
    if args == ["check"]:
        return check(domains)
    for path in catalog.update(domains=domains):
        print(f"wrote {path}")
    return check(domains)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
