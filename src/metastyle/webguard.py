"""ASGI middleware that keeps a local web app to its own page and its own pace.

- `SameOrigin`: a browser names the page that sends a request in its Origin header; a request
  from any other page (any site the user visits can post to http://127.0.0.1) is refused.
- `BoundedBody`: a body larger than the limit, or one that has not arrived by the deadline, is
  answered 413 or 408 and the connection closed, so neither a huge upload nor a client that
  stops sending holds the server. A declared Content-Length over the limit is refused unread.
- `head_deadline`: uvicorn waits for a request's line and headers without end, and counts every
  open connection against its concurrency limit, so a few hundred clients that never finish their
  headers would have every other request answered 503; each head now has a deadline.
Host names are checked by Starlette's TrustedHostMiddleware (DNS rebinding); malformed requests
(a negative or non-numeric Content-Length) never get past uvicorn's HTTP parser, which answers 400.
"""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlsplit

import anyio
import h11
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

CLOSE = {"Connection": "close"}  # after an unread body the connection cannot serve another request


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


async def send_error(send: Send, status: int, message: str, headers: dict[str, str] | None = None) -> None:
    """A one-line JSON error, as the app's own handlers answer."""
    body = json.dumps({"error": message}).encode()
    extra = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *extra]})
    await send({"type": "http.response.body", "body": body})


class SameOrigin:
    """Refuse (403) any request whose Origin is not the page's own scheme and Host."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (origin := _header(scope, b"origin")) is not None:
            parts = urlsplit(origin)
            if (parts.scheme, parts.netloc) != (scope["scheme"], _header(scope, b"host")):
                return await send_error(send, 403, f"requests from other sites are refused (Origin: {origin[:100]})", CLOSE)
        await self.app(scope, receive, send)


class BoundedBody:
    """Refuse bodies over `max_bytes` (413) and bodies not received within `seconds` (408)."""

    def __init__(self, app: ASGIApp, max_bytes: int, seconds: float) -> None:
        self.app, self.max_bytes, self.seconds = app, max_bytes, seconds

    def too_large(self) -> HTTPException:
        return HTTPException(413, f"the request is over the limit of {self.max_bytes / 2**20:.1f} MB", CLOSE)

    async def drain(self, receive: Receive, seconds: float = 3.0) -> None:
        """Read away (for a few seconds, up to the limit again) what the client is still sending:
        closing on unread data resets the connection, and the client would never see the 413."""
        drained = 0
        with anyio.move_on_after(seconds):
            while drained <= self.max_bytes:
                message = await receive()
                drained += len(message.get("body", b""))
                if message["type"] != "http.request" or not message.get("more_body", False):
                    return

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = _header(scope, b"content-length")  # uvicorn has checked that it is a number
        if declared is not None and int(declared) > self.max_bytes:
            error = self.too_large()
            return await send_error(send, error.status_code, error.detail, error.headers)
        deadline = anyio.current_time() + self.seconds
        received, complete = 0, False

        async def bounded_receive() -> Message:
            nonlocal received, complete
            if complete:  # later calls wait for the client to disconnect: no deadline on that
                return await receive()
            with anyio.move_on_after(deadline - anyio.current_time()) as timer:
                message = await receive()
            if timer.cancelled_caught:
                raise HTTPException(408, f"the request body did not arrive within {self.seconds:g} s", CLOSE)
            received += len(message.get("body", b""))
            complete = message["type"] != "http.request" or not message.get("more_body", False)
            if received > self.max_bytes:
                if not complete:
                    await self.drain(receive)
                raise self.too_large()
            return message

        await self.app(scope, bounded_receive, send)


def head_deadline(seconds: float) -> type[H11Protocol]:
    """uvicorn's h11 protocol, closing a connection whose next request head has not arrived
    `seconds` after the connection opened or the last response ended."""

    class HeadDeadline(H11Protocol):
        deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def on_response_complete(self) -> None:
            self._arm()  # before the next pipelined request is parsed, which disarms it
            super().on_response_complete()

        def handle_events(self) -> None:
            super().handle_events()
            if self.conn.their_state is not h11.IDLE:  # a head has arrived
                self._disarm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._disarm()
            self.deadline = self.loop.call_later(seconds, self._expire)

        def _disarm(self) -> None:
            if self.deadline is not None:
                self.deadline.cancel()
                self.deadline = None

        def _expire(self) -> None:
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                self.transport.close()

    return HeadDeadline
