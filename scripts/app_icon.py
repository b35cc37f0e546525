#!/usr/bin/env python3
"""Draw the app's icon and Android pre-splash (inspector_app/ui/assets/*.png) with Pillow.

    .venv/bin/python scripts/app_icon.py

The character 哨 (whistle) in white on the app's primary blue, in the system's CJK font.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from inspector_app.ui.fonts import find_cjk_font  # noqa: E402
from inspector_app.ui.theme import PRIMARY  # noqa: E402

ASSETS = ROOT / "inspector_app" / "ui" / "assets"


def draw(size: tuple[int, int], text: str, *, font_px: int, radius: int) -> Image.Image:
    blue = tuple(round(c * 255) for c in PRIMARY[:3])
    img = Image.new("RGBA", size, (0, 0, 0, 0))
    canvas = ImageDraw.Draw(img)
    canvas.rounded_rectangle((0, 0, size[0] - 1, size[1] - 1), radius=radius, fill=blue)
    found = find_cjk_font()
    font = ImageFont.truetype(
        str(found.bold or found.regular),
        font_px,
        index=2 if str(found.regular).endswith(".ttc") else 0,
    )
    canvas.text((size[0] / 2, size[1] / 2), text, font=font, fill="white", anchor="mm")
    return img


def main() -> int:
    ASSETS.mkdir(parents=True, exist_ok=True)
    draw((512, 512), "哨", font_px=340, radius=96).save(ASSETS / "icon.png")
    draw((1024, 1024), "网格吹哨", font_px=190, radius=0).save(ASSETS / "presplash.png")
    print(f"wrote {ASSETS / 'icon.png'} and {ASSETS / 'presplash.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
