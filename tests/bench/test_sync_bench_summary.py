"""The sync bench's summary of several engine runs (the bench itself is not run in CI)."""

from bench.sync_bench import EngineResult, summary


def _run(record_s: float, *, cpu_s: float = 0.5, photo_s: float = 6.0) -> EngineResult:
    return EngineResult(
        reports=1000,
        photos=2000,
        photo_bytes=617_000_000,
        record_s=record_s,
        photo_s=photo_s,
        plain_s=4.0,
        plain_requests=7,
        fill_s=80.0,
        record_server_cpu_s=cpu_s,
    )


def test_the_summary_gives_the_spread_and_the_median_of_the_runs() -> None:
    runs = [_run(1.0, cpu_s=0.7, photo_s=8.0), _run(0.5, cpu_s=0.3), _run(0.8, photo_s=5.0)]
    assert summary(runs) == [
        "record phase over 3 runs: min 1000, median 1250, max 2000 ops/s; "
        "server CPU 0.30-0.70 ms per op",
        "photo phase / plain over 3 runs: min 1.25x, median 1.50x, max 2.00x",
    ]


def test_runs_without_photos_summarise_the_record_phase_only() -> None:
    runs = [_run(1.0), _run(0.9)]
    for run in runs:
        run.photos_sent = False
    assert summary(runs) == [
        "record phase over 2 runs: min 1000, median 1056, max 1111 ops/s; "
        "server CPU 0.50-0.50 ms per op"
    ]
