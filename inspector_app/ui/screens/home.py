"""Home: what waits, what failed, the tasks due, the last sync; a big "report a hazard"
button; "sync now" with progress bars for operations and photo bytes."""

from __future__ import annotations

from typing import Any

from kivy.properties import BooleanProperty, NumericProperty, StringProperty

from inspector_app.ui.i18n import tr
from inspector_app.ui.screens.base import WhistleScreen
from inspector_app.viewmodels.home import HomeSummary, ProgressView
from inspector_app.viewmodels.locale import N_


class HomeScreen(WhistleScreen):
    title = N_("Home")
    show_back = False

    waiting = NumericProperty(0)
    failed = NumericProperty(0)
    drafts = NumericProperty(0)
    tasks_open = NumericProperty(0)
    tasks_overdue = NumericProperty(0)
    photos_pending = NumericProperty(0)
    last_sync_text = StringProperty("")
    last_error_text = StringProperty("")
    progress_visible = BooleanProperty(False)
    ops_fraction = NumericProperty(0.0)
    bytes_fraction = NumericProperty(0.0)
    progress_text = StringProperty("")
    progress_level = StringProperty("info")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._summary: HomeSummary | None = None
        self._progress: ProgressView | None = None
        self.app.bind(data_version=self._data_changed, sync_progress=self._progress_changed)
        self.follow_language(self._relabel)

    def on_show(self, **params: Any) -> None:
        self.refresh()

    def _data_changed(self, *_args: Any) -> None:
        if self.manager is not None and self.manager.current == self.name:
            self.refresh()

    def refresh(self) -> None:
        summary = self.ctx.summary()
        self._summary = summary
        c = summary.counts
        self.waiting = c.waiting
        self.failed = c.failed
        self.drafts = c.drafts
        self.tasks_open = c.tasks_open
        self.tasks_overdue = c.tasks_overdue
        self.photos_pending = summary.photos_pending
        self._relabel()

    def _progress_changed(self, _app: Any, view: ProgressView | None) -> None:
        self._progress = view
        self.progress_visible = view is not None
        if view is not None:
            self.ops_fraction = view.ops_fraction if view.ops_total else float(not view.running)
            self.bytes_fraction = (
                view.bytes_fraction if view.bytes_total else float(not view.running)
            )
            self.progress_level = view.phase.level
        self._relabel()

    def _relabel(self, *_args: Any) -> None:
        summary = self._summary
        if summary is not None:
            if summary.last_success_at is None:
                self.last_sync_text = tr._("Not synced yet")
            else:
                when = tr.fmt_ago(summary.last_success_at, now=self.ctx.clock())
                self.last_sync_text = tr._("Last successful sync: {when}").format(when=when)
            self.last_error_text = (
                tr._("Last problem: {error}").format(error=summary.last_error)
                if summary.last_error
                else ""
            )
        view = self._progress
        if view is None:
            self.progress_text = ""
            return
        parts = [view.phase.text(tr._)]
        if view.ops_total:
            parts.append(
                tr._("{done} of {total} reports and results sent").format(
                    done=tr.fmt_number(view.ops_done), total=tr.fmt_number(view.ops_total)
                )
            )
        if view.bytes_total:
            parts.append(
                tr._("photos {done} of {total}").format(
                    done=tr.fmt_size(view.bytes_done), total=tr.fmt_size(view.bytes_total)
                )
            )
        self.progress_text = " · ".join(parts)


SCREEN = HomeScreen
