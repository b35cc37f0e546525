"""The desktop's photo picker: a Kivy file chooser in a popup (images only).

Used by the desktop platform adapter for "take photo" and "pick photos" (a desktop has
no camera); Android uses the system's camera and picker instead.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.modalview import ModalView

from inspector_app.platform.base import OnError, OnPhotos
from inspector_app.ui import widgets
from inspector_app.ui.registry import load_kv

_WIDGETS = widgets  # the kv below names its classes

IMAGE_PATTERNS = ["*.jpg", "*.jpeg", "*.JPG", "*.JPEG", "*.png", "*.PNG", "*.webp", "*.heic"]

load_kv(Path(__file__).with_suffix(".kv"))


class PhotoChooser(ModalView):  # type: ignore[misc]
    start_dir = StringProperty(str(Path.home()))
    multiple = BooleanProperty(True)

    def __init__(self, *, on_done: OnPhotos, **kwargs: Any) -> None:
        self.patterns = IMAGE_PATTERNS
        super().__init__(**kwargs)
        self._on_done = on_done

    def finish(self, selection: list[str]) -> None:
        self.dismiss()
        self._on_done([Path(p) for p in selection if Path(p).is_file()])


def open_chooser(*, on_done: OnPhotos, on_error: OnError, multiple: bool) -> PhotoChooser:
    start = os.environ.get("WHISTLE_PHOTO_DIR") or str(Path.home() / "Pictures")
    if not Path(start).is_dir():
        start = str(Path.home())
    chooser = PhotoChooser(on_done=on_done, multiple=multiple, start_dir=start)
    chooser.open()
    return chooser


__all__ = ["PhotoChooser", "open_chooser"]
