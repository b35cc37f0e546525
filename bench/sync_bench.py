"""Sync benchmark: the tablet's engine against a real server on loopback, and a load run.

    .venv/bin/python -m bench.sync_bench [engine|load|all] [--db sqlite|postgresql|both]
        [--reports N] [--no-photos]

engine  1,000 reports with 2 photos of ~300 KB each, from a filled local store through the
        real sync engine (inspector_app.core.sync_engine) to a real uvicorn (subprocess,
        one worker) on loopback. Prints the record phase (report.create ops pushed, per s),
        the photo phase (MB/s) and its ratio to a plain upload of the same bytes in one
        streaming request to the same server: one tus upload per photo created with the
        full length and sent in a single PATCH (the server's own fastest path; nothing is
        added to the server for the benchmark). With --no-photos the reports carry two
        tiny photos (~4 KB) that stay on the tablet (Wi-Fi-only setting, no Wi-Fi): only
        the record phase is measured, and the store fills in seconds.
load    200 simulated devices (raw httpx, asyncio) sign in, then push 5 batches of 20
        report.create ops each, all at once. Prints throughput and p50/p99 latency.

PostgreSQL: the test server (WHISTLE_TEST_PG_URL, started by scripts/postgres-test.sh); a
throwaway database is created and dropped. Figures go to docs/benchmarks.md by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import hashlib
import io
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psutil  # type: ignore[import-untyped]
from PIL import Image
from sqlmodel import Session

from inspector_app.core.api_client import ApiClient
from inspector_app.core.capture import Capture
from inspector_app.core.photos import PhotoProcessor
from inspector_app.core.store import Store
from inspector_app.core.sync_engine import DEFAULT_PUSH_DEPTH, SyncEngine, SyncProgress
from inspector_app.core.tus_client import tus_metadata
from server.accounts.models import User, UserArea
from server.accounts.passwords import hash_password
from server.areas.models import Area
from server.areas.service import create_area
from server.core.config import Settings
from server.core.db import make_engine
from server.models import metadata
from server.taxonomy.reference import sync_reference_data
from shared_schemas.enums import AreaLevel, Role
from tests import pg
from tests.server_process import ServerProcess

PASSWORD = "bench-password-1"  # noqa: S105 (a throwaway database)
GRID = "G_BENCH"
T = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
DISK_TMP = None  # the system's temporary directory (a disk here, not tmpfs)
SHM = "/dev/shm"  # noqa: S108 (tmpfs: only to fill the template store fast)


# ---------------------------------------------------------------- set-up


@dataclass(frozen=True)
class BenchWorld:
    settings: Settings
    usernames: list[str]


def _build_world(settings: Settings, *, users: int) -> list[str]:
    """The taxonomy, one grid, and `users` inspectors working in it."""
    engine = make_engine(settings)
    metadata.create_all(engine)
    password_hash = hash_password(PASSWORD, settings)  # one hash, shared: set-up speed only
    names = [f"bench_{i:03d}" for i in range(users)]
    with Session(engine) as session:
        sync_reference_data(session)
        district = create_area(session, code="D_BENCH", name="测试区", level=AreaLevel.DISTRICT)
        street = create_area(
            session, code="ST_BENCH", name="测试街道", level=AreaLevel.STREET, parent=district
        )
        community = create_area(
            session, code="CM_BENCH", name="测试社区", level=AreaLevel.COMMUNITY, parent=street
        )
        grid: Area = create_area(
            session, code=GRID, name="测试网格", level=AreaLevel.GRID, parent=community
        )
        for name in names:
            user = User(
                username=name,
                display_name=name,
                password_hash=password_hash,
                role=Role.INSPECTOR,
            )
            session.add(user)
            session.flush()
            session.add(UserArea(user_id=user.id, area_id=grid.pk))
        session.commit()
    engine.dispose()
    return names


@contextmanager
def bench_world(backend: str, workdir: Path, *, users: int) -> Iterator[BenchWorld]:
    """A fresh database (SQLite file or throwaway PostgreSQL database) with the world."""
    created: str | None = None
    if backend == "sqlite":
        url = f"sqlite:///{workdir / 'server.db'}"
    else:
        server_url = pg.test_server_url()
        reason = pg.unreachable_reason(server_url)
        if reason:
            raise SystemExit(f"PostgreSQL not reachable at {server_url}: {reason}")
        created = url = pg.create_database(server_url, pg.random_name("whistle_bench"))
    settings = Settings(
        env="development",
        database_url=url,
        storage_dir=workdir / "server-photos",
        secret_key="bench-secret-" + "x" * 40,
    )
    try:
        yield BenchWorld(settings=settings, usernames=_build_world(settings, users=users))
    finally:
        if created:
            pg.drop_database(pg.test_server_url(), created)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def _ms(values: list[float]) -> str:
    return (
        f"p50 {percentile(values, 50) * 1000:.0f} ms, p99 {percentile(values, 99) * 1000:.0f} ms,"
        f" max {max(values) * 1000:.0f} ms"
    )


# ---------------------------------------------------------------- load run


def report_payload(*, photos: int = 2) -> dict[str, Any]:
    report_id = str(uuid.uuid4())
    return {
        "id": report_id,
        "category": "FIRE_LANE",
        "severity": "general",
        "description": "消防通道被占用 (load run)",
        "observed_at": T.isoformat(),
        "location": {
            "lat": 31.23,
            "lon": 121.47,
            "accuracy_m": 6.5,
            "source": "gps",
            "captured_at": T.isoformat(),
        },
        "grid": GRID,
        "address": "1号楼东侧",
        "photos": [
            {
                "id": str(uuid.uuid4()),
                "sha256": os.urandom(32).hex(),
                "size_bytes": 300_000,
                "media_type": "image/jpeg",
                "width": 2048,
                "height": 1536,
                "taken_at": T.isoformat(),
            }
            for _ in range(photos)
        ],
    }


def push_body(device_id: str, first_seq: int, count: int) -> dict[str, Any]:
    ops = []
    for i in range(count):
        payload = report_payload()
        ops.append(
            {
                "op_id": str(uuid.uuid4()),
                "seq": first_seq + i,
                "kind": "report.create",
                "entity_id": payload["id"],
                "payload": payload,
                "created_at": T.isoformat(),
            }
        )
    return {
        "device_id": device_id,
        "schema_version": 1,
        "ops": ops,
        "device_status": {
            "app_version": "bench",
            "queue_depth": count,
            "oldest_pending_s": 0,
            "photos_pending": 0,
        },
    }


@dataclass
class LoadResult:
    devices: int
    ops: int
    requests: int
    planned_ops: int
    wall_s: float
    push_latency: list[float]
    retried: Counter[str]  # 5xx answers retried, by status and code
    login_latency: list[float]
    login_wall_s: float

    def lines(self) -> list[str]:
        return [
            f"sign-in: {self.devices} devices in {self.login_wall_s:.1f} s; "
            + _ms(self.login_latency),
            f"push: {self.requests} requests, {self.ops} ops in {self.wall_s:.1f} s = "
            f"{self.ops / self.wall_s:.0f} ops/s, {self.requests / self.wall_s:.1f} requests/s; "
            f"latency per push (retries included) {_ms(self.push_latency)}; "
            "retried with backoff: "
            + (", ".join(f"{k} x{n}" for k, n in sorted(self.retried.items())) or "nothing")
            + (
                ""
                if self.ops == self.planned_ops
                else f"; STOPPED at the {LOAD_CAP_S:.0f} s cap: {self.ops} of "
                f"{self.planned_ops} ops applied"
            ),
        ]


LOGIN_CONCURRENCY = 16
LOAD_CAP_S = 600.0  # a load run stops sending after this long and reports what it did
Send = Callable[[], Awaitable[httpx.Response]]


async def _with_retries(
    send: Send, rng: random.Random, errors: Counter[str], *, until: float
) -> httpx.Response | None:
    """As the app does: a 5xx or a network error is retried after an exponential backoff
    with full jitter (capped at 8 s here), until the run's cap (then None)."""
    attempt = 0
    while time.perf_counter() < until:
        try:
            response = await send()
        except httpx.TransportError as exc:  # e.g. a kept-alive connection the server closed
            errors[f"network {type(exc).__name__}"] += 1
        else:
            if response.status_code < 500:
                return response
            try:
                code = response.json()["error"]["code"]
            except (ValueError, KeyError, TypeError):
                code = "?"
            errors[f"{response.status_code} {code}"] += 1
        await asyncio.sleep(rng.uniform(0, min(8.0, 0.5 * 2**attempt)))
        attempt += 1
    return None


