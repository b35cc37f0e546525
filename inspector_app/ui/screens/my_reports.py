"""My reports: every report on the tablet, newest first, with sync and case state.

A RecycleView draws only the rows on screen (a few dozen widgets for thousands of
reports). The rows are read and turned into plain dicts on a worker thread; the filter
toggles show how many reports each state has.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kivy.app import App
from kivy.factory import Factory
from kivy.properties import StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.recycleview.views import RecycleDataViewBehavior

from inspector_app.ui.i18n import tr
from inspector_app.ui.screens.base import WhistleScreen
from inspector_app.ui.screens.work_common import load_rules, reader_for
from inspector_app.viewmodels.locale import N_
from inspector_app.viewmodels.messages import Message
from inspector_app.viewmodels.report_list import FILTERS, ReportList, ReportRow

FILTER_WORDS = {
    "all": N_("All"),
    "draft": N_("Drafts"),
    "waiting": N_("Waiting"),
    "syncing": N_("Syncing"),
    "synced": N_("Synced"),
    "rejected": N_("Failed"),
}
EMPTY_WORDS = {
    "all": N_("No reports on this tablet yet. Tap New report on the home screen."),
    "draft": N_("No drafts."),
    "waiting": N_("Nothing waits to be sent."),
    "syncing": N_("Nothing is being sent right now."),
    "synced": N_("No synced reports yet."),
    "rejected": N_("No report was refused by the server."),
}

load_rules()


class ReportRowView(RecycleDataViewBehavior, ButtonBehavior, BoxLayout):  # type: ignore[misc]
    """One row of the list (reused by the RecycleView as it scrolls)."""

    report_id = StringProperty("")
    title = StringProperty("")
    subtitle = StringProperty("")
    group_colour = StringProperty("")
    time_text = StringProperty("")
    address = StringProperty("")
    sync = StringProperty("")
    sync_text = StringProperty("")
    sync_colour = StringProperty("")
    case_text = StringProperty("")
    case_colour = StringProperty("")
    thumb = StringProperty("")

    def on_release(self) -> None:
        screen = self.parent
        while screen is not None and not isinstance(screen, MyReportsScreen):
            screen = screen.parent
        if screen is not None:
            screen.open_report(self.report_id, self.sync)


class MyReportsScreen(WhistleScreen):
    title = N_("My reports")
    empty_text = StringProperty("")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.filter = "all"
        self.rows: list[ReportRow] = []
        self.counts: dict[str, int] = dict.fromkeys(FILTERS, 0)
        self._toggles: dict[str, Any] = {}
        self._loading = False
        self._again = False
        self._visible = False
        self._model: ReportList | None = None
        for state in FILTERS:
            toggle = Factory.FilterToggle(group=f"reports-filter-{id(self)}")
            toggle.bind(on_release=lambda t, s=state: self.set_filter(s))
            self._toggles[state] = toggle
            self.ids.filters.add_widget(toggle)

    # ------------------------------------------------------------ show / hide

    def _language_changed(self, *_args: Any) -> None:
        """Bound while shown (a hidden screen redraws in on_show anyway)."""
        if self.manager is None or App.get_running_app() is not self._shown_by:
            tr.unbind(lang=self._language_changed)  # left without on_hide: the app stopped
            return
        self._relabel_and_reload()

    def on_show(self, filter: str | None = None, **_params: Any) -> None:
        tr.bind(lang=self._language_changed)
        self._shown_by = self.app
        if filter in FILTERS:
            self.filter = filter
        self._visible = True
        self.app.bind(data_version=self._data_changed)
        self._label_filters()
        self.reload()

    def on_hide(self) -> None:
        tr.unbind(lang=self._language_changed)
        self._visible = False
        self.app.unbind(data_version=self._data_changed)

    def _data_changed(self, *_args: Any) -> None:
        if self._visible:
            self.reload()

    # ------------------------------------------------------------ loading
    def reload(self) -> None:
        """Read the list again on a worker thread (one query), then show it."""
        if self._loading:
            self._again = True
            return
        self._loading = True
        ctx = self.ctx
        if self._model is None:
            self._model = ReportList(reader=reader_for(ctx.store.path), photos_root=ctx.photos_dir)
        model = self._model
        lang, gettext, now = tr.lang, tr._, ctx.clock()

        def work() -> tuple[list[ReportRow], dict[str, int], list[dict[str, Any]]]:
            rows = model.load()
            shown = model.filtered(rows, self.filter)
            return rows, model.counts(rows), model.views(shown, gettext, lang, now=now)

        self.app.run_async(work, self._loaded, self._failed, name="load-reports")

    def _loaded(self, result: tuple[list[ReportRow], dict[str, int], list[dict[str, Any]]]) -> None:
        self._loading = False
        self.rows, self.counts, views = result
        self.ids.rv.data = views
        self._label_filters()
        self.empty_text = "" if views else tr._(EMPTY_WORDS[self.filter])
        if self._again:
            self._again = False
            self.reload()

    def _failed(self, exc: Exception) -> None:
        self._loading = False
        self.app.notify(Message(N_("Could not read the reports: {reason}"), {"reason": str(exc)}))

    def show_rows(self, now: datetime | None = None) -> None:
        """Redraw from the rows already read (a filter change needs no query)."""
        if self._model is None:
            return
        shown = self._model.filtered(self.rows, self.filter)
        self.ids.rv.data = self._model.views(shown, tr._, tr.lang, now=now or self.ctx.clock())
        self.empty_text = "" if shown else tr._(EMPTY_WORDS[self.filter])

    # ------------------------------------------------------------ filters
    def set_filter(self, state: str) -> None:
        if state not in FILTERS:
            raise ValueError(f"unknown filter {state!r}")
        self.filter = state
        self._label_filters()
        self.show_rows()
        self.ids.rv.scroll_y = 1

    def _label_filters(self) -> None:
        for state, toggle in self._toggles.items():
            toggle.text = f"{tr._(FILTER_WORDS[state])} {self.counts.get(state, 0)}"
            toggle.state = "down" if state == self.filter else "normal"

    def _relabel_and_reload(self) -> None:
        self._label_filters()
        if self._visible:
            self.show_rows()

    # ------------------------------------------------------------ open
    def open_report(self, report_id: str, sync: str) -> None:
        if sync == "draft":
            self.app.show("new_report", report_id=report_id)
        else:
            self.app.show("report_detail", report_id=report_id)


SCREEN = MyReportsScreen

__all__ = ["SCREEN", "MyReportsScreen", "ReportRowView"]
