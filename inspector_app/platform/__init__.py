"""Device features behind one interface (see base.py); pick one with :func:`detect`."""

from __future__ import annotations

import os
from typing import Any

from inspector_app.platform.base import Platform


def running_on_android() -> bool:
    return "ANDROID_ARGUMENT" in os.environ or "ANDROID_PRIVATE" in os.environ


def detect(**desktop_options: Any) -> Platform:
    """The Android adapter on a tablet (imported only there), else the desktop one."""
    if running_on_android():
        from inspector_app.platform.android import AndroidPlatform

        return AndroidPlatform()
    from inspector_app.platform.desktop import DesktopPlatform

    return DesktopPlatform(**desktop_options)


__all__ = ["Platform", "detect", "running_on_android"]
