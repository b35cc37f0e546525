"""``python -m inspector_app [--server URL] [--data-dir DIR]``: start the tablet app.

On a desktop it opens a 1280x800 window (``--size 800x1280`` for portrait). The data
directory holds the local store and photos (default: the platform's app data directory;
on Linux ``~/.config/whistle``). ``--server`` fills in the sign-in form; a tablet already
signed in keeps its server.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected WIDTHxHEIGHT, e.g. 1280x800, got {text!r}"
        ) from None
    if width < 320 or height < 320:
        raise argparse.ArgumentTypeError("the window must be at least 320x320")
    return width, height


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m inspector_app", description="Whistle's tablet app (Kivy)."
    )
    parser.add_argument("--server", help="the Whistle server, e.g. http://127.0.0.1:8000")
    parser.add_argument("--data-dir", type=Path, help="where the local store and photos live")
    parser.add_argument("--size", type=_size, default=(1280, 800), help="window size (desktop)")
    parser.add_argument(
        "--location",
        help="desktop only: the position to use as a GPS fix, LAT,LON[,ACCURACY_M]",
    )
    parser.add_argument(
        "--lang", choices=["zh_CN", "en"], help="the language until one is chosen in Settings"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    position = None
    if args.location:
        from inspector_app.platform.desktop import parse_position

        try:
            position = parse_position(args.location)
        except ValueError as exc:
            print(f"--location: {exc}", file=sys.stderr)
            return 2
    # Kivy reads its own options from sys.argv and its config at import: set both first.
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    from kivy.config import Config

    width, height = args.size
    Config.set("graphics", "width", str(width))
    Config.set("graphics", "height", str(height))
    Config.set("kivy", "exit_on_escape", "0")  # Escape is "back"
    Config.set("input", "mouse", "mouse,multitouch_on_demand")  # no red dots on right-click
    Config.set("kivy", "log_level", os.environ.get("WHISTLE_LOG_LEVEL", "info"))
    for noisy in ("httpx", "httpcore", "hpack", "PIL"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    from inspector_app.platform import detect, running_on_android
    from inspector_app.ui.app import WhistleApp
    from inspector_app.ui.fonts import FontNotFound

    app = WhistleApp(data_dir=args.data_dir, server_url=args.server, system_locale=args.lang)
    if not running_on_android():
        app.platform = detect(server_url=args.server, chooser=app.choose_files, position=position)
    try:
        app.run()
    except FontNotFound as exc:
        print(f"inspector_app: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
