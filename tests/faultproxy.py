"""A fault-injecting HTTP/1.1 proxy on loopback, for chaos tests of the sync engine.

The client talks to the proxy (``proxy.url``) instead of the server. Each request is read
whole from the client, then one fault is drawn for it from a seeded ``random.Random``
(same seed, same sequence of decisions in request order):

=================  ===========================================================================
``reset``          the connection is closed before the request is read (connect/reset error)
``error_503``      the proxy answers 503 with the error envelope itself; the server sees nothing
``drop_request``   part of the request (headers, or headers and part of the body) reaches the
                   server, then both sides close: the server sees a client gone mid-request,
                   the client no answer
``drop_response``  the server handles the request completely, the client gets nothing: the
                   lost-response case, where a retry must not duplicate anything
``truncate``       the client gets the status line, the headers and part of the body, then EOF
=================  ===========================================================================

Independently, ``delay`` holds a request for up to ``max_delay_s`` before forwarding.
Upstream gets one fresh connection per request with ``Connection: close`` (the response
ends at EOF, so the proxy needs no response framing); the client's connection is closed
after each answer too (the response says ``Connection: close``). When the server is down
(restarting), a request gets 502 or a reset, as behind a real reverse proxy.

Use as a context manager: ``with FaultProxy(upstream_port, Faults(...), seed=1) as proxy:``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import socket
import struct
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from types import TracebackType

FAULT_KINDS = ("reset", "error_503", "drop_request", "drop_response", "truncate")
MAX_HEADER_BYTES = 64 * 1024


@dataclass(frozen=True)
class Faults:
    """Probabilities per request. The five exclusive faults must sum to at most 1."""

    reset: float = 0.0
    error_503: float = 0.0
    drop_request: float = 0.0
    drop_response: float = 0.0
    truncate: float = 0.0
    delay: float = 0.0  # independent of the others
    max_delay_s: float = 0.05

    def __post_init__(self) -> None:
        for f in fields(self):
            if getattr(self, f.name) < 0:
                raise ValueError(f"{f.name} must not be negative")
        if self.exclusive_total() > 1.0 + 1e-9:
            raise ValueError(f"the exclusive fault rates sum to {self.exclusive_total()} > 1")
        if self.delay > 1.0:
            raise ValueError("delay is a probability (at most 1)")

    def exclusive_total(self) -> float:
        return float(sum(getattr(self, kind) for kind in FAULT_KINDS))


NO_FAULTS = Faults()


@dataclass
class ProxyStats:
    requests: int = 0
    forwarded: int = 0  # reached the server (whole request)
    upstream_down: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    # (method, target, fault or "", delay in s) per request, in decision order
    decisions: list[tuple[str, str, str, float]] = field(default_factory=list)

    def summary(self) -> str:
        parts = ", ".join(f"{k}={self.faults[k]}" for k in (*FAULT_KINDS, "delay"))
        return (
            f"{self.requests} requests, {self.forwarded} forwarded, "
            f"{self.upstream_down} while the server was down; faults: {parts}"
        )


@dataclass(frozen=True)
class _Request:
    method: str
    target: str
    head: bytes  # request line and headers as forwarded (Connection: close), with CRLFCRLF
    body: bytes  # raw body bytes as received (chunked framing kept)


class BadRequest(Exception):
    pass


def _error_body(code: str, message: str) -> bytes:
    return json.dumps(
        {"error": {"code": code, "message": message, "details": None}}, ensure_ascii=False
    ).encode()


def _response(status: int, reason: str, body: bytes, content_type: str) -> bytes:
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        f"content-type: {content_type}\r\n"
        f"content-length: {len(body)}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body


ANSWER_503 = _response(
    503,
    "Service Unavailable",
    _error_body("fault_proxy_503", "fault proxy: service unavailable (injected)"),
    "application/json",
)
# What nginx says when its upstream is down: HTML, not the API's envelope.
ANSWER_502 = _response(
    502, "Bad Gateway", b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html"
)


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    """The raw bytes of a chunked body, framing included (forwarded as is)."""
    raw = bytearray()
    while True:
        size_line = await reader.readuntil(b"\r\n")
        raw += size_line
        size = int(size_line.split(b";")[0].strip(), 16)
        if size == 0:
            while True:  # trailers, then the empty line
                line = await reader.readuntil(b"\r\n")
                raw += line
                if line == b"\r\n":
                    return bytes(raw)
        raw += await reader.readexactly(size + 2)


async def _read_request(reader: asyncio.StreamReader) -> _Request | None:
    """One request from the client, or None when it closed the connection cleanly."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            return None
        raise BadRequest("connection closed inside the request headers") from exc
    except asyncio.LimitOverrunError as exc:
        raise BadRequest("request headers too long") from exc
    lines = head.decode("latin-1").split("\r\n")
    try:
        method, target, _version = lines[0].split(" ", 2)
    except ValueError as exc:
        raise BadRequest(f"bad request line {lines[0]!r}") from exc
    kept: list[str] = []
    length = 0
    chunked = False
    for line in lines[1:]:
        if not line:
            continue
        name, _, value = line.partition(":")
        lower = name.strip().lower()
        if lower in ("connection", "keep-alive", "proxy-connection"):
            continue
        if lower == "content-length":
            length = int(value.strip())
        if lower == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
        kept.append(line)
    kept.append("Connection: close")
    forwarded = ("\r\n".join([lines[0], *kept]) + "\r\n\r\n").encode("latin-1")
    if chunked:
        body = await _read_chunked(reader)
    else:
        body = await reader.readexactly(length) if length else b""
    return _Request(method=method, target=target, head=forwarded, body=body)


