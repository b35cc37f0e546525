"""One report: its photos (full screen on a tap), its place on the map and its timeline.

The timeline shows what the tablet knows at once; when the server can be reached the
case's own timeline (``GET /cases/{id}``) is fetched on a worker thread and replaces it.
"""

from __future__ import annotations

from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.properties import BooleanProperty, ColorProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

from inspector_app.ui import theme
from inspector_app.ui.i18n import tr
from inspector_app.ui.screens.base import WhistleScreen
from inspector_app.ui.screens.map_support import DotMarker, make_map
from inspector_app.ui.screens.work_common import (
    PhotoThumb,
    PhotoViewer,
    colour,
    load_rules,
    reader_for,
)
from inspector_app.viewmodels.categories import shipped_category
from inspector_app.viewmodels.locale import N_
from inspector_app.viewmodels.messages import Message
from inspector_app.viewmodels.report_detail import ReportDetail
from inspector_app.viewmodels.screen_words import (
    CASE_STATUS_COLOURS,
    CASE_STATUS_WORDS,
    SEVERITY_WORDS,
    SOURCE_WORDS,
    SYNC_STATE_COLOURS,
    SYNC_STATE_WORDS,
    bilingual,
    format_distance,
    format_time,
    labelled,
    word,
)
from inspector_app.viewmodels.work_config import load_work_config

load_rules()


class TimelineRow(BoxLayout):  # type: ignore[misc]
    when = StringProperty("")
    what = StringProperty("")
    note = StringProperty("")


