"""A server process's start: the work FastAPI would otherwise do on the first requests,
done before the first client waits, then the heap frozen.

- FastAPI builds each included router's route state (dependants, the pydantic
  adapters of bodies and responses) the first time a request is matched against that
  router. The first sync after a restart paid ~110 ms for it, the first sign-in another
  ~75 ms. One request to a path no route has is matched against every router, so it
  builds them all. (Admin templates still compile on their first use, ~20-30 ms each.)
- `gc.freeze`: the heap as it then stands (modules, routes, validators: ~160,000
  objects) lives as long as the process, yet every full collection walked it. A push of
  100 operations allocates enough to trigger collections; in-process they took ~4 of its
  ~35 ms of CPU, ~0.7 ms frozen (docs/benchmarks.md).

Only in a server process (`server.main:serve_app`): a test process builds many apps,
and what it froze would never be collected.
"""

import gc
import logging

from starlette.types import ASGIApp, Message

log = logging.getLogger(__name__)

# Under the API prefix, where no route is: answered 404 after every router was tried.
WARM_UP_PATH = "/api/v1/-warm-up-"


async def warm_up(app: ASGIApp) -> int:
    """Send one GET for WARM_UP_PATH through the whole app; returns its status."""
    status = 0
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:  # the request is over: tell the app the client left
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": WARM_UP_PATH,
        "raw_path": WARM_UP_PATH.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"warm-up")],
        "client": ("127.0.0.1", 0),
        "server": ("127.0.0.1", 0),
        "state": {},
    }
    await app(scope, receive, send)
    return status


async def prepare(app: ASGIApp) -> None:
    """Warm up, then freeze the heap. The warm-up only saves the first clients some
    milliseconds: if it fails, the server starts anyway and says so in its log."""
    try:
        status = await warm_up(app)
    except Exception:
        log.exception("warm-up failed; serving anyway (the first requests build the routes)")
    else:
        if status != 404:
            log.warning(
                "warm-up: %s was answered %d, not 404: a route matches it, so the routers "
                "after that route were not built",
                WARM_UP_PATH,
                status,
            )
    freeze_heap()


def freeze_heap() -> None:
    gc.collect()  # garbage left by the start is freed, not frozen
    gc.freeze()
    log.info("%d objects frozen out of the collector's sight", gc.get_freeze_count())
