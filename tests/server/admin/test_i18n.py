"""The admin's word catalog: every key a template or page uses exists in both languages."""

import re
from pathlib import Path

import pytest

import server.admin.router  # noqa: F401 - imports every page module (they register words)
from server.admin import i18n
from server.admin.templating import TEMPLATE_DIR

ADMIN_DIR = TEMPLATE_DIR.parent
# t("key" ...) with a literal key; keys built with ~ end in "." and are checked elsewhere.
_KEY = re.compile(r"""\bt\(\s*["']([a-z_][\w.]*[\w])["']""")


def _used_keys() -> set[str]:
    files = [*TEMPLATE_DIR.rglob("*.html"), *ADMIN_DIR.rglob("*.py")]
    return {key for path in files for key in _KEY.findall(Path(path).read_text())}


def test_every_literal_key_exists() -> None:
    missing = sorted(k for k in _used_keys() if not i18n.has_message(k))
    assert missing == []


def test_dynamic_keys_exist_for_every_value() -> None:
    from server.admin.case_filters import SortKey
    from server.workflow.rules import Action
    from shared_schemas.enums import CategoryGroup, LocationSource, Role, Severity

    keys = [f"severity.{s.value}" for s in Severity]
    keys += [f"group.{g.value}" for g in CategoryGroup]
    keys += [f"location.{s.value}" for s in LocationSource]
    keys += [f"sort.{s.value}" for s in SortKey]
    keys += [f"role.{r.value}" for r in Role]
    keys += [f"photos.{k}" for k in ("before", "after", "verification")]
    assert [k for k in keys if not i18n.has_message(k)] == []
    assert len(list(Action)) > 0


def test_both_languages_and_placeholders_agree() -> None:
    for key in i18n.catalog_keys():
        zh, en = i18n.translate("zh_CN", key), i18n.translate("en", key)
        assert zh and en, key
        assert set(re.findall(r"{(\w+)}", zh)) == set(re.findall(r"{(\w+)}", en)), key


def test_unknown_key_and_conflicting_words_are_errors() -> None:
    with pytest.raises(KeyError):
        i18n.translate("en", "no.such.key")
    with pytest.raises(ValueError, match="twice"):
        i18n.add_messages({"nav.cases": ("别的", "Other")})
    i18n.add_messages({"nav.cases": i18n.MESSAGES["nav.cases"]})  # the same words: fine


def test_locale_names() -> None:
    assert i18n.normalise_locale("en-GB") == "en"
    assert i18n.normalise_locale("zh-CN,zh;q=0.9") == "zh_CN"
    assert i18n.normalise_locale(None) == "zh_CN"
    t = i18n.Translator("en")
    assert t("case.photos", received=2, expected=3) == "photos 2/3"
    assert t.pick("阳光小区", None) == "阳光小区"