async def _load(
    base: str, usernames: list[str], *, devices: int, batches: int, ops_per_batch: int
) -> LoadResult:
    limits = httpx.Limits(max_connections=devices, max_keepalive_connections=devices)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=300.0) as client:
        tokens: list[str] = [""] * devices
        errors: Counter[str] = Counter()
        login_latency: list[float] = []

        # Tablets sign in rarely (refresh tokens last 60 days): not all in the same
        # instant. Argon2 makes each sign-in cost ~0.1 s of CPU.
        gate = asyncio.Semaphore(LOGIN_CONCURRENCY)

        async def sign_in(i: int) -> None:
            body = {
                "username": usernames[i % len(usernames)],
                "password": PASSWORD,
                "device_id": f"load-{i:03d}",
            }
            async with gate:
                started = time.perf_counter()
                response = await _with_retries(
                    lambda: client.post("/auth/login", json=body),
                    random.Random(-i),
                    errors,
                    until=started + LOAD_CAP_S,
                )
                login_latency.append(time.perf_counter() - started)
            if response is None:
                raise RuntimeError(f"device {i} could not sign in: {dict(errors)}")
            response.raise_for_status()
            tokens[i] = response.json()["access_token"]

        started = time.perf_counter()
        await asyncio.gather(*(sign_in(i) for i in range(devices)))
        login_wall = time.perf_counter() - started

        bodies = [
            [
                push_body(f"load-{i:03d}", b * ops_per_batch + 1, ops_per_batch)
                for b in range(batches)
            ]
            for i in range(devices)
        ]
        push_latency: list[float] = []

        done: list[int] = []  # ops applied
        cap = time.perf_counter() + LOAD_CAP_S

        async def device(i: int) -> None:
            rng = random.Random(i)
            for body in bodies[i]:
                if time.perf_counter() > cap:
                    return  # reported as "stopped at the cap"
                sent = time.perf_counter()
                for _ in range(2):  # a 401 (token expired in a long run): sign in, once
                    headers = {"Authorization": f"Bearer {tokens[i]}"}
                    response = await _with_retries(
                        functools.partial(client.post, "/sync/push", json=body, headers=headers),
                        rng,
                        errors,
                        until=cap,
                    )
                    if response is None:
                        return  # the cap: reported as stopped
                    if response.status_code != 401:
                        break
                    errors["401 (signed in again)"] += 1
                    await sign_in(i)
                push_latency.append(time.perf_counter() - sent)
                assert response is not None  # the loop ran and returned early on None
                if response.status_code != 200:
                    raise RuntimeError(f"push answered {response.status_code}: {response.text}")
                statuses = {r["status"] for r in response.json()["results"]}
                if statuses != {"applied"}:
                    raise RuntimeError(f"push results {statuses}: {response.text[:500]}")
                done.append(len(body["ops"]))

        started = time.perf_counter()
        await asyncio.gather(*(device(i) for i in range(devices)))
        wall = time.perf_counter() - started
    return LoadResult(
        devices=devices,
        ops=sum(done),
        requests=len(done),
        planned_ops=devices * batches * ops_per_batch,
        wall_s=wall,
        push_latency=push_latency,
        retried=errors,
        login_latency=login_latency,
        login_wall_s=login_wall,
    )


