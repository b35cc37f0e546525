"""The app's services in one place, without Kivy: the store, capture, the API client,
the sync engine, the platform adapter and the settings.

Start-up order (docs/tablet-store.md): open the store, recover capture debris, then
connect a client and an engine when a server is known. Nothing here touches the network
except :meth:`AppContext.sign_in`, :meth:`AppContext.sign_out` and the engine's cycles,
which the UI runs off its thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from inspector_app import __version__
from inspector_app.core.api_client import KV_AUTH, KV_SERVER, Account, ApiClient
from inspector_app.core.capture import Capture
from inspector_app.core.photos import PhotoProcessor
from inspector_app.core.store import Store, utcnow
from inspector_app.core.sync_engine import SyncEngine, SyncProgress
from inspector_app.platform.base import Platform
from inspector_app.viewmodels.home import HomeSummary, home_summary
from inspector_app.viewmodels.locale import N_
from inspector_app.viewmodels.messages import Message
from inspector_app.viewmodels.queries import counts
from inspector_app.viewmodels.settings import (
    KV_LAST_USERNAME,
    Settings,
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

log = logging.getLogger(__name__)

ProgressListener = Callable[[SyncProgress], None]


class AppContext:
    """Everything a screen needs besides widgets. One per data directory."""

    def __init__(
        self,
        *,
        data_dir: Path,
        platform: Platform,
        server_url: str | None = None,
        background_photos: bool = True,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.platform = platform
        self.clock = clock
        self.store = Store(self.data_dir / "whistle.db", clock=clock)
        self.settings = load_settings(self.store)
        self.processor = PhotoProcessor(self.settings.processing(), background=background_photos)
        self.capture = Capture(self.store, self.photos_dir, self.processor)
        self.capture.recover()
        self.client: ApiClient | None = None
        self.engine: SyncEngine | None = None
        self._listeners: list[ProgressListener] = []
        self._lock = threading.Lock()
        stored = self.store.kv_get(KV_SERVER)
        # A signed-in account keeps its server; --server only fills in the sign-in form.
        self.default_server = server_url or stored
        url = stored if stored and self._has_tokens() else (server_url or stored)
        if url:
            self.connect(str(url))

    # ------------------------------------------------------------ paths and settings
    @property
    def photos_dir(self) -> Path:
        return self.data_dir / "photos"

    @property
    def server_url(self) -> str | None:
        return self.client.base_url if self.client is not None else self.default_server

    @property
    def last_username(self) -> str:
        return str(self.store.kv_get(KV_LAST_USERNAME) or "")

    def update_settings(self, **changes: object) -> Settings:
        """Save changed settings; the photo size applies to photos processed from now on."""
        new = replace(self.settings, **changes)  # type: ignore[arg-type]
        save_settings(self.store, new)
        self.settings = new
        self.processor.settings = new.processing()
        return new

    # ------------------------------------------------------------ account
    def _has_tokens(self) -> bool:
        return bool(self.store.kv_get(KV_AUTH))

    @property
    def account(self) -> Account | None:
        """The signed-in account (from the store: works offline)."""
        return self.client.cached_account() if self.client is not None else None

    def connect(self, url: str) -> ApiClient:
        """Use the server at ``url`` (no network yet); a new client and engine if it changed."""
        url = url.rstrip("/")
        with self._lock:
            if self.client is not None and self.client.base_url == url:
                return self.client
            self._close_engine()
            client = ApiClient(store=self.store, base_url=url)
            self.client = client
            self.engine = SyncEngine(
                store=self.store,
                client=client,
                photos_dir=self.photos_dir,
                on_progress=self._progress,
                wifi_only=lambda: self.settings.wifi_only,
                on_wifi=self.platform.connectivity.on_wifi,
                online=self.platform.connectivity.online,
                app_version=__version__,
            )
        self.platform.set_server(url)
        return client

    def sign_in(self, *, server: str, username: str, password: str) -> Account:
        """Sign in (blocking: network). Raises SignInFailed with a message to show."""
        form = SignInForm(server=server, username=username, password=password)
        problems = form.problems()
        if problems:
            raise SignInFailed(problems[0])
        url = normalise_server_url(server)
        if self.client is not None and self.client.base_url != url and self.client.signed_in:
            raise SignInFailed(
                Message(
                    N_("This tablet is signed in to {url}: sign out there first."),
                    {"url": self.client.base_url},
                )
            )
        client = self.connect(url)
        try:
            account = client.login(username=username.strip(), password=password)
        except Exception as exc:
            raise SignInFailed(error_message(exc, server=url)) from exc
        problem = role_problem(account)
        if problem is not None:
            client.logout()
            raise SignInFailed(problem)
        with self.store.transaction() as tx:
            tx.kv_set(KV_LAST_USERNAME, account.username)
        self.default_server = url
        return account

    def unsynced(self) -> int:
        return counts(self.store, now=self.clock()).unsynced

    def sign_out(self) -> None:
        """Forget the sign-in (the server is told when reachable). Data stays."""
        if self.engine is not None:
            self.engine.stop(timeout_s=5.0)
        if self.client is not None:
            self.client.logout()

    # ------------------------------------------------------------ sync
    def add_progress_listener(self, listener: ProgressListener) -> None:
        self._listeners.append(listener)

    def remove_progress_listener(self, listener: ProgressListener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _progress(self, progress: SyncProgress) -> None:
        """Called on the engine's thread: listeners hop to their own thread."""
        for listener in list(self._listeners):
            listener(progress)

    def summary(self) -> HomeSummary:
        engine = self.engine
        return home_summary(
            self.store,
            now=self.clock(),
            last_success_at=engine.last_success_at if engine else None,
            last_error=engine.last_error if engine else None,
        )

    # ------------------------------------------------------------ shutdown
    def _close_engine(self) -> None:
        if self.engine is not None:
            self.engine.stop(timeout_s=10.0)
            self.engine = None
        if self.client is not None:
            self.client.close()
            self.client = None

    def close(self) -> None:
        """Stop the engine, let photo processing finish, close the store."""
        with self._lock:
            self._close_engine()
        self.processor.shutdown(wait=True)
        self.store.close()


__all__ = ["AppContext", "ProgressListener"]
