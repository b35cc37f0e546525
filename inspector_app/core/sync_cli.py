"""The tablet's sync engine on the command line (operators, tests, benchmarks).

    python -m inspector_app.core.sync_cli --data-dir DIR [--server URL] login --username U \
        [--password-stdin]
    python -m inspector_app.core.sync_cli --data-dir DIR status
    python -m inspector_app.core.sync_cli --data-dir DIR sync [--quiet]
    python -m inspector_app.core.sync_cli --data-dir DIR logout

``DIR`` holds the store (``whistle.db``) and the photos (``photos/``), as the app lays
them out. Exit codes: 0 done (``sync``: nothing is left to send); 1 something is left
(rejected or conflicting operations, unreachable server, photos waiting); 2 usage or
sign-in errors (not signed in, wrong password, sign-in expired).
"""

from __future__ import annotations

import argparse
import getpass
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from inspector_app.core.api_client import (
    KV_CURSOR,
    KV_SERVER,
    ApiClient,
    ApiError,
    NetworkError,
    Refused,
    RetryableError,
)
from inspector_app.core.capture import Capture
from inspector_app.core.photos import PhotoProcessor
from inspector_app.core.store import Store
from inspector_app.core.sync_engine import KV_PHOTO_ERRORS, KV_STATUS, SyncEngine, SyncProgress

EXIT_OK = 0
EXIT_LEFT = 1
EXIT_USAGE = 2
DB_NAME = "whistle.db"
PHOTOS_DIR = "photos"
BAR_WIDTH = 30


class _Usage(Exception):
    """A usage or sign-in problem: message to stderr, exit 2."""


def _mb(count: int) -> str:
    return f"{count / 1_000_000:.1f} MB"


