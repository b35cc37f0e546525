"""Child process of test_kill: saves reports in a loop until it is SIGKILLed.

Usage: python -m tests.inspector_app.core.kill_worker APP_DIR SEED
Prints "ready" after start-up, then "saved <report id>" after each submit committed.
"""

from __future__ import annotations

import random
import sys
from datetime import UTC, datetime
from pathlib import Path

from inspector_app.core.capture import Capture
from inspector_app.core.photos import PhotoProcessor
from inspector_app.core.store import Store
from tests.inspector_app.core import images


def main(app_dir: Path, seed: int) -> None:
    rng = random.Random(seed)
    store = Store(app_dir / "whistle.db")
    processor = PhotoProcessor()  # background thread, as in the app
    capture = Capture(store, app_dir / "photos", processor)
    capture.recover()
    pictures = [images.jpeg(w, h, colour=(w % 256, h % 256, 7)) for w, h in ((64, 48), (320, 240))]
    print("ready", flush=True)
    while True:
        report_id = capture.create_draft(category="HALLWAY_CLUTTER", description="楼道杂物")
        capture.set_location(
            report_id,
            lat=30.0 + rng.random(),
            lon=120.0 + rng.random(),
            accuracy_m=5.0,
            source="gps",
            captured_at=datetime.now(UTC),
        )
        capture.update_draft(report_id, grid="G-07")
        photo_ids = [capture.attach_photo(report_id, rng.choice(pictures)) for _ in range(3)]
        if rng.random() < 0.3:
            capture.remove_photo(photo_ids[0])
        if rng.random() < 0.1:
            capture.discard_draft(report_id)
            continue
        capture.submit(report_id)
        print(f"saved {report_id}", flush=True)
        if rng.random() < 0.3:
            capture.amend(report_id, address=f"{rng.randint(1, 30)}号楼")


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]))
