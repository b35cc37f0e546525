"""Screenshots of every web admin page, in Chinese and English, with the demo data.

    .venv/bin/python scripts/admin_screenshots.py [--out docs/screenshots/admin] [--only triage]

Starts the app on loopback (uvicorn in a thread, a fresh SQLite database in a temporary
directory, `seed-demo` data plus two demo tablets), signs in through the real sign-in
page in Chromium (/usr/bin/chromium via Playwright) and saves <name>-<zh|en>.png for each
entry of PAGES. Map tiles are answered locally with a plain tile (no internet needed).

Add a page: append a Shot to PAGES (path placeholders: {case:<status>} is a demo case in
that state, e.g. {case:rectified}).
"""

import argparse
import io
import re
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import uvicorn  # noqa: E402
from PIL import Image  # noqa: E402
from playwright.sync_api import Page, Route, ViewportSize, sync_playwright  # noqa: E402
from sqlmodel import Session, col, select  # noqa: E402

from server.accounts.models import User  # noqa: E402
from server.cases.models import Case  # noqa: E402
from server.core.clock import utcnow  # noqa: E402
from server.core.config import Settings  # noqa: E402
from server.core.db import make_engine, metadata  # noqa: E402
from server.demo.seed import DEMO_PASSWORD, seed_demo  # noqa: E402
from server.main import create_app  # noqa: E402
from server.sync.models import Device  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT: ViewportSize = {"width": 1366, "height": 860}


@dataclass(frozen=True)
class Shot:
    name: str  # file name stem
    path: str  # may contain {case:<status>}
    user: str = "supervisor"  # a demo user (password DEMO_PASSWORD)
    full_page: bool = True


PAGES: list[Shot] = [
    Shot("login", "/admin/login", user=""),
    Shot("triage", "/admin/triage"),
    Shot("cases", "/admin/cases"),
    Shot("cases-overdue-filter", "/admin/cases?overdue=1&sort=deadline"),
    Shot("case-reported", "/admin/cases/{case:reported}"),
    Shot("case-rectified", "/admin/cases/{case:rectified}"),
    Shot("case-department", "/admin/cases/{case:rectifying}", user="department"),
    Shot("map", "/admin/map", full_page=False),
    Shot("devices", "/admin/devices"),
    # H6: dashboard, exports and management pages.
    Shot("dashboard", "/admin/dashboard?period=all"),
    Shot("exports", "/admin/exports"),
    Shot("manage-users-supervisor", "/admin/manage/users"),
    Shot("manage-users", "/admin/manage/users", user="admin"),
    Shot("manage-user-new", "/admin/manage/users/new", user="admin"),
    Shot("manage-areas", "/admin/manage/areas", user="admin"),
    Shot("manage-departments", "/admin/manage/departments", user="admin"),
    Shot("manage-categories", "/admin/manage/categories", user="admin"),
    Shot("manage-category", "/admin/manage/categories/GARBAGE", user="admin"),
]


def _tile_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (256, 256), (232, 236, 230)).save(buffer, format="PNG")
    return buffer.getvalue()


def _add_demo_devices(session: Session) -> None:
    """Two tablets: one syncing fine, one silent for two days with a rejected operation."""
    users = {u.username: u for u in session.exec(select(User))}
    now = utcnow()
    session.add(
        Device(
            id="tablet-zhang-01",
            user_id=users["inspector"].id,
            first_seen_at=now - timedelta(days=20),
            last_seen_at=now - timedelta(minutes=12),
            app_version="whistle-app 0.1.0 (android 13)",
            queue_depth=2,
            oldest_pending_s=540,
            photos_pending=3,
            free_bytes=5_400_000_000,
        )
    )
    session.add(
        Device(
            id="tablet-li-02",
            user_id=users["patrol"].id,
            first_seen_at=now - timedelta(days=40),
            last_seen_at=now - timedelta(days=2, hours=3),
            app_version="whistle-app 0.1.0 (android 11)",
            queue_depth=17,
            oldest_pending_s=2 * 86400 + 4000,
            photos_pending=9,
            last_error="网络超时 / network timeout",
            free_bytes=310_000_000,
            rejected_ops=1,
        )
    )


@contextmanager
def _server(settings: Settings) -> Iterator[str]:
    app = create_app(settings)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
        app.state.engine.dispose()


def _prepare(workdir: Path) -> tuple[Settings, dict[str, str]]:
    settings = Settings(
        env="development",
        database_url=f"sqlite:///{workdir / 'whistle.db'}",
        storage_dir=workdir / "photos",
        argon2_time_cost=1,
        argon2_memory_kib=1024,
    )
    engine = make_engine(settings)
    metadata.create_all(engine)
    with Session(engine) as session:
        seed_demo(session, settings)
        session.commit()
        _add_demo_devices(session)
        session.commit()
        cases: dict[str, str] = {}
        for case in session.exec(select(Case).order_by(col(Case.created_at))):
            cases.setdefault(case.status.value, str(case.id))
    engine.dispose()
    return settings, cases


def _set_locale(settings: Settings, locale: str) -> None:
    engine = make_engine(settings)
    with Session(engine) as session:
        for user in session.exec(select(User)):
            user.locale = locale
            session.add(user)
        session.commit()
    engine.dispose()


def _sign_in(page: Page, base: str, user: str) -> None:
    page.goto(f"{base}/admin/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/admin/(?!login).*"))


def _resolve(path: str, cases: dict[str, str]) -> str:
    return re.sub(r"\{case:(\w+)\}", lambda m: cases[m.group(1)], path)


def take(out: Path, only: set[str]) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    saved: list[Path] = []
    tile = _tile_png()
    with tempfile.TemporaryDirectory() as tmp:
        settings, cases = _prepare(Path(tmp))
        with _server(settings) as base, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for locale, suffix in (("zh_CN", "zh"), ("en", "en")):
                _set_locale(settings, locale)
                contexts: dict[str, Page] = {}
                for shot in PAGES:
                    if only and shot.name not in only:
                        continue
                    if shot.user not in contexts:
                        context = browser.new_context(
                            viewport=VIEWPORT,
                            locale="en-GB" if suffix == "en" else "zh-CN",
                        )

                        def _tiles(route: Route) -> None:
                            route.fulfill(status=200, content_type="image/png", body=tile)

                        context.route(re.compile(r"https?://[^/]*tile[^/]*/.*"), _tiles)
                        page = context.new_page()
                        if shot.user:
                            _sign_in(page, base, shot.user)
                        contexts[shot.user] = page
                    page = contexts[shot.user]
                    url = base + _resolve(shot.path, cases)
                    if not shot.user:
                        url += ("&" if "?" in url else "?") + f"lang={locale}"
                    page.goto(url)
                    page.wait_for_load_state("networkidle")
                    if "/map" in shot.path:
                        page.wait_for_selector("#map[data-loaded]", timeout=10_000)
                    target = out / f"{shot.name}-{suffix}.png"
                    page.screenshot(path=str(target), full_page=shot.full_page)
                    saved.append(target)
                    print(f"saved {target}")
                for page in contexts.values():
                    page.context.close()
            browser.close()
    return saved


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots" / "admin")
    parser.add_argument("--only", action="append", default=[], help="page name (repeatable)")
    args = parser.parse_args()
    take(args.out, set(args.only))
    return 0


if __name__ == "__main__":
    sys.exit(main())
