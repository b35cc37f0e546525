"""`whistle-server`: serve, migrate, seed-demo, create-user, expire-uploads (design.md)."""

import argparse
import sys
from collections.abc import Sequence

from sqlmodel import Session, col, select

from server.core.config import Settings, get_settings
from server.core.db import make_engine
from server.core.errors import ApiError
from shared_schemas.enums import Role


def _migrate(settings: Settings) -> None:
    from server.core.migrations import upgrade_to_head
    from server.taxonomy.reference import sync_reference_data

    upgrade_to_head(settings.database_url)
    engine = make_engine(settings)
    with Session(engine) as session:
        added = sync_reference_data(session)
        session.commit()
    engine.dispose()
    print(f"database at head; {added} reference rows added")


def cmd_migrate(_args: argparse.Namespace, settings: Settings) -> int:
    _migrate(settings)
    return 0


def cmd_seed_demo(_args: argparse.Namespace, settings: Settings) -> int:
    from server.demo.seed import DEMO_PASSWORD, DEMO_USERS, seed_demo

    _migrate(settings)
    engine = make_engine(settings)
    with Session(engine) as session:
        seed_demo(session, settings)
        session.commit()
    engine.dispose()
    print("demo data ready. Sign in as one of: " + ", ".join(DEMO_USERS))
    print(f"password for every demo user: {DEMO_PASSWORD}")
    return 0


def cmd_create_user(args: argparse.Namespace, settings: Settings) -> int:
    from server.accounts.admin_service import create_user

    if not args.password_stdin:
        print("error: give the password on standard input with --password-stdin", file=sys.stderr)
        return 2
    password = sys.stdin.readline().rstrip("\r\n")
    engine = make_engine(settings)
    try:
        with Session(engine) as session:
            user = create_user(
                session,
                settings,
                username=args.username,
                password=password,
                role=Role(args.role),
                area_codes=args.area or [],
                organisation_code=args.organisation,
                display_name=args.display_name,
            )
            session.commit()
            print(f"created {user.role.value} {user.username!r}")
    except ApiError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    return 0


def cmd_expire_uploads(_args: argparse.Namespace, settings: Settings) -> int:
    """Delete unfinished tus uploads past their expiry, web photos no step took within
    the expiry, then partial files that no upload names (left by a crash between the file
    and the commit) once older than the expiry."""
    from datetime import timedelta

    from server.cases.web_photos import sweep_unattached
    from server.core.clock import utcnow
    from server.core.planner_stats import refresh_planner_statistics
    from server.storage.factory import make_storage
    from server.uploads.models import Upload
    from server.uploads.partial import partial_dir
    from server.uploads.service import expire_uploads

    now = utcnow()
    engine = make_engine(settings)
    storage = make_storage(settings)
    removed = swept = 0
    try:
        with Session(engine) as session:
            while batch := expire_uploads(session, settings=settings, now=now, limit=500):
                removed += batch
            # web photos that no step ever took, as old as an abandoned upload
            created_before = now - timedelta(hours=settings.upload_expiry_hours)
            while batch := sweep_unattached(
                session, storage=storage, created_before=created_before
            ):
                swept += batch
            # a finished upload's partial file is garbage too (crash before its unlink)
            unfinished = select(Upload.id).where(col(Upload.completed_at).is_(None))
            known = {str(u) for u in session.exec(unfinished)}
        refresh_planner_statistics(engine)  # SQLite: the planner's table statistics
    finally:
        engine.dispose()
    cutoff = (now - timedelta(hours=settings.upload_expiry_hours)).timestamp()
    orphans = 0
    directory = partial_dir(settings.storage_dir)
    for path in directory.iterdir() if directory.is_dir() else ():
        if path.is_file() and path.name not in known and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            orphans += 1
    print(f"{removed} expired uploads deleted; {orphans} orphan partial files removed")
    print(f"{swept} web photos never attached to a step deleted")
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    print(f"Whistle API on http://{args.host}:{args.port}/api/v1  (docs: /docs)")
    uvicorn.run(
        "server.main:serve_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="info",
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="whistle-server", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the API server (uvicorn)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    serve.set_defaults(func=cmd_serve)
    sub.add_parser("migrate", help="upgrade the database to the latest schema").set_defaults(
        func=cmd_migrate
    )
    sub.add_parser("seed-demo", help="migrate, then add the demo street (idempotent)").set_defaults(
        func=cmd_seed_demo
    )
    sub.add_parser(
        "expire-uploads",
        help="delete unfinished photo uploads past WHISTLE_UPLOAD_EXPIRY_HOURS (run from cron)",
    ).set_defaults(func=cmd_expire_uploads)
    create = sub.add_parser("create-user", help="add a user; password read from standard input")
    create.add_argument("--username", required=True)
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.add_argument("--area", action="append", metavar="CODE", help="area code (repeatable)")
    create.add_argument(
        "--organisation", metavar="CODE", help="organisation code (patrol, department)"
    )
    create.add_argument("--display-name")
    create.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin"
    )
    create.set_defaults(func=cmd_create_user)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = get_settings()
    except ValueError as exc:
        print(f"error: configuration: {exc}", file=sys.stderr)
        return 2
    code: int = args.func(args, settings)
    return code


if __name__ == "__main__":
    sys.exit(main())
