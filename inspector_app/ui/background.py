"""Work off the UI thread, results back on it (Clock.schedule_once), like Electrum's GUI.

Tests wait for :func:`pending` to reach 0 (every job finished and its callback ran).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from kivy.clock import Clock

log = logging.getLogger(__name__)

T = TypeVar("T")

_lock = threading.Lock()
_pending = 0


def pending() -> int:
    """Jobs started whose callback has not run yet."""
    with _lock:
        return _pending


def _change(delta: int) -> None:
    global _pending
    with _lock:
        _pending += delta


def on_ui_thread(func: Callable[..., Any], *args: Any) -> None:
    """Call ``func(*args)`` on the UI thread at the next frame (from any thread)."""
    Clock.schedule_once(lambda _dt: func(*args), 0)


def run_async(
    work: Callable[[], T],
    on_done: Callable[[T], None],
    on_error: Callable[[Exception], None],
    *,
    name: str = "ui-work",
) -> threading.Thread:
    """Run ``work`` on a thread; ``on_done(result)`` or ``on_error(exc)`` on the UI thread."""
    _change(+1)

    def finish(callback: Callable[[Any], None], value: Any) -> None:
        try:
            callback(value)
        finally:
            _change(-1)

    def run() -> None:
        try:
            result = work()
        except Exception as exc:
            log.info("%s failed: %s", name, exc)
            on_ui_thread(finish, on_error, exc)
            return
        on_ui_thread(finish, on_done, result)

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    return thread


__all__ = ["on_ui_thread", "pending", "run_async"]
