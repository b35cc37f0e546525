"""One verification task: where it is, "after" photos, rectified or not with a note.

The result is recorded by ``Capture.record_verification`` (through
:class:`~inspector_app.viewmodels.task_list.TaskFlow`) on a worker thread, since it
copies the photos durably; it writes the ``inspection.create`` operation into the same
outbox as reports, and sync is asked to run soon.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.properties import BooleanProperty, ColorProperty, StringProperty

from inspector_app.core.capture import CaptureError
from inspector_app.core.files import StorageFullError, remove_quietly
from inspector_app.core.photos import ImageRejected
from inspector_app.platform.base import LocationFix
from inspector_app.ui import theme
from inspector_app.ui.background import on_ui_thread
from inspector_app.ui.i18n import tr
from inspector_app.ui.screens.base import WhistleScreen
from inspector_app.ui.screens.work_common import (
    Debounce,
    PhotoThumb,
    PhotoViewer,
    colour,
    load_rules,
    reader_for,
    to_fix,
)
from inspector_app.viewmodels.categories import shipped_category
from inspector_app.viewmodels.locale import N_
from inspector_app.viewmodels.location_fix import Fix
from inspector_app.viewmodels.messages import Message
from inspector_app.viewmodels.screen_words import (
    TASK_KIND_WORDS,
    bilingual,
    format_time,
    labelled,
    word,
)
from inspector_app.viewmodels.task_list import TaskFlow, make_preview
from inspector_app.viewmodels.work_config import load_work_config

load_rules()


class TaskDetailScreen(WhistleScreen):
    title = N_("Task")

    heading = StringProperty("")
    due_text = StringProperty("")
    status_colour = StringProperty("#3A434E")
    info_text = StringProperty("")
    group_colour = ColorProperty(theme.BORDER)
    has_location = BooleanProperty(False)
    is_open = BooleanProperty(True)
    done_text = StringProperty("")
    photo_count_text = StringProperty("")
    can_add_photo = BooleanProperty(True)
    busy = BooleanProperty(False)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.flow: TaskFlow | None = None
        self._fix: Fix | None = None
        self._gps_running = False
        self._previews: dict[Path, Path] = {}
        self._note_saver = Debounce(self._save_note)

    # ------------------------------------------------------------ show / hide

    def _language_changed(self, *_args: Any) -> None:
        """Bound while shown (a hidden screen redraws in on_show anyway)."""
        if self.manager is None or App.get_running_app() is not self._shown_by:
            tr.unbind(lang=self._language_changed)  # left without on_hide: the app stopped
            return
        self._draw()

    def on_show(self, task_id: str = "", **_params: Any) -> None:
        tr.bind(lang=self._language_changed)
        self._shown_by = self.app
        ctx = self.ctx
        try:
            self.flow = TaskFlow(
                capture=ctx.capture,
                reader=reader_for(ctx.store.path),
                task_id=task_id,
                max_photos=load_work_config(ctx.store).max_photos,
            )
        except LookupError:
            self.app.notify(Message(N_("This task is no longer on the tablet.")))
            self.app.back()
            return
        self._fix = None
        self.ids.problems.text = ""
        self.ids.note.text = self.flow.note
        self._draw()
        self._draw_photos()
        if self.flow.task.state == "open":
            self._start_gps()
        self.app.bind(on_pause=self._flush, on_stop=self._flush)

    def _flush(self, *_args: Any) -> None:
        self._note_saver.flush()

    def on_hide(self) -> None:
        tr.unbind(lang=self._language_changed)
        self.app.unbind(on_pause=self._flush, on_stop=self._flush)
        self._note_saver.flush()
        self._stop_gps()

    # ------------------------------------------------------------ drawing
    def _draw(self) -> None:
        flow = self.flow
        if flow is None:
            return
        task = flow.task
        lang, gettext = tr.lang, tr._
        tile = shipped_category(task.category)
        if tile is not None:
            self.heading = bilingual(tile.name_zh, tile.name_en, lang)[0]
            self.group_colour = colour(tile.colour)
        else:
            self.heading = gettext(N_("Task"))
        now = self.ctx.clock()
        view = task.view(gettext, lang, {}, now=now)
        self.due_text = view["due_text"]
        self.status_colour = view["status_colour"]
        info = [word(TASK_KIND_WORDS, task.kind, gettext)]
        if task.address:
            info.append(labelled(gettext(N_("Address")), task.address, gettext))
        if task.description:
            info.append(labelled(gettext(N_("Hazard")), task.description, gettext))
        self.info_text = "\n".join(info)
        self.has_location = task.lat is not None and task.lon is not None
        self.is_open = task.state == "open"
        self.done_text = (
            "" if self.is_open else gettext(N_("This task is done: the result is recorded."))
        )
        if task.due_at is not None and self.is_open:
            self.due_text = view["due_text"] or format_time(task.due_at, lang)

    def _draw_photos(self) -> None:
        flow = self.flow
        if flow is None:
            return
        strip = self.ids.photo_strip
        strip.clear_widgets()
        for path in flow.photos:
            preview = self._previews.get(path)
            thumb = PhotoThumb(
                source=str(preview) if preview else "",
                ref=str(path),
                caption=tr._("Processing…"),
            )
            thumb.bind(on_delete=lambda t: self.remove_photo(Path(t.ref)))
            thumb.bind(on_open=lambda t: self.open_photo(Path(t.ref)))
            strip.add_widget(thumb)
            if preview is None:
                self._make_preview(path)
        count = len(flow.photos)
        self.photo_count_text = tr._("{count} of at most {max}").format(
            count=count, max=flow.max_photos
        )
        self.can_add_photo = count < flow.max_photos

    def _make_preview(self, path: Path) -> None:
        dest = self.ctx.data_dir / "previews" / f"{abs(hash(str(path)))}.jpg"

        def done(result: Path) -> None:
            self._previews[path] = result
            self._draw_photos()

        self.app.run_async(lambda: make_preview(path, dest), done, lambda _e: None, name="preview")

    # ------------------------------------------------------------ photos
    def _photos_dir(self) -> Path:
        path = self.ctx.data_dir / "camera"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def take_photo(self) -> None:
        self.ctx.platform.camera.take_photo(
            self._photos_dir(),
            lambda paths: on_ui_thread(self._add, paths),
            lambda error: on_ui_thread(self._photo_error, error),
        )

    def pick_photos(self) -> None:
        self.ctx.platform.camera.pick_photos(
            lambda paths: on_ui_thread(self._add, paths),
            lambda error: on_ui_thread(self._photo_error, error),
        )

    def _photo_error(self, error: str) -> None:
        self.app.notify(Message(N_("Camera: {reason}"), {"reason": tr._(error)}, "error"))

    def _add(self, paths: list[Path]) -> None:
        flow = self.flow
        if flow is None:
            return
        for path in paths:
            try:
                flow.add_photo(Path(path))
            except ImageRejected as exc:
                self._problem(tr._("{name} is not a usable photo.").format(name=exc.name))
            except CaptureError as exc:
                self._problem(str(exc))
                break
        self._draw_photos()

    def remove_photo(self, path: Path) -> None:
        if self.flow is not None:
            self.flow.remove_photo(path)
            self._draw_photos()

    def open_photo(self, path: Path) -> None:
        if self.flow is None:
            return
        sources = [str(p) for p in self.flow.photos]
        start = sources.index(str(path)) if str(path) in sources else 0
        PhotoViewer(sources=sources, start=start).open()

    # ------------------------------------------------------------ note, GPS
    def note_changed(self) -> None:
        self._note_saver.poke()

    def _save_note(self) -> None:
        if self.flow is not None and self.flow.task.state == "open":
            self.flow.set_note(self.ids.note.text)

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
        candidate = to_fix(fix)
        if self._fix is None or candidate.accuracy_m <= self._fix.accuracy_m:
            self._fix = candidate

    def show_on_map(self) -> None:
        if self.flow is not None:
            self.app.show("map", focus_task=self.flow.task.id)

    # ------------------------------------------------------------ record
    def record(self, rectified: bool) -> None:
        flow = self.flow
        if flow is None or self.busy:
            return
        self._note_saver.flush()
        self.busy = True
        fix = self._fix

        def done(_inspection_id: str) -> None:
            self.busy = False
            self._stop_gps()
            self.app.request_sync("verification")
            self.app.notify(
                Message(N_("Result recorded. It is sent with the next sync."), level="success")
            )
            self.app.back()

        def failed(exc: Exception) -> None:
            self.busy = False
            if isinstance(exc, ValueError | CaptureError | StorageFullError):
                self._problem(str(exc))
            else:
                self._problem(tr._("Could not record the result: {reason}").format(reason=exc))

        camera_dir = self._photos_dir()

        def work() -> str:
            inspection_id = flow.record(rectified=rectified, location=fix)
            # the originals are copied into the app now: drop the camera's own files
            remove_quietly(*(p for p in flow.photos if p.parent == camera_dir))
            return inspection_id

        self.app.run_async(work, done, failed, name="verify")

    def _problem(self, text: str) -> None:
        self.ids.problems.text = text


SCREEN = TaskDetailScreen

__all__ = ["SCREEN", "TaskDetailScreen"]
