"""Generated demo photos: a coloured JPEG with a caption-free pattern, deterministic."""

import io
import random

from PIL import Image, ImageDraw


def demo_jpeg(seed: int, size: tuple[int, int] = (800, 600)) -> bytes:
    rng = random.Random(seed)  # noqa: S311 - not security, just stable pictures
    image = Image.new(
        "RGB", size, (rng.randint(90, 200), rng.randint(90, 200), rng.randint(90, 200))
    )
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x0, y0 = rng.randint(0, size[0]), rng.randint(0, size[1])
        x1, y1 = x0 + rng.randint(40, 300), y0 + rng.randint(40, 200)
        colour = (rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255))
        draw.rectangle((x0, y0, x1, y1), fill=colour)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=80)
    return out.getvalue()
