"""A small screen registry (as KivyMD's KitchenSink): screens are found by name and
built the first time they are shown.

By convention the screen ``my_reports`` lives in ``inspector_app/ui/screens/my_reports.py``
with its rules in ``my_reports.kv`` beside it, and the module names its screen class in
``SCREEN``. Nothing has to be registered for that. :func:`register` adds a screen from
elsewhere (a test, a plug-in) or overrides the convention.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kivy.lang import Builder

log = logging.getLogger(__name__)

SCREENS_PACKAGE = "inspector_app.ui.screens"
_loaded_kv: set[Path] = set()


class ScreenNotFound(LookupError):
    pass


@dataclass(frozen=True)
class ScreenSpec:
    name: str
    factory: Callable[[], Any]  # makes the Screen (its kv rules already loaded)
    kv_file: Path | None = None


_registry: dict[str, ScreenSpec] = {}


def load_kv(path: Path) -> None:
    """Load a kv file once per process (loading twice would apply its rules twice)."""
    path = path.resolve()
    if path in _loaded_kv:
        return
    Builder.load_file(str(path))
    _loaded_kv.add(path)


def register(name: str, factory: Callable[[], Any], *, kv_file: Path | None = None) -> None:
    _registry[name] = ScreenSpec(name, factory, kv_file)


def _by_convention(name: str) -> ScreenSpec:
    module_name = f"{SCREENS_PACKAGE}.{name}"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            raise ScreenNotFound(f"no screen {name!r} (no module {module_name})") from None
        raise
    screen_class = getattr(module, "SCREEN", None)
    if screen_class is None:
        raise ScreenNotFound(f"{module_name} does not name its screen class in SCREEN")
    kv = Path(module.__file__ or "").with_suffix(".kv")
    return ScreenSpec(name, screen_class, kv if kv.is_file() else None)


def spec(name: str) -> ScreenSpec:
    found = _registry.get(name)
    if found is None:
        found = _by_convention(name)
        _registry[name] = found
    return found


def exists(name: str) -> bool:
    try:
        spec(name)
    except ScreenNotFound:
        return False
    return True


def build(name: str) -> Any:
    """A new instance of screen ``name`` (its kv loaded first), named ``name``."""
    found = spec(name)
    if found.kv_file is not None:
        load_kv(found.kv_file)
    screen = found.factory()
    screen.name = name
    log.debug("built screen %s", name)
    return screen


__all__ = ["ScreenNotFound", "ScreenSpec", "build", "exists", "load_kv", "register", "spec"]
