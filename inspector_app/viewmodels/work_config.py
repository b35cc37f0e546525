"""Settings of the work screens, kept in the store's kv (``screens.config``).

* ``max_photos``: photos per report (1..12, the wire limit; 6 by default);
* ``gps_accuracy_m``: a GPS fix this accurate is taken without asking (20 m);
* ``gps_patience_s``: after this long the "use anyway" and map fallbacks are stressed;
* ``map_downloads``: fetch missing map tiles when online (off: cached tiles and a grid);
* ``tile_url``: the tile server (an OpenStreetMap-style ``{z}/{x}/{y}`` URL).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from inspector_app.core.store import Store
from inspector_app.viewmodels.location_fix import DEFAULT_PATIENCE_S, DEFAULT_TARGET_M
from shared_schemas.reports import MAX_PHOTOS_PER_REPORT

KV_WORK_CONFIG = "screens.config"
DEFAULT_TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"


@dataclass(frozen=True)
class WorkConfig:
    max_photos: int = 6
    gps_accuracy_m: float = DEFAULT_TARGET_M
    gps_patience_s: float = DEFAULT_PATIENCE_S
    map_downloads: bool = True
    tile_url: str = DEFAULT_TILE_URL

    def __post_init__(self) -> None:
        if not 1 <= self.max_photos <= MAX_PHOTOS_PER_REPORT:
            raise ValueError(f"max_photos must be between 1 and {MAX_PHOTOS_PER_REPORT}")
        if not 1 <= self.gps_accuracy_m <= 1000:
            raise ValueError("gps_accuracy_m must be between 1 and 1000 metres")
        if self.gps_patience_s < 0:
            raise ValueError("gps_patience_s must not be negative")
        if "{z}" not in self.tile_url or "{x}" not in self.tile_url:
            raise ValueError("tile_url needs {z}, {x} and {y}")


def load_work_config(store: Store) -> WorkConfig:
    """The saved config; a value that does not validate falls back to its default."""
    raw = store.kv_get(KV_WORK_CONFIG) or {}
    config = WorkConfig()
    if not isinstance(raw, dict):
        return config
    values: dict[str, Any] = asdict(config)
    for name, default in asdict(config).items():
        if name not in raw:
            continue
        candidate = {**values, name: raw[name]}
        try:
            if type(raw[name]) is not type(default) and not (
                isinstance(default, float) and isinstance(raw[name], int)
            ):
                raise TypeError(name)
            WorkConfig(**candidate)
        except (TypeError, ValueError):
            continue
        values = candidate
    return WorkConfig(**values)


def save_work_config(store: Store, config: WorkConfig) -> None:
    with store.transaction() as tx:
        tx.kv_set(KV_WORK_CONFIG, asdict(config))
