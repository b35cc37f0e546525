"""What the home screen shows: counts, the last sync, and the progress of a running sync."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from inspector_app.core.store import Store
from inspector_app.core.sync_engine import SyncProgress
from inspector_app.viewmodels.locale import N_
from inspector_app.viewmodels.messages import Message
from inspector_app.viewmodels.queries import Counts, counts


@dataclass(frozen=True)
class HomeSummary:
    counts: Counts
    photos_pending: int
    last_success_at: datetime | None
    last_error: str | None


def home_summary(
    store: Store, *, now: datetime, last_success_at: datetime | None, last_error: str | None
) -> HomeSummary:
    return HomeSummary(
        counts=counts(store, now=now),
        photos_pending=store.queue_stats(now=now).photos_pending,
        last_success_at=last_success_at,
        last_error=last_error,
    )


PHASES = {
    "pull": N_("Receiving changes from the server…"),
    "push": N_("Sending reports…"),
    "photos": N_("Sending photos…"),
    "done": N_("Sync finished"),
    "failed": N_("Sync failed"),
    "waiting": N_("Offline: reports wait on the tablet"),
}


@dataclass(frozen=True)
class ProgressView:
    """A SyncProgress as the progress bars and their captions show it."""

    running: bool
    ops_fraction: float  # 0..1
    bytes_fraction: float  # 0..1
    ops_done: int
    ops_total: int
    bytes_done: int
    bytes_total: int
    phase: Message
    detail: str  # the engine's message (English, technical): shown small, for support

    @property
    def fraction(self) -> float:
        """One number for one bar: operations first, then photo bytes (half each)."""
        if self.bytes_total == 0:
            return self.ops_fraction if self.ops_total else (0.0 if self.running else 1.0)
        if self.ops_total == 0:
            return self.bytes_fraction
        return (self.ops_fraction + self.bytes_fraction) / 2


def _ratio(done: int, total: int) -> float:
    return 0.0 if total <= 0 else max(0.0, min(1.0, done / total))


def progress_view(progress: SyncProgress) -> ProgressView:
    running = progress.phase in ("pull", "push", "photos")
    level = {"failed": "error", "waiting": "warning", "done": "success"}.get(progress.phase, "info")
    return ProgressView(
        running=running,
        ops_fraction=_ratio(progress.ops_done, progress.ops_total),
        bytes_fraction=_ratio(progress.bytes_done, progress.bytes_total),
        ops_done=progress.ops_done,
        ops_total=progress.ops_total,
        bytes_done=progress.bytes_done,
        bytes_total=progress.bytes_total,
        phase=Message(PHASES.get(progress.phase, PHASES["push"]), level=level),
        detail=progress.message,
    )


__all__ = ["PHASES", "HomeSummary", "ProgressView", "home_summary", "progress_view"]
