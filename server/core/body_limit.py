"""A cap on multipart request bodies, checked before anything is read.

Starlette parses a multipart form (spooling files to disk) before the route runs, so the
per-file limits of a route come too late to stop a huge body. A declared Content-Length
over the cap is answered 413 at once; a body without one (chunked: httpx sends file
objects so) is counted as it is read and cut off with 413 once over the cap. tus PATCHes
are not multipart and have their own limit (Upload-Length, checked before the body).
"""

import json
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class MultipartBodyLimit:
    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if not headers.get("content-type", "").lower().startswith("multipart/"):
            await self.app(scope, receive, send)
            return
        length = headers.get("content-length", "")
        if not length.isdigit():
            await self.app(scope, self._counting(receive), send)
            return
        if int(length) > self.max_bytes:
            await _refuse(
                send,
                413,
                "too_large",
                f"the request body is {int(length)} bytes; at most {self.max_bytes} are accepted",
            )
            return
        await self.app(scope, receive, send)

    def _counting(self, receive: Receive) -> Receive:
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    # FastAPI lets an HTTPException raised while it reads the form through
                    # (anything else becomes a 400 "error parsing the body").
                    raise HTTPException(
                        413, f"the request body is over the {self.max_bytes} bytes accepted"
                    )
            return message

        return counted


async def _refuse(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps({"error": {"code": code, "message": message, "details": None}}).encode()
    headers: list[Any] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),  # the unread body must not be taken for a request
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