def run_load(
    backend: str,
    *,
    devices: int = 200,
    batches: int = 5,
    ops_per_batch: int = 20,
    workers: int = 1,
) -> LoadResult:
    with (
        tempfile.TemporaryDirectory(prefix="whistle-bench-", dir=DISK_TMP) as tmp,
        bench_world(backend, Path(tmp), users=max(1, devices // 10)) as world,
        ServerProcess(world.settings, log_path=Path(tmp) / "server.log", workers=workers) as server,
    ):
        try:
            return asyncio.run(
                _load(
                    server.api(""),
                    world.usernames,
                    devices=devices,
                    batches=batches,
                    ops_per_batch=ops_per_batch,
                )
            )
        except Exception:
            print((Path(tmp) / "server.log").read_text()[-6000:], file=sys.stderr)
            raise


# ---------------------------------------------------------------- engine run

NOISE_BYTES_PER_PIXEL = 0.67  # a noise JPEG at the app's quality 85 (calibrated)
PLAIN_PART_MAX = 90 * 1024 * 1024  # a declared photo may be at most 100 MB (contract)
NO_PHOTOS_KB = 4  # --no-photos: a report needs photos, but these are never uploaded


def photo_bytes(seed: int, *, target_kb: int) -> bytes:
    """A JPEG original that the app's processing turns into ~target_kb: noise, unique per
    seed (the server stores content-addressed: equal photos would be stored once)."""
    edge = int((target_kb * 1024 / NOISE_BYTES_PER_PIXEL) ** 0.5)
    rng = random.Random(seed)
    img = Image.frombytes("RGB", (edge, edge), rng.randbytes(edge * edge * 3))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=92)
    return out.getvalue()


def fill_store(root: Path, *, reports: int, photo_kb: int) -> float:
    """The tablet's store with `reports` submitted reports of 2 photos each, through the
    capture API (processing inline). Returns the seconds it took."""
    started = time.perf_counter()
    with Store(root / "whistle.db") as store:
        capture = Capture(store, root / "photos", PhotoProcessor(background=False))
        for i in range(reports):
            report_id = capture.create_draft(
                category="FIRE_LANE", grid=GRID, description=f"消防通道堵塞 #{i}"
            )
            capture.set_location(
                report_id, lat=31.23, lon=121.47, accuracy_m=5.0, source="gps", captured_at=T
            )
            for k in range(2):
                capture.attach_photo(report_id, photo_bytes(i * 2 + k, target_kb=photo_kb))
            capture.submit(report_id)
    return time.perf_counter() - started


@dataclass
class EngineResult:
    reports: int
    photos: int
    photo_bytes: int
    record_s: float
    photo_s: float
    plain_s: float
    plain_requests: int
    fill_s: float
    photos_sent: bool = True
    record_server_cpu_s: float = 0.0  # the server process's CPU time in the record phase
    photo_server_cpu_s: float = 0.0  # ... in the photo phase
    photo_client_cpu_s: float = 0.0  # this (the tablet's) process's CPU in the photo phase
    plain_server_cpu_s: float = 0.0  # the server's CPU for the plain upload
    plain_client_cpu_s: float = 0.0

    def lines(self) -> list[str]:
        mb = self.photo_bytes / 1e6
        lines = [
            f"store filled through the capture API: {self.reports} reports, {self.photos} "
            f"photos ({mb:.0f} MB) in {self.fill_s:.0f} s (tmpfs, processing inline)",
            f"record phase: {self.reports} report.create ops in {self.record_s:.2f} s = "
            f"{self.reports / self.record_s:.0f} ops/s; server CPU "
            f"{self.record_server_cpu_s * 1000 / self.reports:.2f} ms per op",
        ]
        if not self.photos_sent:
            return [*lines, "photo phase: skipped (--no-photos)"]
        return [
            *lines,
            f"photo phase: {self.photos} photos, {mb:.0f} MB in {self.photo_s:.1f} s = "
            f"{mb / self.photo_s:.1f} MB/s ({self.photos / self.photo_s:.0f} photos/s)",
            f"plain upload of the same bytes ({self.plain_requests} streaming PATCHes of up to "
            f"{PLAIN_PART_MAX // 2**20} MiB): {self.plain_s:.1f} s = "
            f"{mb / self.plain_s:.1f} MB/s; photo phase / plain = "
            f"{self.photo_s / self.plain_s:.2f}x",
            f"CPU per photo, server / tablet: photo phase "
            f"{self.photo_server_cpu_s * 1000 / self.photos:.2f} / "
            f"{self.photo_client_cpu_s * 1000 / self.photos:.2f} ms, plain upload "
            f"{self.plain_server_cpu_s * 1000 / self.photos:.2f} / "
            f"{self.plain_client_cpu_s * 1000 / self.photos:.2f} ms",
        ]


def _server_cpu(server: psutil.Process) -> float:
    """The server's CPU seconds so far, with its uvicorn workers (--workers), if any."""
    procs = [server, *server.children(recursive=True)]
    return float(sum(t.user + t.system for t in (p.cpu_times() for p in procs)))


@dataclass
class _Phases:
    record_s: float
    photo_s: float
    outcome: Any
    record_server_cpu_s: float
    photo_server_cpu_s: float
    photo_client_cpu_s: float


def _sync_through_engine(
    base: str,
    tablet: Path,
    username: str,
    *,
    photos: bool = True,
    server_pid: int | None = None,
    push_depth: int = DEFAULT_PUSH_DEPTH,
) -> _Phases:
    """One sync_once of the filled store: the phases' times, and the CPU the server and
    this process spent in them (less sensitive to a busy machine than the wall time).
    Without `photos`, the photos wait for Wi-Fi (Wi-Fi-only setting, no Wi-Fi)."""
    marks: dict[str, float] = {}
    cpu: dict[str, float] = {}
    client_cpu: dict[str, float] = {}
    server = psutil.Process(server_pid) if server_pid is not None else None

    def on_progress(progress: SyncProgress) -> None:
        if progress.phase not in marks and server is not None:
            cpu[progress.phase] = _server_cpu(server)
        client_cpu.setdefault(progress.phase, time.process_time())
        marks.setdefault(progress.phase, time.perf_counter())

    with Store(tablet / "whistle.db") as store:
        client = ApiClient(store=store, base_url=base)
        client.login(username=username, password=PASSWORD)
        engine = SyncEngine(
            store=store,
            client=client,
            photos_dir=tablet / "photos",
            on_progress=on_progress,
            wifi_only=lambda: not photos,
            on_wifi=lambda: photos,
            push_depth=push_depth,
        )
        outcome = engine.sync_once()
        ended = time.perf_counter()
        ended_client_cpu = time.process_time()
        ended_cpu = _server_cpu(server) if server is not None else 0.0
        client.close()
    if not outcome.ok or outcome.error:
        raise RuntimeError(f"the sync did not finish: {outcome}")
    return _Phases(
        record_s=marks["photos"] - marks["push"],
        photo_s=ended - marks["photos"],
        outcome=outcome,
        record_server_cpu_s=cpu["photos"] - cpu["push"] if server is not None else 0.0,
        photo_server_cpu_s=ended_cpu - cpu["photos"] if server is not None else 0.0,
        photo_client_cpu_s=ended_client_cpu - client_cpu["photos"],
    )


def _plain_upload(base: str, username: str, files: list[Path]) -> tuple[float, int]:
    """The same bytes as few streaming requests as the contract allows: the photo files
    concatenated into parts of <= PLAIN_PART_MAX (each starts with a JPEG, so the server
    accepts it as an image), each declared as one photo of a report, then sent as one tus
    upload created with its full length and filled by ONE streaming PATCH. Returns
    (seconds for the POSTs and PATCHes, number of PATCHes)."""
    parts: list[list[Path]] = [[]]
    size = 0
    for path in files:
        length = path.stat().st_size
        if parts[-1] and size + length > PLAIN_PART_MAX:
            parts.append([])
            size = 0
        parts[-1].append(path)
        size += length
    declared: list[dict[str, Any]] = []
    for part in parts:
        digest = hashlib.sha256()
        for path in part:
            digest.update(path.read_bytes())
        declared.append(
            {
                "id": str(uuid.uuid4()),
                "sha256": digest.hexdigest(),
                "size_bytes": sum(p.stat().st_size for p in part),
                "media_type": "image/jpeg",
                "width": 100,
                "height": 100,
                "taken_at": T.isoformat(),
            }
        )
    with httpx.Client(base_url=base, timeout=600) as client:
        login = client.post(
            "/auth/login",
            json={"username": username, "password": PASSWORD, "device_id": "bench-plain"},
        )
        login.raise_for_status()
        auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
        body = push_body("bench-plain", 1, 1)
        op = body["ops"][0]
        op["payload"]["photos"] = declared
        pushed = client.post("/sync/push", json=body, headers=auth)
        pushed.raise_for_status()
        assert pushed.json()["results"][0]["status"] == "applied", pushed.text
        tus = {**auth, "Tus-Resumable": "1.0.0"}
        started = time.perf_counter()
        for photo, part in zip(declared, parts, strict=True):
            created = client.post(
                "/uploads",
                headers={
                    **tus,
                    "Upload-Length": str(photo["size_bytes"]),
                    "Upload-Metadata": tus_metadata(
                        {
                            "photo_id": str(photo["id"]),
                            "report_id": str(op["entity_id"]),
                            "sha256": str(photo["sha256"]),
                        }
                    ),
                },
            )
            created.raise_for_status()

            def stream(part: list[Path] = part) -> Iterator[bytes]:
                for path in part:
                    with path.open("rb") as fh:
                        while chunk := fh.read(1024 * 1024):
                            yield chunk

            patched = client.patch(
                created.headers["Location"].removeprefix("/api/v1"),
                content=stream(),
                headers={
                    **tus,
                    "Content-Type": "application/offset+octet-stream",
                    "Upload-Offset": "0",
                },
            )
            if patched.status_code != 204:
                raise RuntimeError(f"plain upload answered {patched.status_code}: {patched.text}")
        return time.perf_counter() - started, len(parts)


def run_engine(
    backend: str,
    template: Path,
    *,
    reports: int,
    fill_s: float,
    photos: bool = True,
    workers: int = 1,
    push_depth: int = DEFAULT_PUSH_DEPTH,
) -> EngineResult:
    with (
        tempfile.TemporaryDirectory(prefix="whistle-bench-", dir=DISK_TMP) as tmp,
        bench_world(backend, Path(tmp), users=1) as world,
    ):
        tablet = Path(tmp) / "tablet"
        shutil.copytree(template, tablet)  # the tablet's store on disk, as on a device
        settings = world.settings.model_copy(update={"upload_max_bytes": 100 * 1024 * 1024})
        with ServerProcess(settings, log_path=Path(tmp) / "server.log", workers=workers) as server:
            username = world.usernames[0]
            phases = _sync_through_engine(
                server.url,
                tablet,
                username,
                photos=photos,
                server_pid=server.pid,
                push_depth=push_depth,
            )
            outcome = phases.outcome
            with Store(tablet / "whistle.db") as store:
                files = [tablet / "photos" / (p.processed_path or "") for p in store.all_photos()]
            server_process = psutil.Process(server.pid)
            before_server, before_client = _server_cpu(server_process), time.process_time()
            plain_s, plain_requests = (
                _plain_upload(server.api(""), username, files) if photos else (0.0, 0)
            )
            plain_server_cpu = _server_cpu(server_process) - before_server
            plain_client_cpu = time.process_time() - before_client
        if outcome.applied != reports or outcome.photos_sent != (len(files) if photos else 0):
            raise RuntimeError(f"not everything went: {outcome}")
        return EngineResult(
            reports=reports,
            photos=len(files),
            photo_bytes=sum(p.stat().st_size for p in files),
            record_s=phases.record_s,
            photo_s=phases.photo_s,
            plain_s=plain_s,
            plain_requests=plain_requests,
            fill_s=fill_s,
            photos_sent=photos,
            record_server_cpu_s=phases.record_server_cpu_s,
            photo_server_cpu_s=phases.photo_server_cpu_s,
            photo_client_cpu_s=phases.photo_client_cpu_s,
            plain_server_cpu_s=plain_server_cpu,
            plain_client_cpu_s=plain_client_cpu,
        )


# ---------------------------------------------------------------- main


def machine() -> str:
    mem = ""
    try:
        with open("/proc/meminfo") as meminfo:
            kib = int(meminfo.readline().split()[1])
            mem = f", {kib / 1024 / 1024:.0f} GiB"
    except OSError:
        pass
    return f"{os.cpu_count()} cores{mem}, Python {platform.python_version()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.sync_bench", description=__doc__)
    parser.add_argument("what", nargs="?", default="all", choices=["engine", "load", "all"])
    parser.add_argument("--db", default="both", choices=["sqlite", "postgresql", "both"])
    parser.add_argument("--reports", type=int, default=1000)
    parser.add_argument("--photo-kb", type=int, default=300)
    parser.add_argument(
        "--no-photos",
        action="store_true",
        help="engine run: tiny photos, not uploaded; measures the record phase only",
    )
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument(
        "--runs",
        type=int,
        default=1,
        help="engine runs per backend (one filled store, a fresh server and database each); "
        "with more than one, a min/median/max summary",
    )
    parser.add_argument(
        "--push-depth",
        type=int,
        default=DEFAULT_PUSH_DEPTH,
        help="engine run: push batches in flight at once (the app's default)",
    )
    args = parser.parse_args(argv)
    backends = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    print(f"machine: {machine()}; {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {args.workers} worker(s)")
    template: Path | None = None
    fill_s = 0.0
    with contextlib.ExitStack() as stack:
        if args.what in ("engine", "all"):
            shm = SHM if os.access(SHM, os.W_OK) else None
            template = Path(stack.enter_context(tempfile.TemporaryDirectory(dir=shm)))
            photo_kb = NO_PHOTOS_KB if args.no_photos else args.photo_kb
            print(f"filling a tablet store: {args.reports} reports x 2 photos of ~{photo_kb} KB")
            fill_s = fill_store(template, reports=args.reports, photo_kb=photo_kb)
        for backend in backends:
            _run_backend(backend, args, template, fill_s)
    return 0


