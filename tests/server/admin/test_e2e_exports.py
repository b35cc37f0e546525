"""In a real Chromium against a real uvicorn: the dashboard draws its charts without a
script error, the monthly XLSX downloads through the exports page and opens in openpyxl,
and an administrator creates and disables an account through the management forms.

Reuses the admin tests' browser fixtures (conftest.py: one Chromium, `new_context`).
"""

import io
import re
from collections.abc import Callable
from datetime import timedelta

from openpyxl import load_workbook
from playwright.sync_api import BrowserContext, ConsoleMessage, Page, expect
from sqlalchemy import Engine
from sqlmodel import Session, select

from server.accounts.models import User
from server.cases.models import Case
from shared_schemas.enums import CaseStatus
from tests.live_server import LiveServer
from tests.world import PASSWORD, T0, World

NewContext = Callable[[], BrowserContext]


def _sign_in(new_context: NewContext, server: LiveServer, username: str) -> tuple[Page, list[str]]:
    """A signed-in page, and the script errors it meets (console errors, uncaught)."""
    page = new_context().new_page()
    problems: list[str] = []

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(message.text)

    page.on("console", console)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.goto(f"{server.url}/admin/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/admin/(?!login).*"))
    return page, problems


def _close_case_a(engine: Engine, world: World) -> None:
    """Street A's case rectified within its deadline and closed, all in May 2026."""
    with Session(engine) as session:
        case = session.get(Case, world.a.case_id)
        assert case is not None
        case.status = CaseStatus.CLOSED
        case.rectified_at = T0 + timedelta(days=2)
        case.closed_at = T0 + timedelta(days=3)
        session.add(case)
        session.commit()


def test_dashboard_draws_its_charts_without_script_errors(
    live_server: LiveServer, world: World, engine: Engine, new_context: NewContext
) -> None:
    _close_case_a(engine, world)
    page, problems = _sign_in(new_context, live_server, "supervisor_a")
    page.goto(f"{live_server.url}/admin/dashboard?period=all")
    canvases = page.locator("canvas[data-chart]")
    expect(canvases).to_have_count(4)
    # Chart.js drew on every canvas (it registers each chart it made).
    page.wait_for_function(
        "() => [...document.querySelectorAll('canvas[data-chart]')]"
        ".every(c => window.Chart && window.Chart.getChart(c) && c.width > 0)"
    )
    drawn = page.evaluate(
        "() => window.Chart.getChart(document.querySelector('canvas[data-chart=month]'))"
        ".data.datasets[0].data"
    )
    assert drawn == [1]  # one case discovered in 2026-05, as in the table
    expect(page.locator('.kpi[data-metric="closure_rate"] .kpi-value')).to_have_text("100.0%")
    expect(page.locator("#definitions")).to_contain_text("按期处置率")
    # Choosing dates switches the period to "custom" and the figures follow.
    page.fill("input[name=date_from]", "2026-06-01")
    expect(page.locator("select[name=period]")).to_have_value("custom")
    page.click("#dashboard-filters button[type=submit]")
    expect(page.locator('.kpi[data-metric="discovered"] .kpi-value')).to_have_text("0")
    assert problems == []


def test_monthly_xlsx_downloads_in_the_browser(
    live_server: LiveServer, world: World, engine: Engine, new_context: NewContext
) -> None:
    _close_case_a(engine, world)
    page, problems = _sign_in(new_context, live_server, "supervisor_a")
    page.goto(f"{live_server.url}/admin/exports")
    page.fill("input[name=month]", "2026-05")
    with page.expect_download() as info:
        page.click("#download-xlsx")
    download = info.value
    assert download.suggested_filename == "progress-2026-05.xlsx"
    path = download.path()
    assert path is not None
    workbook = load_workbook(io.BytesIO(path.read_bytes()), read_only=True)
    rows = list(workbook.worksheets[0].iter_rows(values_only=True))
    header = next(i for i, row in enumerate(rows) if row and row[0] == "街道 street")
    body = [r for r in rows[header + 1 :] if r and r[3]]
    # Only street A (the supervisor's scope): one case found and rectified in 小区A.
    assert [(r[3], r[5], r[6], r[7]) for r in body] == [("小区A", 1, 1, 0)]
    details = list(workbook.worksheets[1].iter_rows(values_only=True))
    assert any(str(world.a.case_id) in [str(c) for c in row] for row in details)
    # The CSV of the same list downloads too.
    with page.expect_download() as csv_info:
        page.click("#download-csv")
    assert csv_info.value.suggested_filename.endswith(".csv")
    csv_path = csv_info.value.path()  # waits for the whole file
    assert csv_path is not None
    assert str(world.a.case_id) in csv_path.read_text("utf-8-sig")
    assert problems == []


def test_admin_creates_and_disables_an_account_in_the_browser(
    live_server: LiveServer, world: World, engine: Engine, new_context: NewContext
) -> None:
    page, problems = _sign_in(new_context, live_server, "admin")
    page.goto(f"{live_server.url}/admin/manage/users/new")
    page.fill("#f-username", "zhang.san")
    page.fill("#f-password", "short")
    page.check('input[name=area_codes][value="G_A"]')
    page.click("#user-form button[type=submit]")
    expect(page.locator("#err-password")).to_have_text("至少 8 个字符。")
    expect(page.locator("#f-username")).to_have_value("zhang.san")
    expect(page.locator('input[name=area_codes][value="G_A"]')).to_be_checked()
    page.fill("#f-password", "a long enough password")
    page.click("#user-form button[type=submit]")
    expect(page.locator(".flash-ok")).to_contain_text("zhang.san")
    # Disabling asks first (a confirm dialog); accepting it disables the account.
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#active-form button[type=submit]")
    expect(page.locator(".flash-ok")).to_contain_text("已停用")
    with Session(engine) as session:
        user = session.exec(select(User).where(User.username == "zhang.san")).one()
        assert not user.is_active
    # The form answered 422 once (the short password), which Chromium logs; nothing else.
    assert [p for p in problems if "status of 422" not in p] == []
