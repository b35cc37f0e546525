"""Chaos: the real sync engine against a real uvicorn (subprocess) behind a fault proxy
that resets connections, answers 503, cuts requests, loses responses, truncates bodies and
delays, while the server is killed or stopped and restarted several times mid-run and
the app restarts once. The inspector keeps saving reports meanwhile.

End state: all 300 reports on the server exactly once, their 600 photos received and
byte-identical (sha256 of the stored bytes against the tablet's files), every operation
applied exactly once, the tablet's queue empty, its store sound.

The seed is printed and goes into every failure message; rerun a failure with
WHISTLE_CHAOS_SEED=<seed>.
"""

from __future__ import annotations

import os
import random
import threading
import time
from pathlib import Path

import pytest

from server.core.config import Settings
from server.core.db import make_engine
from server.storage.factory import make_storage
from tests.faultproxy import FAULT_KINDS, NO_FAULTS, FaultProxy, Faults
from tests.inspector_app.core.sync_helpers import (
    PHOTOS,
    Tablet,
    check_all_arrived_once,
    check_store_sound,
    fast_directory,
)
from tests.server_process import ServerProcess
from tests.world import World

SEED = int(os.environ.get("WHISTLE_CHAOS_SEED", "20261123"))
REPORTS = 300
SAVE_PER_CYCLE = 6
RESTART_AT = (60, 150, 240)  # reports saved when the server goes down (kill, stop, kill)
APP_RESTART_AT = 120
MAX_CYCLES = 3000
FAULTS = Faults(  # about one request in ten fails; one in twenty is held up
    reset=0.015,
    error_503=0.02,
    drop_request=0.02,
    drop_response=0.025,
    truncate=0.02,
    delay=0.05,
    max_delay_s=0.02,
)


class ChaosMonkey:
    """Takes the server down at a random moment of the next sync cycle, from a thread."""

    def __init__(self, server: ServerProcess, rng: random.Random) -> None:
        self.server = server
        self.rng = rng
        self.thread: threading.Thread | None = None
        self.restarts = 0
        self.error: BaseException | None = None

    def restart_soon(self) -> None:
        self.join()
        kill = self.restarts % 2 == 0  # a crash, then a graceful stop, then a crash
        wait_s = self.rng.uniform(0.0, 0.3)
        down_s = self.rng.uniform(0.1, 0.6)

        def run() -> None:
            try:
                time.sleep(wait_s)
                self.server.restart(kill=kill, down_s=down_s)
            except BaseException as exc:  # reported by join()
                self.error = exc

        self.thread = threading.Thread(target=run, name="chaos-monkey", daemon=True)
        self.thread.start()
        self.restarts += 1

    def join(self) -> None:
        if self.thread is not None:
            self.thread.join(60)
            self.thread = None
        if self.error is not None:
            raise AssertionError(f"the server did not come back: {self.error}")


@pytest.mark.slow
def test_every_report_arrives_once_through_a_hostile_network(
    settings: Settings, world: World, tmp_path: Path
) -> None:
    print(f"chaos seed {SEED} (rerun with WHISTLE_CHAOS_SEED={SEED})")
    with fast_directory(tmp_path) as fast_dir:
        _run_chaos(settings, tmp_path, fast_dir)


def _run_chaos(settings: Settings, tmp_path: Path, fast_dir: Path) -> None:
    rng = random.Random(SEED)
    # Short access tokens: refreshes happen mid-run, through the faults too.
    server_settings = settings.model_copy(
        update={"access_token_ttl_s": 30, "storage_dir": fast_dir / "server-photos"}
    )
    with (
        ServerProcess(server_settings, log_path=tmp_path / "server.log") as server,
        FaultProxy(server.port, NO_FAULTS, seed=SEED) as proxy,
    ):
        root = fast_dir / "tablet"
        tablet = Tablet.open(root, proxy.url, seed=SEED)
        tablet.sign_in()
        proxy.set_faults(FAULTS)
        monkey = ChaosMonkey(server, rng)
        saved = cycles = 0
        last_error: str | None = None
        try:
            while True:
                for _ in range(min(SAVE_PER_CYCLE, REPORTS - saved)):
                    tablet.save_report(saved)
                    saved += 1
                    if saved in RESTART_AT:
                        monkey.restart_soon()
                    if saved == APP_RESTART_AT:  # the app is closed and opened again
                        tablet.close()
                        tablet = Tablet.open(root, proxy.url, seed=SEED + 1)
                outcome = tablet.engine.sync_once()
                cycles += 1
                last_error = outcome.error or last_error
                stats = tablet.store.queue_stats()
                if (
                    saved == REPORTS
                    and outcome.ok
                    and outcome.error is None
                    and (stats.queue_depth, stats.photos_pending) == (0, 0)
                    and monkey.thread is None
                ):
                    break
                if monkey.thread is not None and not monkey.thread.is_alive():
                    monkey.join()
                assert cycles < MAX_CYCLES, (
                    f"no convergence after {cycles} cycles (seed {SEED}): {stats}, last error "
                    f"{last_error}; {proxy.stats.summary()}"
                )
            monkey.join()
            print(f"{cycles} sync cycles; {proxy.stats.summary()}; last error: {last_error}")

            # Every kind of fault happened, and the server really went down three times.
            for kind in (*FAULT_KINDS, "delay"):
                assert proxy.stats.faults[kind] > 0, f"no {kind} happened (seed {SEED})"
            assert server.starts == 1 + len(RESTART_AT)

            # A last cycle on a clean line finds nothing left to do.
            proxy.set_faults(NO_FAULTS)
            final = tablet.engine.sync_once()
            assert (final.ok, final.error, final.applied, final.photos_sent) == (
                True,
                None,
                0,
                0,
            ), final

            engine = make_engine(server_settings)
            try:
                counts = check_all_arrived_once(
                    store=tablet.store,
                    photos_root=root / PHOTOS,
                    device_id=tablet.client.device_id,
                    engine=engine,
                    storage=make_storage(server_settings),
                )
            finally:
                engine.dispose()
            assert counts == {"reports": REPORTS, "photos": 2 * REPORTS, "ops": REPORTS}
            check_store_sound(tablet.store, root / PHOTOS)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n(chaos seed {SEED})") from exc
        finally:
            tablet.close()
            if monkey.thread is not None:  # no restart may outlive the test's server
                monkey.thread.join(60)