def summary(results: list[EngineResult]) -> list[str]:
    """Several engine runs of the same store: the spread of their figures. On a shared
    machine one run's figure moves with the neighbours (the server's CPU per op, the same
    work each time, shows by how much); the median of several is the figure to quote."""
    ops = sorted(r.reports / r.record_s for r in results)
    cpu = sorted(r.record_server_cpu_s * 1000 / r.reports for r in results)
    lines = [
        f"record phase over {len(results)} runs: min {ops[0]:.0f}, median "
        f"{statistics.median(ops):.0f}, max {ops[-1]:.0f} ops/s; server CPU "
        f"{cpu[0]:.2f}-{cpu[-1]:.2f} ms per op"
    ]
    sent = [r for r in results if r.photos_sent]
    if sent:
        ratios = sorted(r.photo_s / r.plain_s for r in sent)
        lines.append(
            f"photo phase / plain over {len(sent)} runs: min {ratios[0]:.2f}x, median "
            f"{statistics.median(ratios):.2f}x, max {ratios[-1]:.2f}x"
        )
    return lines


def _run_backend(
    backend: str, args: argparse.Namespace, template: Path | None, fill_s: float
) -> None:
    if template is not None:
        results: list[EngineResult] = []
        for run in range(1, args.runs + 1):
            print(f"[{backend}] engine run" + (f" {run} of {args.runs}" if args.runs > 1 else ""))
            result = run_engine(
                backend,
                template,
                reports=args.reports,
                fill_s=fill_s,
                photos=not args.no_photos,
                workers=args.workers,
                push_depth=args.push_depth,
            )
            results.append(result)
            for line in result.lines():
                print(f"[{backend}]   {line}")
            sys.stdout.flush()
        if len(results) > 1:
            for line in summary(results):
                print(f"[{backend}] {line}")
    if args.what in ("load", "all"):
        print(f"[{backend}] load run: {args.devices} devices x 5 pushes x 20 report.create")
        for line in run_load(backend, devices=args.devices, workers=args.workers).lines():
            print(f"[{backend}]   {line}")
        sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