class ReportDetailScreen(WhistleScreen):
    title = N_("Report")

    heading = StringProperty("")
    subheading = StringProperty("")
    group_colour = ColorProperty(theme.BORDER)
    sync_text = StringProperty("")
    sync_colour = StringProperty("#000000")
    case_text = StringProperty("")
    case_colour = StringProperty("#000000")
    facts = StringProperty("")
    place_text = StringProperty("")
    has_location = BooleanProperty(False)
    timeline_note = StringProperty("")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.detail: ReportDetail | None = None
        self._map: Any = None

    def _language_changed(self, *_args: Any) -> None:
        """Bound while shown (a hidden screen redraws in on_show anyway)."""
        if self.manager is None or App.get_running_app() is not self._shown_by:
            tr.unbind(lang=self._language_changed)  # left without on_hide: the app stopped
            return
        self._draw()

    def on_show(self, report_id: str = "", **_params: Any) -> None:
        tr.bind(lang=self._language_changed)
        self._shown_by = self.app
        ctx = self.ctx
        try:
            self.detail = ReportDetail(
                capture=ctx.capture, reader=reader_for(ctx.store.path), report_id=report_id
            )
        except LookupError:
            self.app.notify(Message(N_("This report is no longer on the tablet.")))
            self.app.back()
            return
        self.timeline_note = ""
        self._draw()
        self._draw_map()
        self._fetch_server_timeline()

    # ------------------------------------------------------------ drawing
    def _draw(self) -> None:
        detail = self.detail
        if detail is None:
            return
        report = detail.report
        lang, gettext = tr.lang, tr._
        tile = shipped_category(report.category)
        if tile is not None:
            self.heading, self.subheading = bilingual(tile.name_zh, tile.name_en, lang)
            self.group_colour = colour(tile.colour)
        else:
            self.heading, self.subheading = gettext(N_("No category yet")), ""
        sync = detail.sync_state()
        text = word(SYNC_STATE_WORDS, sync, gettext)
        if sync == "rejected":
            reason = report.reject_message or report.reject_code or ""
            text = labelled(text, reason, gettext) if reason else text
        self.sync_text = text
        self.sync_colour = SYNC_STATE_COLOURS[sync]
        self.case_text = (
            labelled(
                gettext(N_("Case")), word(CASE_STATUS_WORDS, report.case_status, gettext), gettext
            )
            if report.case_status
            else ""
        )
        self.case_colour = CASE_STATUS_COLOURS.get(report.case_status or "", "#3A434E")
        facts = [
            labelled(
                gettext(N_("Severity")), word(SEVERITY_WORDS, report.severity, gettext), gettext
            ),
            labelled(gettext(N_("Found")), format_time(report.observed_at, lang), gettext),
        ]
        if report.address:
            facts.append(labelled(gettext(N_("Address")), report.address, gettext))
        if report.grid:
            facts.append(labelled(gettext(N_("Area")), detail.area_name(lang), gettext))
        if report.description:
            facts.append(labelled(gettext(N_("Description")), report.description, gettext))
        self.facts = "\n".join(facts)
        if report.lat is not None and report.lon is not None:
            source = gettext(SOURCE_WORDS.get(report.location_source or "", "GPS"))
            accuracy = format_distance(report.accuracy_m or 0, lang)
            self.place_text = f"{report.lat:.5f}, {report.lon:.5f}  ±{accuracy}  ({source})"
        else:
            self.place_text = gettext(N_("No location."))
        self._draw_photos()
        self._draw_timeline()

    def _draw_photos(self) -> None:
        detail = self.detail
        assert detail is not None  # noqa: S101
        box = self.ids.photos
        box.clear_widgets()
        photos = detail.photos()
        for index, photo in enumerate(photos):
            thumb = PhotoThumb(
                source=str(photo.thumb or photo.path),
                ref=str(index),
                caption=tr._("Processing…"),
                deletable=False,
            )
            thumb.bind(on_open=lambda t: self.open_photos(int(t.ref)))
            box.add_widget(thumb)

    def open_photos(self, start: int) -> None:
        if self.detail is None:
            return
        sources = [str(p.path) for p in self.detail.photos()]
        if sources:
            PhotoViewer(sources=sources, start=start).open()

    def _draw_map(self) -> None:
        detail = self.detail
        holder = self.ids.map_holder
        holder.clear_widgets()
        self._map = None
        location = detail.location if detail is not None else None
        self.has_location = location is not None
        if location is None:
            return
        config = load_work_config(self.ctx.store)
        view = make_map(
            cache_dir=self.ctx.data_dir / "tiles",
            may_download=lambda: config.map_downloads and self.app.online,
            lat=location[0],
            lon=location[1],
            zoom=17,
        )
        view.size_hint = (1, 1)
        view.pos_hint = {"x": 0, "y": 0}
        holder.add_widget(view)
        assert detail is not None  # noqa: S101
        sync = detail.sync_state()
        fill = CASE_STATUS_COLOURS.get(detail.report.case_status or "", SYNC_STATE_COLOURS[sync])
        view.add_marker(DotMarker(lat=location[0], lon=location[1], fill=colour(fill)))
        self._map = view
        # centre once the map has its size (centring uses it)
        Clock.schedule_once(lambda _dt: view.center_on(location[0], location[1]), 0.05)

    def _draw_timeline(self) -> None:
        detail = self.detail
        assert detail is not None  # noqa: S101
        box = self.ids.timeline
        box.clear_widgets()
        for entry in detail.timeline():
            note = " · ".join(part for part in (entry.actor, entry.note) if part)
            box.add_widget(
                TimelineRow(when=format_time(entry.at, tr.lang), what=entry.text(tr._), note=note)
            )

    # ------------------------------------------------------------ the server's timeline
    def _fetch_server_timeline(self) -> None:
        detail = self.detail
        client = self.ctx.client
        if detail is None or detail.report.case_id is None:
            return
        if client is None or not client.signed_in or not self.app.online:
            self.timeline_note = tr._("Offline: the timeline shows what this tablet knows.")
            return
        case_id = detail.report.case_id

        def work() -> dict[str, Any]:
            response = client.request("GET", f"/cases/{case_id}")
            body = response.json()
            if not isinstance(body, dict):
                raise ValueError("the server sent no case")
            return body

        def done(case: dict[str, Any]) -> None:
            if self.detail is detail:
                detail.apply_server_case(case)
                self.timeline_note = ""
                self._draw_timeline()

        def failed(_exc: Exception) -> None:
            if self.detail is detail:
                self.timeline_note = tr._(
                    "The server's timeline could not be loaded: showing what this tablet knows."
                )

        self.app.run_async(work, done, failed, name="case-timeline")

    def on_hide(self) -> None:
        tr.unbind(lang=self._language_changed)


SCREEN = ReportDetailScreen

__all__ = ["SCREEN", "ReportDetailScreen"]
