"""The app's settings, kept in the store's ``kv`` table (they survive restarts and
belong with the data they describe)."""

from __future__ import annotations

from dataclasses import dataclass

from inspector_app.core.photos import MAX_EDGE_CHOICES, ProcessingSettings
from inspector_app.core.store import Store
from inspector_app.viewmodels.locale import LANGUAGES, normalise_language

KV_SETTINGS = "settings"
KV_LAST_USERNAME = "signin_last_username"
PHOTO_SIZES: tuple[int | None, ...] = MAX_EDGE_CHOICES  # 1024, 2048, 3072, None (original)
DEFAULT_PHOTO_SIZE: int | None = 2048


@dataclass(frozen=True)
class Settings:
    language: str | None = None  # None: not chosen yet (the device's language decides)
    photo_max_edge: int | None = DEFAULT_PHOTO_SIZE
    wifi_only: bool = False

    def processing(self) -> ProcessingSettings:
        return ProcessingSettings(max_edge=self.photo_max_edge)


def load_settings(store: Store) -> Settings:
    raw = store.kv_get(KV_SETTINGS) or {}
    if not isinstance(raw, dict):
        raw = {}
    language = raw.get("language")
    size = raw.get("photo_max_edge", DEFAULT_PHOTO_SIZE)
    return Settings(
        language=language if language in LANGUAGES else None,
        photo_max_edge=size if size in PHOTO_SIZES else DEFAULT_PHOTO_SIZE,
        wifi_only=bool(raw.get("wifi_only", False)),
    )


def save_settings(store: Store, settings: Settings) -> None:
    if settings.photo_max_edge not in PHOTO_SIZES:
        raise ValueError(f"photo size must be one of {PHOTO_SIZES}")
    if settings.language is not None and settings.language not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}")
    with store.transaction() as tx:
        tx.kv_set(
            KV_SETTINGS,
            {
                "language": settings.language,
                "photo_max_edge": settings.photo_max_edge,
                "wifi_only": settings.wifi_only,
            },
        )


def effective_language(settings: Settings, system_locale: str | None) -> str:
    """The chosen language, else the device's (Chinese unless it is English)."""
    return settings.language or normalise_language(system_locale)


__all__ = [
    "DEFAULT_PHOTO_SIZE",
    "KV_LAST_USERNAME",
    "PHOTO_SIZES",
    "Settings",
    "effective_language",
    "load_settings",
    "save_settings",
]