class ProgressBar:
    """A one-line text progress bar (redrawn with '\\r' on a terminal, a line per phase
    otherwise, so logs stay readable)."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.tty = out.isatty()
        self.last_phase = ""
        self.last_draw = 0.0

    def __call__(self, p: SyncProgress) -> None:
        changed = p.phase != self.last_phase
        now = time.monotonic()
        if not changed and (not self.tty or now - self.last_draw < 0.1):
            return
        self.last_phase, self.last_draw = p.phase, now
        # operations and photo bytes weigh half each (when both are there)
        parts = [d / t for d, t in ((p.ops_done, p.ops_total), (p.bytes_done, p.bytes_total)) if t]
        fraction = min(1.0, sum(parts) / len(parts)) if parts else 1.0
        if p.phase in ("pull", "push", "photos") and not parts:
            fraction = 0.0
        filled = round(fraction * BAR_WIDTH)
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        line = (
            f"[{bar}] {fraction * 100:3.0f}% {p.phase:<7} ops {p.ops_done}/{p.ops_total}"
            f"  photos {_mb(p.bytes_done)}/{_mb(p.bytes_total)}"
        )
        if p.message and p.phase in ("done", "failed", "waiting"):
            line += f"  {p.message}"
        if self.tty:
            end = "\n" if p.phase in ("done", "failed", "waiting") else ""
            self.out.write("\r" + line[:160].ljust(100) + end)
        else:
            self.out.write(line + "\n")
        self.out.flush()


def _open(args: argparse.Namespace) -> tuple[Store, ApiClient]:
    data_dir = Path(args.data_dir)
    store = Store(data_dir / DB_NAME)
    server = args.server or store.kv_get(KV_SERVER)
    if not server:
        store.close()
        raise _Usage("no server known: pass --server URL (and sign in with login)")
    return store, ApiClient(store=store, base_url=server, timeout_s=args.timeout)


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        password = getpass.getpass("Password: ")
    else:
        raise _Usage("give the password with --password-stdin (or run in a terminal)")
    if not password:
        raise _Usage("the password is empty")
    return password


def cmd_login(args: argparse.Namespace) -> int:
    password = _read_password(args)
    store, client = _open(args)
    try:
        account = client.login(username=args.username, password=password)
    except Refused as exc:
        raise _Usage(f"sign-in refused: {exc.message}") from exc
    except (NetworkError, RetryableError) as exc:
        print(f"cannot reach the server: {exc}", file=sys.stderr)
        return EXIT_LEFT
    finally:
        client.close()
        store.close()
    print(f"signed in as {account.username} ({account.role}) on {client.base_url}")
    return EXIT_OK


def cmd_logout(args: argparse.Namespace) -> int:
    store, client = _open(args)
    try:
        client.logout()
    finally:
        client.close()
        store.close()
    print("signed out (unsent reports stay on this tablet)")
    return EXIT_OK


def _queue_lines(store: Store) -> list[str]:
    ops = store.list_ops()
    lines = [f"{'seq':>5}  {'kind':<17} {'entity':<36}  {'state':<14} {'tries':>5}  note"]
    for op in ops:
        if op.state == "done":
            continue
        note = ""
        if op.state in ("rejected", "conflict"):
            note = f"{op.result_code}: {op.result_message}"
        elif op.last_error:
            note = op.last_error
        if op.next_attempt_at is not None and op.state == "pending":
            note = f"next try {op.next_attempt_at.isoformat(timespec='seconds')}; {note}"
        lines.append(
            f"{op.seq:>5}  {op.kind:<17} {op.entity_id:<36}  {op.state:<14} {op.attempts:>5}"
            f"  {note}"[:200]
        )
    return lines


def cmd_status(args: argparse.Namespace) -> int:
    store = Store(Path(args.data_dir) / DB_NAME)
    try:
        account = store.kv_get("account") or {}
        signed_in = bool((store.kv_get("auth") or {}).get("access_token"))
        status = store.kv_get(KV_STATUS) or {}
        stats = store.queue_stats()
        counts = store.op_counts()
        errors = store.kv_get(KV_PHOTO_ERRORS) or {}
        print(f"server:       {store.kv_get(KV_SERVER) or '-'}")
        who = account.get("username", "-")
        print(f"user:         {who}{'' if signed_in else ' (not signed in)'}")
        print(f"device:       {store.kv_get('device_id') or '-'}")
        print(f"pull cursor:  {store.kv_get(KV_CURSOR, 0)}")
        print(f"last sync:    {status.get('last_success_at') or 'never'}")
        print(f"last error:   {status.get('last_error') or '-'}")
        summary = ", ".join(f"{state} {n}" for state, n in sorted(counts.items())) or "empty"
        print(f"operations:   {summary}")
        print(f"queue:        {stats.queue_depth} to send, oldest {stats.oldest_pending_s} s")
        print(f"photos:       {stats.photos_pending} not uploaded, {len(errors)} refused")
        lines = _queue_lines(store)
        if len(lines) > 1:
            print()
            print("\n".join(lines))
        for photo_id, message in sorted(errors.items()):
            print(f"photo {photo_id}: {message}")
    finally:
        store.close()
    return EXIT_OK


def _left(store: Store) -> list[str]:
    """What is still not on the server (empty: all sent)."""
    counts = store.op_counts()
    stats = store.queue_stats()
    left = [
        f"{counts[state]} {state}"
        for state in ("waiting_photos", "pending", "sending", "rejected", "conflict")
        if counts.get(state)
    ]
    if stats.photos_pending:
        left.append(f"{stats.photos_pending} photos not uploaded")
    return left


def cmd_sync(args: argparse.Namespace) -> int:
    store, client = _open(args)
    try:
        if not client.signed_in:
            raise _Usage("not signed in: run login first")
        photos = Path(args.data_dir) / PHOTOS_DIR
        # Start-up recovery (a previous run or the app may have been killed mid-way).
        Capture(store, photos, PhotoProcessor(background=False)).recover()
        engine = SyncEngine(
            store=store,
            client=client,
            photos_dir=photos,
            on_progress=None if args.quiet else ProgressBar(sys.stderr),
            batch_size=args.batch_size,
            wifi_only=lambda: args.wifi_only,
            on_wifi=lambda: False,
        )
        outcome = engine.sync_once()
        if engine.auth_required:
            raise _Usage(outcome.error)
        left = _left(store)
    finally:
        client.close()
        store.close()
    print(
        f"pulled {outcome.pulled}, applied {outcome.applied}, rejected {outcome.rejected}, "
        f"conflicts {outcome.conflicts}, photos {outcome.photos_sent}"
    )
    if outcome.error:
        print(f"error: {outcome.error}")
    if left:
        print("left: " + ", ".join(left))
        return EXIT_LEFT
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m inspector_app.core.sync_cli", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--data-dir", required=True, help="the app's data directory")
    parser.add_argument("--server", help="server URL, e.g. http://127.0.0.1:8000")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    sub = parser.add_subparsers(dest="command", required=True)
    login = sub.add_parser("login", help="sign in (stores the tokens in the data dir)")
    login.add_argument("--username", required=True)
    login.add_argument("--password-stdin", action="store_true", help="read the password")
    login.set_defaults(run=cmd_login)
    sub.add_parser("status", help="show the queue").set_defaults(run=cmd_status)
    sync = sub.add_parser("sync", help="one sync cycle: pull, push, photos")
    sync.add_argument("--quiet", action="store_true", help="no progress bar")
    sync.add_argument("--batch-size", type=int, default=100)
    sync.add_argument("--wifi-only", action="store_true", help="act as on mobile data")
    sync.set_defaults(run=cmd_sync)
    sub.add_parser("logout", help="sign out").set_defaults(run=cmd_logout)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    try:
        code: int = args.run(args)
        return code
    except _Usage as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (ApiError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_LEFT


if __name__ == "__main__":
    sys.exit(main())