class FaultProxy:
    """The proxy, running its own event loop in a daemon thread."""

    def __init__(
        self,
        upstream_port: int,
        faults: Faults = NO_FAULTS,
        *,
        seed: int = 0,
        upstream_host: str = "127.0.0.1",
        applies_to: Callable[[str, str], bool] | None = None,
        upstream_timeout_s: float = 60.0,
    ) -> None:
        """``applies_to(method, target)`` limits faults to some requests (default all)."""
        self.upstream_host = upstream_host
        self.upstream_port = upstream_port
        self.seed = seed
        self.stats = ProxyStats()
        self.upstream_timeout_s = upstream_timeout_s
        self._faults = faults
        self._applies_to = applies_to
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._start_error: BaseException | None = None
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def faults(self) -> Faults:
        return self._faults

    def set_faults(
        self, faults: Faults, *, applies_to: Callable[[str, str], bool] | None = None
    ) -> None:
        """Change the rates (and which requests they apply to, default all) at once,
        e.g. NO_FAULTS for a final clean run."""
        with self._lock:
            self._faults = faults
            self._applies_to = applies_to

    # ------------------------------------------------------------ life cycle
    def start(self) -> FaultProxy:
        self._thread = threading.Thread(target=self._run, name="fault-proxy", daemon=True)
        self._thread.start()
        self._started.wait(10)
        if self._start_error is not None or self._server is None:
            raise RuntimeError(f"the fault proxy did not start: {self._start_error!r}")
        return self

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            self._server = loop.run_until_complete(
                asyncio.start_server(self._handle, sock=self._sock, limit=MAX_HEADER_BYTES)
            )
        except BaseException as exc:  # reported by start()
            self._start_error = exc
            self._started.set()
            loop.close()
            return
        self._started.set()
        try:
            loop.run_forever()
        finally:
            self._server.close()
            loop.run_until_complete(self._server.wait_closed())
            for task in asyncio.all_tasks(loop):
                task.cancel()
            with contextlib.suppress(Exception):
                loop.run_until_complete(asyncio.sleep(0))
            loop.close()

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._sock.close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ------------------------------------------------------------ decisions
    def _decide(self, method: str, target: str) -> tuple[str | None, float, float]:
        """(fault or None, delay in s, cut fraction) for one request, under the lock."""
        with self._lock:
            self.stats.requests += 1
            faults = self._faults
            draw, delay_draw, delay_len, cut = (self._rng.random() for _ in range(4))
            if self._applies_to is not None and not self._applies_to(method, target):
                self.stats.decisions.append((method, target, "", 0.0))
                return None, 0.0, cut
            fault: str | None = None
            edge = 0.0
            for kind in FAULT_KINDS:
                edge += getattr(faults, kind)
                if draw < edge:
                    fault = kind
                    break
            delay = delay_len * faults.max_delay_s if delay_draw < faults.delay else 0.0
            if fault:
                self.stats.faults[fault] += 1
            if delay:
                self.stats.faults["delay"] += 1
            self.stats.decisions.append((method, target, fault or "", delay))
            return fault, delay, cut

    # ------------------------------------------------------------ one connection
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self._serve_one(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, BadRequest, TimeoutError, OSError):
            pass  # a client that went away, or a request we cannot parse: just close
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _serve_one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await _read_request(reader)
        if request is None:
            return
        fault, delay, cut = self._decide(request.method, request.target)
        if delay:
            await asyncio.sleep(delay)
        if fault == "reset":
            _abort(writer)
            return
        if fault == "error_503":
            writer.write(ANSWER_503)
            await writer.drain()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(
                self.upstream_host, self.upstream_port
            )
        except OSError:
            with self._lock:
                self.stats.upstream_down += 1
                down_answer = self._rng.random() < 0.5
            if down_answer:
                writer.write(ANSWER_502)
                await writer.drain()
            else:
                _abort(writer)
            return
        try:
            if fault == "drop_request":
                # Part of the request (never all of it): the server sees a client gone
                # mid-request and must not act on it.
                whole = request.head + request.body
                up_writer.write(whole[: min(int(len(whole) * cut), len(whole) - 1)])
                await up_writer.drain()
                _abort(writer)
                return
            up_writer.write(request.head + request.body)
            await up_writer.drain()
            answer = await asyncio.wait_for(up_reader.read(), self.upstream_timeout_s)
            with self._lock:
                self.stats.forwarded += 1
            if fault == "drop_response":
                _abort(writer)
                return
            if fault == "truncate":
                answer = _truncated(answer, cut)
            writer.write(answer)
            await writer.drain()
            if fault == "truncate":
                _abort(writer)
        finally:
            up_writer.close()
            with contextlib.suppress(Exception):
                await up_writer.wait_closed()


def _truncated(answer: bytes, cut: float) -> bytes:
    """Part of a response, always incomplete: cut inside the body when there is one, else
    inside the headers (a 204 with its headers whole would be a complete answer)."""
    end = answer.find(b"\r\n\r\n")
    head_len = end + 4 if end >= 0 else len(answer)
    body_len = len(answer) - head_len
    if body_len > 0:
        return answer[: head_len + min(int(body_len * cut), body_len - 1)]
    return answer[: min(int(head_len * cut), max(head_len - 1, 0))]


def _abort(writer: asyncio.StreamWriter) -> None:
    """Close with a reset (RST), as a dying peer or middlebox does, not a clean FIN."""
    transport = writer.transport
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
