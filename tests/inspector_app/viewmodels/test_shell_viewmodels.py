"""The shell's kivy-free logic: locale formats and catalogs, sign-in messages, the
sign-out guard, settings, counts, progress."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inspector_app.core.api_client import Account, NetworkError, Refused, RetryableError
from inspector_app.core.store import Store
from inspector_app.core.sync_engine import SyncProgress
from inspector_app.viewmodels.home import progress_view
from inspector_app.viewmodels.locale import Catalogs, load_translations, normalise_language
from inspector_app.viewmodels.queries import counts
from inspector_app.viewmodels.settings import (
    Settings,
    effective_language,
    load_settings,
    save_settings,
)
from inspector_app.viewmodels.signin import (
    SignInFailed,
    SignInForm,
    error_message,
    normalise_server_url,
    role_problem,
)
from inspector_app.viewmodels.signout import SignOutFlow, Step

T = datetime(2026, 5, 1, 1, 30, tzinfo=UTC)


def test_viewmodels_never_import_kivy() -> None:
    code = (
        "import sys, inspector_app.viewmodels.context, inspector_app.viewmodels.home, "
        "inspector_app.platform.desktop, inspector_app.platform.fake, "
        "inspector_app.platform.android; "
        "assert not [m for m in sys.modules if m.split('.')[0] in ('kivy', 'plyer', 'jnius')]"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------- locale


def test_dates_numbers_and_sizes_per_language() -> None:
    zh, en = Catalogs("zh_CN"), Catalogs("en")
    noon = datetime(2026, 5, 1, 12, 5).astimezone()  # local time: no zone shift
    assert zh.format_date(noon) == "2026年5月1日"
    assert en.format_date(noon) == "1 May 2026"
    assert zh.format_datetime(noon) == "2026年5月1日 12:05"
    assert en.format_datetime(noon) == "1 May 2026, 12:05"
    assert zh.format_number(1234567) == en.format_number(1234567) == "1,234,567"
    assert en.format_bytes(1_900_000) == "1.8 MB"
    assert zh.format_bytes(512) == "512 B"
    assert zh.format_ago(T - timedelta(seconds=20), now=T) == "刚刚"
    assert zh.format_ago(T - timedelta(minutes=42), now=T) == "42 分钟前"
    assert en.format_ago(T - timedelta(hours=3), now=T) == "3 h ago"
    assert en.format_ago(T - timedelta(days=1), now=T) == "1 day ago"
    assert en.format_ago(T - timedelta(days=30), now=T) == en.format_datetime(
        T - timedelta(days=30)
    )


@given(st.integers(min_value=0, max_value=2**50))
def test_byte_sizes_are_short_and_end_in_a_unit(value: int) -> None:
    text = Catalogs("en").format_bytes(value)
    number, unit = text.split(" ")
    assert unit in ("B", "KB", "MB", "GB")
    assert len(number.replace(",", "")) <= 8


def test_languages_normalise_and_catalogs_chain(tmp_path: Path) -> None:
    assert normalise_language("zh_CN.UTF-8") == "zh_CN"
    assert normalise_language("zh-TW") == "zh_CN"
    assert normalise_language("en_GB.UTF-8") == "en"
    assert normalise_language("de_DE") == "zh_CN"  # the users' language by default
    assert normalise_language(None) == "zh_CN"
    zh = Catalogs("zh_CN")
    assert zh.gettext("Sign in") == "登录"
    assert Catalogs("en").gettext("Sign in") == "Sign in"
    assert zh.gettext("a string nobody translated") == "a string nobody translated"
    # a missing domain is skipped; nothing at all -> English msgids
    assert load_translations("zh_CN", chain=["nope", "whistle"]).gettext("Home") == "首页"
    assert load_translations("zh_CN", locale_dir=tmp_path).gettext("Home") == "Home"


# ---------------------------------------------------------------- sign-in


def test_server_addresses_are_normalised_or_refused() -> None:
    assert normalise_server_url(" whistle.example.org/ ") == "https://whistle.example.org"
    assert normalise_server_url("http://127.0.0.1:8000") == "http://127.0.0.1:8000"
    for bad in ("", "ftp://x.org", "http://", "http://exa mple.org", "http://h:99999"):
        with pytest.raises(SignInFailed):
            normalise_server_url(bad)


def test_form_names_every_missing_field() -> None:
    problems = SignInForm(server="", username=" ", password="").problems()
    assert [m.msgid for m in problems] == [
        "Enter the server address.",
        "Enter your user name.",
        "Enter your password.",
    ]


def test_each_failure_has_its_own_message() -> None:
    url = "http://h"
    wrong = error_message(Refused("x", status=401, code="invalid_credentials"), server=url)
    assert wrong.msgid == "Wrong user name or password."
    locked = error_message(Refused("x", status=403, code="account_disabled"), server=url)
    assert locked.msgid.startswith("This account is locked.")
    throttled = error_message(
        RetryableError("x", status=429, code="too_many_attempts", retry_after_s=41.2), server=url
    )
    assert throttled.params == {"seconds": 42}
    unreachable = error_message(NetworkError("refused", code="network"), server=url)
    assert unreachable.params == {"url": url}
    busy = error_message(RetryableError("x", status=503, code="database_unavailable"), server=url)
    assert busy.params == {"status": 503}
    taken = error_message(
        Refused("x", code="other_users_data", details={"owner": "li", "unsynced": 3}), server=url
    )
    assert taken.params == {"count": 3, "owner": "li"}
    other = error_message(Refused("no such thing", status=422, code="validation"), server=url)
    assert other.text(lambda s: s) == "The server refused the sign-in: no such thing"


def test_only_tablet_roles_may_sign_in() -> None:
    def account(role: str) -> Account:
        return Account(user_id="1", username="u", display_name="U", role=role)

    assert role_problem(account("inspector")) is None
    assert role_problem(account("patrol")) is None
    problem = role_problem(account("supervisor"))
    assert problem is not None and problem.params["role"] == "supervisor"


# ---------------------------------------------------------------- sign-out guard


def test_sign_out_with_nothing_unsynced_goes_at_once() -> None:
    assert SignOutFlow(0).request() == Step.SIGN_OUT


def test_sign_out_with_unsynced_work_needs_two_confirmations() -> None:
    flow = SignOutFlow(3)
    assert flow.request() == Step.CONFIRM_FIRST
    first = flow.message()
    assert first is not None and first.params == {"count": 3} and "refused" in first.msgid
    assert flow.confirm() == Step.CONFIRM_SECOND
    assert flow.confirm() == Step.SIGN_OUT
    flow.request()
    assert flow.cancel() == Step.CANCELLED
    with pytest.raises(RuntimeError):
        flow.confirm()


# ---------------------------------------------------------------- settings and counts


def test_settings_round_trip_and_refuse_odd_values(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as store:
        assert load_settings(store) == Settings()
        save_settings(store, Settings(language="en", photo_max_edge=None, wifi_only=True))
        assert load_settings(store) == Settings("en", None, True)
        with pytest.raises(ValueError, match="photo size"):
            save_settings(store, Settings(photo_max_edge=999))
        with store.transaction() as tx:  # a damaged value falls back to the default
            tx.kv_set("settings", {"language": "fr", "photo_max_edge": 7, "wifi_only": 1})
        assert load_settings(store) == Settings(None, 2048, True)
    assert effective_language(Settings(), "en_US.UTF-8") == "en"
    assert effective_language(Settings(language="zh_CN"), "en_US") == "zh_CN"


def test_counts_of_an_empty_store(tmp_path: Path) -> None:
    with Store(tmp_path / "c.db") as store:
        c = counts(store, now=T)
        assert (c.drafts, c.waiting, c.failed, c.tasks_open, c.tasks_overdue) == (0, 0, 0, 0, 0)
        with store.transaction() as tx:  # a task without a due date is never overdue
            tx.upsert_task("t1", case_id="c1", data={"status": "open"})
            tx.upsert_task("t2", case_id="c2", data={"due_at": "2026-04-30T00:00:00"})
        c = counts(store, now=T)
        assert (c.tasks_open, c.tasks_overdue) == (2, 1)  # naive due date read as UTC


def test_progress_view_fractions_and_phases() -> None:
    view = progress_view(SyncProgress("photos", 3, 4, 500, 2000, "x"))
    assert view.running and view.ops_fraction == 0.75 and view.bytes_fraction == 0.25
    assert view.fraction == 0.5
    assert view.phase.msgid == "Sending photos…"
    done = progress_view(SyncProgress("done", 0, 0, 0, 0))
    assert not done.running and done.fraction == 1.0 and done.phase.level == "success"
    failed = progress_view(SyncProgress("failed", 1, 2, 0, 0, "HTTP 503"))
    assert failed.phase.level == "error" and failed.detail == "HTTP 503"
