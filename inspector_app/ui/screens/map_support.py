"""Map pieces shared by the map, detail, task and pin screens (kivy_garden.mapview).

* :class:`CachedTileSource`: tiles come from the cache under the app's data directory;
  missing ones are downloaded only when downloads are allowed (a setting; off in tests)
  and the tablet is online. Otherwise a light grid square stands in for the tile, so
  markers still show on a blank grid, and the map pans and zooms as usual.
* :class:`DotMarker`: a round marker in a state colour (no image files needed).
* :func:`make_map`: a MapView with the source above (never mapview's default source,
  which would fetch tiles from the internet).
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kivy.graphics import Color, Ellipse, Line
from kivy.metrics import dp
from kivy.properties import ColorProperty, StringProperty
from kivy_garden.mapview import MapMarker, MapSource, MapView
from kivy_garden.mapview.downloader import Downloader
from PIL import Image, ImageDraw

from inspector_app.core.files import atomic_write_bytes
from inspector_app.ui import theme

log = logging.getLogger(__name__)

TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
TILES_ENV = "WHISTLE_MAP_TILES"  # "off" disables downloads whatever the setting says
PLACEHOLDER_NAME = "blank-grid.png"


def downloads_disabled_by_env() -> bool:
    return os.environ.get(TILES_ENV, "").strip().lower() in ("off", "0", "no", "false")


def placeholder_tile(cache_dir: Path) -> Path:
    """A 256 px light square with a grid, written once into the tile cache."""
    path = cache_dir / PLACEHOLDER_NAME
    if path.exists():
        return path
    img = Image.new("RGB", (256, 256), (242, 244, 247))
    draw = ImageDraw.Draw(img)
    for i in range(0, 256, 64):
        draw.line([(i, 0), (i, 255)], fill=(222, 226, 232), width=1)
        draw.line([(0, i), (255, i)], fill=(222, 226, 232), width=1)
    draw.rectangle([0, 0, 255, 255], outline=(200, 206, 214), width=1)
    out = io.BytesIO()
    img.save(out, "PNG")
    atomic_write_bytes(path, out.getvalue(), what="the map grid")
    return path


class CachedTileSource(MapSource):  # type: ignore[misc]
    """OpenStreetMap-style tiles from the cache; downloads only when ``may_download()``."""

    def __init__(
        self,
        *,
        cache_dir: Path,
        may_download: Callable[[], bool],
        url: str = TILE_URL,
        **kwargs: Any,
    ) -> None:
        cache_dir.mkdir(parents=True, exist_ok=True)
        super().__init__(
            url=url,
            cache_key="tiles",
            cache_dir=str(cache_dir),
            max_zoom=19,
            attribution="© OpenStreetMap contributors",
            **kwargs,
        )
        self.cache_path = cache_dir
        self.may_download = may_download
        self.placeholder = str(placeholder_tile(cache_dir))
        self.downloads_requested = 0

    def fill_tile(self, tile: Any) -> None:
        if tile.state == "done":
            return
        cached = tile.cache_fn
        if os.path.exists(cached):
            tile.set_source(cached)
            return
        if not downloads_disabled_by_env() and self.may_download():
            self.downloads_requested += 1
            Downloader.instance(cache_dir=str(self.cache_path)).download_tile(tile)
            return
        tile.set_source(self.placeholder)


class DotMarker(MapMarker):  # type: ignore[misc]
    """A filled circle with a white ring, in ``fill``; ``ref`` names what it stands for."""

    fill = ColorProperty(theme.PRIMARY)
    ref = StringProperty("")
    kind = StringProperty("report")

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("source", "")
        super().__init__(**kwargs)
        self.color = (1, 1, 1, 0)  # no image: only the circle drawn below
        self.size_hint = (None, None)
        self.size = (dp(30), dp(30))
        self.anchor_y = 0.5
        self.bind(pos=self._draw, size=self._draw, fill=self._draw)
        self._draw()

    def _draw(self, *_args: Any) -> None:
        self.canvas.before.clear()
        with self.canvas.before:
            Color(1, 1, 1, 1)
            Ellipse(pos=self.pos, size=self.size)
            Color(*self.fill)
            inset = dp(3)
            Ellipse(
                pos=(self.x + inset, self.y + inset),
                size=(self.width - 2 * inset, self.height - 2 * inset),
            )
            Color(0.1, 0.1, 0.1, 0.6)
            # from x/y, not center: the center alias may not have caught up with pos yet
            x, y = self.pos
            Line(circle=(x + self.width / 2, y + self.height / 2, self.width / 2), width=1)


def make_map(
    *, cache_dir: Path, may_download: Callable[[], bool], lat: float, lon: float, zoom: int
) -> MapView:
    source = CachedTileSource(cache_dir=cache_dir, may_download=may_download)
    view = MapView(
        map_source=source,
        cache_dir=str(cache_dir),
        lat=lat,
        lon=lon,
        zoom=zoom,
        double_tap_zoom=True,
    )
    view.background_color = list(theme.rgb("#F2F4F7"))
    return view


def hex_colour(value: str) -> tuple[float, float, float, float]:
    return theme.rgb(value)
