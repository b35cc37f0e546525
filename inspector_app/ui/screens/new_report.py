"""New report (上报隐患): category, severity, photos, location, place, description, Save.

All state lives in :class:`~inspector_app.viewmodels.report_form.ReportForm` (a draft in
the store, written field by field); this screen only draws it. Photos are copied into
the app on a worker thread (the copy is fsynced) and processed by the photo worker; the
strip shows "processing" until the thumbnail exists. GPS fixes arrive from the platform
adapter on its own thread and hop to the UI thread. Save submits (one transaction) and
goes home at once; sync is asked to run soon.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.clock import Clock, ClockEvent
from kivy.metrics import dp
from kivy.properties import (
    BooleanProperty,
    ColorProperty,
    ListProperty,
    NumericProperty,
    StringProperty,
)
from kivy.uix.gridlayout import GridLayout
from kivy.uix.modalview import ModalView
from kivy.uix.widget import Widget

from inspector_app.core.capture import CaptureError
from inspector_app.core.files import StorageFullError, remove_quietly
from inspector_app.core.photos import ImageRejected
from inspector_app.platform.base import LocationFix
from inspector_app.ui import theme
from inspector_app.ui.background import on_ui_thread
from inspector_app.ui.i18n import tr
from inspector_app.ui.screens.base import WhistleScreen
from inspector_app.ui.screens.map_support import make_map
from inspector_app.ui.screens.work_common import (
    Debounce,
    PhotoThumb,
    PhotoViewer,
    SectionTitle,
    TapCard,
    colour,
    load_rules,
    reader_for,
    to_fix,
)
from inspector_app.ui.widgets import ConfirmDialog
from inspector_app.viewmodels.area_choices import AreaChoice
from inspector_app.viewmodels.categories import CategoryTile, quick_phrases
from inspector_app.viewmodels.locale import N_
from inspector_app.viewmodels.map_layer import DEFAULT_CENTRE, metres_per_pixel
from inspector_app.viewmodels.messages import Message
from inspector_app.viewmodels.report_form import ReportForm
from inspector_app.viewmodels.screen_words import (
    MISSING_WORDS,
    SEVERITY_WORDS,
    SOURCE_WORDS,
    bilingual,
    format_distance,
)
from inspector_app.viewmodels.work_config import WorkConfig, load_work_config

log = logging.getLogger(__name__)

SEVERITY_OPTIONS = [(code, SEVERITY_WORDS[code]) for code in ("minor", "general", "major")]
TILE_MIN_WIDTH = 230  # dp: the category grid has as many columns as fit (2 to 4)

load_rules()


def tint(rgba: Any, amount: float = 0.25) -> tuple[float, float, float, float]:
    """A light tint of a colour (dark text stays readable on it)."""
    r, g, b = rgba[0], rgba[1], rgba[2]
    return (1 - amount * (1 - r), 1 - amount * (1 - g), 1 - amount * (1 - b), 1.0)


class CategoryTileButton(TapCard):
    primary = StringProperty("")
    secondary = StringProperty("")
    code = StringProperty("")
    need_height = NumericProperty(0)  # what its text needs
    row_height = NumericProperty(0)  # the tallest tile of its group: rows line up


class CategoryGrid(GridLayout):  # type: ignore[misc]
    """The tiles of one group; the tiles of a row are as tall as its tallest (rows line up)."""

    def add_widget(self, widget: Any, *args: Any, **kwargs: Any) -> None:
        super().add_widget(widget, *args, **kwargs)
        widget.bind(need_height=self._even_out)

    def on_cols(self, *_args: Any) -> None:
        self._even_out()

    def _even_out(self, *_args: Any) -> None:
        tiles = list(reversed(self.children))  # display order
        cols = max(1, int(self.cols or 1))
        for start in range(0, len(tiles), cols):
            row = tiles[start : start + cols]
            tallest = max(tile.need_height for tile in row)
            for tile in row:
                tile.row_height = tallest


class PinMap(ModalView):  # type: ignore[misc]
    """Pick a place by moving the map under a fixed cross."""

    def __init__(
        self,
        *,
        cache_dir: Path,
        may_download: Any,
        lat: float,
        lon: float,
        on_pick: Any,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._on_pick = on_pick
        self.map = make_map(
            cache_dir=cache_dir, may_download=may_download, lat=lat, lon=lon, zoom=18
        )
        holder = self.ids.holder
        holder.add_widget(self.map)
        self.map.size_hint = (1, 1)
        self.map.pos_hint = {"x": 0, "y": 0}
        cross = _Cross(size_hint=(None, None), size=(dp(48), dp(48)))
        cross.pos_hint = {"center_x": 0.5, "center_y": 0.5}
        holder.add_widget(cross)

    def use_place(self) -> None:
        view = self.map
        point = view.get_latlon_at(view.width / 2, view.height / 2)
        accuracy = max(3.0, metres_per_pixel(point.lat, int(view.zoom)) * dp(24))
        self.dismiss()
        self._on_pick(point.lat, point.lon, accuracy)


class _Cross(Widget):  # type: ignore[misc]
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bind(pos=self._draw, size=self._draw)

    def _draw(self, *_args: Any) -> None:
        from kivy.graphics import Color, Line

        self.canvas.clear()
        with self.canvas:
            Color(*theme.DANGER)
            Line(points=[self.x, self.center_y, self.right, self.center_y], width=dp(2))
            Line(points=[self.center_x, self.y, self.center_x, self.top], width=dp(2))
            Line(circle=(self.center_x, self.center_y, dp(10)), width=dp(2))


class NewReportScreen(WhistleScreen):
    title = N_("New report")

    category_chosen = BooleanProperty(False)
    grid_open = BooleanProperty(True)
    category_primary = StringProperty("")
    category_secondary = StringProperty("")
    category_colour = ColorProperty(theme.PRIMARY)
    photo_count_text = StringProperty("")
    can_add_photo = BooleanProperty(True)
    busy_photos = BooleanProperty(False)
    location_text = StringProperty("")
    location_state = StringProperty("waiting")
    can_use_anyway = BooleanProperty(False)
    area_text = StringProperty("")
    area_labels = ListProperty([])
    has_draft = BooleanProperty(False)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.form: ReportForm | None = None
        self.config = WorkConfig()
        self._tiles: list[CategoryTileButton] = []
        self._built_for: tuple[Any, ...] = ()
        self._area_by_label: dict[str, AreaChoice] = {}
        self._updating = False
        self._gps_running = False
        self._gps_error = ""
        self._ticker: ClockEvent | None = None
        self._shown_photos: tuple[tuple[str, bool], ...] = ()
        self._text_saver = Debounce(self._save_texts)
        self.ids.severity.options = SEVERITY_OPTIONS
        self.ids.category_grid.bind(width=self._grid_columns)

    # ------------------------------------------------------------ show / hide

    def _language_changed(self, *_args: Any) -> None:
        """Bound while shown (a hidden screen redraws in on_show anyway)."""
        if self.manager is None or App.get_running_app() is not self._shown_by:
            tr.unbind(lang=self._language_changed)  # left without on_hide: the app stopped
            return
        self._relabel()

    def on_show(self, report_id: str | None = None, **_params: Any) -> None:
        tr.bind(lang=self._language_changed)
        self._shown_by = self.app
        ctx = self.ctx
        self.config = load_work_config(ctx.store)
        account = ctx.account
        self.form = ReportForm(
            capture=ctx.capture,
            reader=reader_for(ctx.store.path),
            account_areas=account.areas if account is not None else [],
            max_photos=self.config.max_photos,
            target_accuracy_m=self.config.gps_accuracy_m,
            gps_patience_s=self.config.gps_patience_s,
        )
        resumed = self.form.open(report_id)
        self._gps_error = ""
        self.ids.problems.text = ""
        self.ids.resumed_note.text = (
            tr._("Your unfinished report was kept as a draft: continue where you stopped.")
            if resumed
            else ""
        )
        self._build_categories()
        self._fill_from_form()
        self.ids.scroll.scroll_y = 1
        if self.form.tracker.chosen is None:
            self._start_gps()
        self._ticker = Clock.schedule_interval(self._tick, 0.5)
        self.app.bind(on_pause=self._flush, on_stop=self._flush)

    def _flush(self, *_args: Any) -> None:
        """The app is paused or closed: what was typed is written now."""
        self._text_saver.flush()

    def on_hide(self) -> None:
        tr.unbind(lang=self._language_changed)
        self.app.unbind(on_pause=self._flush, on_stop=self._flush)
        self._text_saver.flush()
        self._stop_gps()
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None

    def on_back(self) -> bool:
        self._text_saver.flush()
        if self.form is not None and self.form.report_id is not None:
            self.app.notify(Message(N_("Kept as a draft."), level="info"))
            self.app.data_changed()
        return False

    # ------------------------------------------------------------ drawing
    def _fill_from_form(self) -> None:
        form = self._require_form()
        self._updating = True
        try:
            self.ids.description.text = form.description
            self.ids.building.text = form.building
            self.ids.address.text = form.address
            self.ids.severity.value = form.severity
            self._show_category()
            self._show_areas()
            self._show_phrases()
            self._show_photos(force=True)
            self._show_location()
            self.has_draft = form.report_id is not None
        finally:
            self._updating = False

    def _relabel(self) -> None:
        if self.form is None:
            return
        self._build_categories()
        self._updating = True
        try:
            self._show_category()
            self._show_areas()
        finally:
            self._updating = False
        self._show_phrases()
        self._show_photos(force=True)
        self._show_location()

    def _build_categories(self) -> None:
        form = self._require_form()
        key = (
            tr.lang,
            tuple(t.code + t.name_zh + t.name_en for g in form.groups for t in g.categories),
        )
        if key == self._built_for:
            return  # the same tiles as last time: keep them (building them is slow)
        self._built_for = key
        box = self.ids.category_grid
        box.clear_widgets()
        self._tiles = []
        lang = tr.lang
        for group in form.groups:
            primary, secondary = bilingual(group.name_zh, group.name_en, lang)
            box.add_widget(
                SectionTitle(text=f"{primary}  {secondary}", swatch=colour(group.colour))
            )
            grid = CategoryGrid(cols=2, spacing=dp(8), size_hint_y=None)
            grid.bind(minimum_height=grid.setter("height"))
            for tile in group.categories:
                button = self._tile_button(tile, lang)
                grid.add_widget(button)
                self._tiles.append(button)
            box.add_widget(grid)
        self._grid_columns()

    def _tile_button(self, tile: CategoryTile, lang: str) -> CategoryTileButton:
        primary, secondary = bilingual(tile.name_zh, tile.name_en, lang)
        button = CategoryTileButton(
            primary=primary, secondary=secondary, code=tile.code, accent=colour(tile.colour)
        )
        button.bind(on_release=lambda b: self.choose_category(b.code))
        return button

    def _grid_columns(self, *_args: Any) -> None:
        width = self.ids.category_grid.width
        cols = max(2, min(4, int(width // dp(TILE_MIN_WIDTH))))
        for child in self.ids.category_grid.children:
            if isinstance(child, GridLayout):
                child.cols = cols

    def _show_category(self) -> None:
        form = self._require_form()
        tile = form.tile(form.category)
        for button in self._tiles:
            chosen = tile is not None and button.code == tile.code
            # the chosen tile is tinted with its group's colour
            button.fill = tint(button.accent) if chosen else theme.SURFACE
        if tile is None:
            self.category_chosen = False
            self.grid_open = True
            return
        primary, secondary = bilingual(tile.name_zh, tile.name_en, tr.lang)
        self.category_primary, self.category_secondary = primary, secondary
        self.category_colour = colour(tile.colour)
        self.category_chosen = True
        self.grid_open = False

    def show_category_grid(self, show: bool) -> None:
        self.grid_open = show

    def _show_areas(self) -> None:
        form = self._require_form()
        lang = tr.lang
        self._area_by_label = {}
        labels = []
        for area in form.areas:
            label = area.label(lang) if area.level == "grid" else f"  {area.label(lang)}"
            self._area_by_label[label] = area
            labels.append(label)
        self.area_labels = labels
        chosen = form.area()
        if chosen is not None:
            self.area_text = next(k for k, v in self._area_by_label.items() if v is chosen)
        else:
            self.area_text = tr._("Choose…") if labels else tr._("No areas: sync first")

    def _show_phrases(self) -> None:
        from kivy.factory import Factory

        form = self._require_form()
        box = self.ids.phrases
        box.clear_widgets()
        for msgid in quick_phrases(form.category):
            text = tr._(msgid)
            button = Factory.PhraseButton(text="+ " + text)
            button.bind(on_release=lambda _b, t=text: self.add_phrase(t))
            box.add_widget(button)

    def _show_photos(self, *, force: bool = False) -> None:
        form = self._require_form()
        items = form.photos()
        state = tuple((p.photo_id, p.processed) for p in items)
        if not force and state == self._shown_photos:
            return
        self._shown_photos = state
        strip = self.ids.photo_strip
        strip.clear_widgets()
        for item in items:
            caption = tr._("Photo could not be read") if item.error else tr._("Processing…")
            thumb = PhotoThumb(
                source=str(item.thumb) if item.thumb else "", ref=item.photo_id, caption=caption
            )
            thumb.bind(on_delete=lambda t: self.confirm_remove_photo(t.ref))
            thumb.bind(on_open=lambda t: self.open_photo(t.ref))
            strip.add_widget(thumb)
        count = len(items)
        self.photo_count_text = tr._("{count} of at most {max}").format(
            count=count, max=form.max_photos
        )
        self.can_add_photo = count < form.max_photos
        self.has_draft = form.report_id is not None

    def _show_location(self) -> None:
        form = self._require_form()
        tracker = form.tracker
        self.location_state = tracker.state
        self.can_use_anyway = tracker.state == "improving"
        lang = tr.lang
        target = format_distance(tracker.target_m, lang)
        if tracker.chosen is not None:
            fix = tracker.chosen
            source = tr._(SOURCE_WORDS.get(fix.source, fix.source))
            self.location_text = tr._("Location taken: ±{accuracy} ({source}).").format(
                accuracy=format_distance(fix.accuracy_m, lang), source=source
            )
        elif self._gps_error:
            self.location_text = tr._(
                "GPS is not available ({reason}). Pick the place on the map."
            ).format(reason=tr._(self._gps_error))
        elif tracker.best is not None:
            self.location_text = tr._(
                "Improving the GPS fix: ±{accuracy} now, waiting for ±{target}."
            ).format(accuracy=format_distance(tracker.best.accuracy_m, lang), target=target)
        else:
            waited = int((self.ctx.clock() - tracker.started_at).total_seconds())
            self.location_text = tr._("Looking for GPS… ({seconds} s)").format(
                seconds=max(0, waited)
            )
        if tracker.offer_fallbacks(self.ctx.clock()) and tracker.chosen is None:
            self.location_text += "  " + tr._(
                "Taking long: use the location anyway or pick it on the map."
            )

    # ------------------------------------------------------------ periodic
    def _tick(self, _dt: float) -> None:
        if self.form is None:
            return
        if any(not processed for _pid, processed in self._shown_photos):
            self._show_photos()
        if self.form.tracker.chosen is None:
            self._show_location()

    # ------------------------------------------------------------ category and severity
    def choose_category(self, code: str) -> None:
        form = self._require_form()
        try:
            form.choose_category(code)
        except (CaptureError, StorageFullError) as exc:
            self._problem(str(exc))
            return
        self._updating = True
        try:
            self.ids.severity.value = form.severity
        finally:
            self._updating = False
        self._show_category()
        self._show_phrases()
        self.has_draft = True

    def choose_severity(self, severity: str) -> None:
        if self._updating:
            return
        try:
            self._require_form().choose_severity(severity)
        except (CaptureError, StorageFullError) as exc:
            self._problem(str(exc))
        self.has_draft = True

    # ------------------------------------------------------------ texts
    def text_changed(self) -> None:
        if not self._updating and self.form is not None:
            self._text_saver.poke()

    def _save_texts(self) -> None:
        form = self.form
        if form is None:
            return
        try:
            form.set_description(self.ids.description.text)
            form.set_building(self.ids.building.text)
            form.set_address(self.ids.address.text)
        except (CaptureError, StorageFullError) as exc:
            self._problem(str(exc))
            return
        self.has_draft = form.report_id is not None

    def add_phrase(self, phrase: str) -> None:
        self._text_saver.flush()
        form = self._require_form()
        text = form.add_phrase(phrase, lang=tr.lang)
        self._updating = True
        try:
            self.ids.description.text = text
        finally:
            self._updating = False
        self.has_draft = True

    # ------------------------------------------------------------ areas
    def area_picked(self, label: str) -> None:
        if self._updating or self.form is None:
            return
        area = self._area_by_label.get(label)
        if area is None:
            return
        try:
            self.form.choose_area(area.code)
        except (CaptureError, StorageFullError) as exc:
            self._problem(str(exc))
        self.has_draft = True

    # ------------------------------------------------------------ photos
    def _camera_dir(self) -> Path:
        path = self.ctx.data_dir / "camera"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def take_photo(self) -> None:
        camera = self.ctx.platform.camera
        camera.take_photo(
            self._camera_dir(),
            lambda paths: on_ui_thread(self._attach, paths, True),
            lambda error: on_ui_thread(self._photo_error, error),
        )

    def pick_photos(self) -> None:
        self.ctx.platform.camera.pick_photos(
            lambda paths: on_ui_thread(self._attach, paths, False),
            lambda error: on_ui_thread(self._photo_error, error),
        )

    def _photo_error(self, error: str) -> None:
        self.app.notify(Message(N_("Camera: {reason}"), {"reason": tr._(error)}, "error"))

    def _attach(self, paths: list[Path], remove_after: bool) -> None:
        form = self._require_form()
        if not paths:
            return
        room = form.max_photos - form.photo_count
        if len(paths) > room:
            self.app.notify(
                Message(
                    N_("At most {max} photos per report: only the first {count} were added."),
                    {"max": form.max_photos, "count": max(room, 0)},
                    "warning",
                )
            )
        chosen = list(paths[: max(room, 0)])
        if not chosen:
            return
        try:
            form.ensure_draft()  # on the UI thread: the form is not thread-safe
        except (CaptureError, StorageFullError) as exc:
            self._problem(str(exc))
            return
        self.busy_photos = True
        camera_dir = self._camera_dir()

        def work() -> list[str]:
            done = []
            try:
                for path in chosen:
                    done.append(form.attach_photo(path))
            finally:
                if remove_after:  # only files the camera wrote into our own directory
                    remove_quietly(*(Path(p) for p in paths if Path(p).parent == camera_dir))
            return done

        def finished(_ids: list[str]) -> None:
            self.busy_photos = False
            self._show_photos(force=True)

        def failed(exc: Exception) -> None:
            self.busy_photos = False
            self._show_photos(force=True)
            if isinstance(exc, ImageRejected):
                self._problem(tr._("{name} is not a usable photo.").format(name=exc.name))
            else:
                self._problem(str(exc))

        self.app.run_async(work, finished, failed, name="attach-photos")

    def confirm_remove_photo(self, photo_id: str) -> None:
        ConfirmDialog(
            message=tr._("Delete this photo from the report?"),
            confirm_text=tr._("Delete photo"),
            cancel_text=tr._("Keep it"),
            danger=True,
            on_confirm=lambda: self.remove_photo(photo_id),
        ).open()

    def remove_photo(self, photo_id: str) -> None:
        try:
            self._require_form().remove_photo(photo_id)
        except CaptureError as exc:
            self._problem(str(exc))
        self._show_photos(force=True)

    def open_photo(self, photo_id: str) -> None:
        form = self._require_form()
        capture = self.ctx.capture
        sources: list[str] = []
        start = 0
        for photo in capture.store.photos_of(report_id=form.report_id or ""):
            path = capture.photo_path(photo, which="processed" if photo.processed else "original")
            if photo.id == photo_id:
                start = len(sources)
            if path is not None:
                sources.append(str(path))
        if sources:
            PhotoViewer(sources=sources, start=start).open()

    # ------------------------------------------------------------ location
    def _start_gps(self) -> None:
        location = self.ctx.platform.location
        if self._gps_running:
            return
        if not location.available:
            self._gps_error = N_("no GPS on this device")
            self._show_location()
            return
        self._gps_running = True
        location.start(
            lambda fix: on_ui_thread(self._on_fix, fix),
            lambda error: on_ui_thread(self._on_gps_error, error),
        )

    def _stop_gps(self) -> None:
        if self._gps_running:
            self._gps_running = False
            self.ctx.platform.location.stop()

    def _on_fix(self, fix: LocationFix) -> None:
        form = self.form
        if form is None or not self._gps_running:
            return
        try:
            taken = form.on_fix(to_fix(fix))
        except (ValueError, CaptureError, StorageFullError) as exc:
            log.info("GPS fix refused: %s", exc)
            return
        if taken:
            self._stop_gps()
            self._updating = True
            try:
                self._show_areas()
            finally:
                self._updating = False
        self._gps_error = ""
        self.has_draft = form.report_id is not None
        self._show_location()

    def _on_gps_error(self, error: str) -> None:
        self._gps_running = False
        self._gps_error = error
        self._show_location()

    def use_anyway(self) -> None:
        try:
            self._require_form().use_anyway()
        except (LookupError, CaptureError, StorageFullError) as exc:
            self._problem(str(exc))
            return
        self._stop_gps()
        self._after_location()

    def open_pin_map(self) -> None:
        form = self._require_form()
        lat, lon = DEFAULT_CENTRE
        source = form.tracker.chosen or form.tracker.best
        area = form.area()
        if source is not None:
            lat, lon = source.lat, source.lon
        elif area is not None and area.lat is not None and area.lon is not None:
            lat, lon = area.lat, area.lon
        PinMap(
            cache_dir=self.ctx.data_dir / "tiles",
            may_download=self._may_download,
            lat=lat,
            lon=lon,
            on_pick=self._pinned,
        ).open()

    def _may_download(self) -> bool:
        return self.config.map_downloads and self.app.online

    def _pinned(self, lat: float, lon: float, accuracy_m: float) -> None:
        try:
            self._require_form().pin(lat=lat, lon=lon, accuracy_m=accuracy_m)
        except (ValueError, CaptureError, StorageFullError) as exc:
            self._problem(str(exc))
            return
        self._stop_gps()
        self._after_location()

    def _after_location(self) -> None:
        self._updating = True
        try:
            self._show_areas()
        finally:
            self._updating = False
        self.has_draft = True
        self._show_location()

    # ------------------------------------------------------------ save / discard
    def save(self) -> None:
        self._text_saver.flush()
        form = self._require_form()
        missing = form.missing()
        if missing:
            self._problem(
                tr._("Not saved yet:")
                + "\n"
                + "\n".join("• " + tr._(MISSING_WORDS[m]) for m in missing)
            )
            return
        try:
            form.save()
        except (CaptureError, StorageFullError) as exc:
            self._problem(str(exc))
            return
        self._stop_gps()
        self.app.request_sync("save")
        self.app.notify(
            Message(
                N_("Report saved. It is sent as soon as the tablet is online."), level="success"
            )
        )
        self.app.reset_to("home")

    def confirm_discard(self) -> None:
        ConfirmDialog(
            message=tr._("Delete this draft and its photos? This cannot be undone."),
            confirm_text=tr._("Delete draft"),
            cancel_text=tr._("Keep the draft"),
            danger=True,
            on_confirm=self.discard,
        ).open()

    def discard(self) -> None:
        form = self._require_form()
        try:
            form.discard()
        except CaptureError as exc:
            self._problem(str(exc))
            return
        self._stop_gps()
        self.app.data_changed()
        self.app.notify(Message(N_("Draft deleted."), level="info"))
        self.app.reset_to("home")

    # ------------------------------------------------------------ helpers
    def _problem(self, text: str) -> None:
        self.ids.problems.text = text
        # after the message box has grown to its text (next frames), bring it into view
        Clock.schedule_once(
            lambda _dt: self.ids.scroll.scroll_to(self.ids.problems, padding=dp(40)), 0.05
        )

    def _require_form(self) -> ReportForm:
        if self.form is None:
            raise RuntimeError("the New report screen was not shown yet")
        return self.form


SCREEN = NewReportScreen

__all__ = ["SCREEN", "CategoryTileButton", "NewReportScreen", "PinMap"]
