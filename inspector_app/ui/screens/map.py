"""Map: my reports and my tasks as coloured markers (kivy_garden.mapview).

Tiles come from the cache under the data directory and are downloaded only when allowed
and online; without them the markers stand on a blank grid (map_support). Tapping a
marker shows what it is, with a button to open it.
"""

from __future__ import annotations

from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.properties import StringProperty
from kivy.uix.boxlayout import BoxLayout

from inspector_app.platform.base import LocationFix
from inspector_app.ui.background import on_ui_thread
from inspector_app.ui.i18n import tr
from inspector_app.ui.screens.base import WhistleScreen
from inspector_app.ui.screens.map_support import DotMarker, downloads_disabled_by_env, make_map
from inspector_app.ui.screens.work_common import colour, load_rules, reader_for
from inspector_app.viewmodels.categories import category_index, load_categories
from inspector_app.viewmodels.locale import N_
from inspector_app.viewmodels.map_layer import (
    MARKER_GROUPS,
    Marker,
    centre_of,
    markers,
    zoom_for,
)
from inspector_app.viewmodels.report_list import ReportList, ReportRow
from inspector_app.viewmodels.screen_words import (
    CASE_STATUS_WORDS,
    SYNC_STATE_WORDS,
    bilingual,
    format_time,
    labelled,
    word,
)
from inspector_app.viewmodels.task_list import TaskRow, load_tasks
from inspector_app.viewmodels.work_config import WorkConfig, load_work_config

LEGEND: list[tuple[str, str]] = list(MARKER_GROUPS.values())

load_rules()


class LegendDot(BoxLayout):  # type: ignore[misc]
    dot = StringProperty("#000000")
    text = StringProperty("")


class MapScreen(WhistleScreen):
    title = N_("Map")
    info_text = StringProperty("")
    offline_note = StringProperty("")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.view: Any = None
        self.config = WorkConfig()
        self.shown: list[Marker] = []
        self.marker_widgets: list[DotMarker] = []
        self._reports: dict[str, ReportRow] = {}
        self._tasks: dict[str, TaskRow] = {}
        self._selected: Marker | None = None
        self._me: LocationFix | None = None
        self._gps_running = False
        self._model: ReportList | None = None

    # ------------------------------------------------------------ show / hide

    def _language_changed(self, *_args: Any) -> None:
        """Bound while shown (a hidden screen redraws in on_show anyway)."""
        if self.manager is None or App.get_running_app() is not self._shown_by:
            tr.unbind(lang=self._language_changed)  # left without on_hide: the app stopped
            return
        self._relabel()

    def on_show(
        self, focus_task: str | None = None, focus_report: str | None = None, **_params: Any
    ) -> None:
        tr.bind(lang=self._language_changed)
        self._shown_by = self.app
        ctx = self.ctx
        self.config = load_work_config(ctx.store)
        if self.view is None:
            self.view = make_map(
                cache_dir=ctx.data_dir / "tiles",
                may_download=self._may_download,
                lat=centre_of([])[0],
                lon=centre_of([])[1],
                zoom=16,
            )
            self.view.size_hint = (1, 1)
            self.view.pos_hint = {"x": 0, "y": 0}
            self.ids.holder.add_widget(self.view, index=len(self.ids.holder.children))
        self._load_markers()
        self._relabel()
        self.clear_selection()
        focus = self._focus(focus_task, focus_report)
        if focus is not None:
            self.select(focus)
        # centre once the map has its size (centring uses it): after this frame's layout
        Clock.schedule_once(lambda _dt: self._centre(focus), 0.05)
        self._start_gps()

    def on_hide(self) -> None:
        tr.unbind(lang=self._language_changed)
        self._stop_gps()

    def _may_download(self) -> bool:
        return self.config.map_downloads and self.app.online

    # ------------------------------------------------------------ markers
    def _load_markers(self) -> None:
        ctx = self.ctx
        reader = reader_for(ctx.store.path)
        if self._model is None:
            self._model = ReportList(reader=reader, photos_root=ctx.photos_dir)
        rows = self._model.load()
        tasks = load_tasks(reader)
        self._reports = {r.id: r for r in rows}
        self._tasks = {t.id: t for t in tasks}
        for widget in self.marker_widgets:
            self.view.remove_marker(widget)
        self.marker_widgets = []
        self.shown = markers(rows, tasks, now=ctx.clock())
        for marker in self.shown:
            widget = DotMarker(
                lat=marker.lat,
                lon=marker.lon,
                fill=colour(marker.colour),
                ref=marker.ref,
                kind=marker.kind,
            )
            widget.bind(on_release=lambda w: self._tapped(w.kind, w.ref))
            self.view.add_marker(widget)
            self.marker_widgets.append(widget)

    def _focus(self, task_id: str | None, report_id: str | None) -> Marker | None:
        for marker in self.shown:
            if (marker.kind, marker.ref) in (("task", task_id), ("report", report_id)):
                return marker
        return None

    def _centre(self, focus: Marker | None) -> None:
        if focus is None:
            self.fit_all()
            return
        self.view.zoom = 18
        self.view.center_on(focus.lat, focus.lon)

    def fit_all(self) -> None:
        points = [(m.lat, m.lon) for m in self.shown]
        if self._me is not None:
            points.append((self._me.lat, self._me.lon))
        lat, lon = centre_of(points)
        self.view.zoom = zoom_for(points)
        self.view.center_on(lat, lon)

    def centre_on_me(self) -> None:
        if self._me is None:
            self.info_text = tr._("No GPS fix yet.")
            self._selected = None
            return
        self.view.zoom = 18
        self.view.center_on(self._me.lat, self._me.lon)

    # ------------------------------------------------------------ selection
    def _tapped(self, kind: str, ref: str) -> None:
        marker = next((m for m in self.shown if m.kind == kind and m.ref == ref), None)
        if marker is not None:
            self.select(marker)

    def select(self, marker: Marker) -> None:
        self._selected = marker
        self.info_text = self._describe(marker)

    def clear_selection(self) -> None:
        self._selected = None
        self.info_text = ""

    def open_selected(self) -> None:
        marker = self._selected
        if marker is None:
            return
        if marker.kind == "task":
            self.app.show("task_detail", task_id=marker.ref)
        elif self._reports.get(marker.ref) and self._reports[marker.ref].sync == "draft":
            self.app.show("new_report", report_id=marker.ref)
        else:
            self.app.show("report_detail", report_id=marker.ref)

    def _describe(self, marker: Marker) -> str:
        gettext, lang = tr._, tr.lang
        tiles = category_index(load_categories(reader_for(self.ctx.store.path)))
        if marker.kind == "task":
            task = self._tasks.get(marker.ref)
            if task is None:
                return ""
            view = task.view(gettext, lang, tiles, now=self.ctx.clock())
            return f"{view['title']}\n{view['kind_text']} · {view['due_text']}"
        row = self._reports.get(marker.ref)
        if row is None:
            return ""
        tile = tiles.get(row.category or "")
        title = bilingual(tile.name_zh, tile.name_en, lang)[0] if tile else gettext(N_("Report"))
        state = (
            word(CASE_STATUS_WORDS, row.case_status, gettext)
            if row.case_status
            else word(SYNC_STATE_WORDS, row.sync, gettext)
        )
        when = format_time(row.observed_at, lang)
        return f"{title}\n{when} · {labelled(gettext(N_('State')), state, gettext)}"

    def _relabel(self) -> None:
        legend = self.ids.legend
        legend.clear_widgets()
        for dot, msgid in LEGEND:
            legend.add_widget(LegendDot(dot=dot, text=tr._(msgid)))
        if downloads_disabled_by_env() or not self._may_download():
            self.offline_note = tr._("Map tiles are not downloaded: saved tiles or a grid.")
        else:
            self.offline_note = ""
        if self._selected is not None:
            self.info_text = self._describe(self._selected)

    # ------------------------------------------------------------ my position
    def _start_gps(self) -> None:
        location = self.ctx.platform.location
        if self._gps_running or not location.available:
            return
        self._gps_running = True
        location.start(lambda fix: on_ui_thread(self._on_fix, fix), lambda _e: None)

    def _stop_gps(self) -> None:
        if self._gps_running:
            self._gps_running = False
            self.ctx.platform.location.stop()

    def _on_fix(self, fix: LocationFix) -> None:
        self._me = fix


SCREEN = MapScreen

__all__ = ["SCREEN", "MapScreen"]
