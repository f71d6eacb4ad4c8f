"""Per-client rate limit (a token bucket per IP address) and the request body size limit."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class ClientRateLimit:
    """`per_minute` requests a minute per client, in bursts of up to `per_minute`; 0 means no limit."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens left, when counted)
        self._lock = threading.Lock()

    def wait_for(self, client: str) -> float:
        """Count one request for `client`: 0.0 if it may go ahead, else the seconds until it may."""
        if self.per_minute <= 0:
            return 0.0
        rate = self.per_minute / 60.0
        with self._lock:
            now = self._clock()
            tokens, then = self._buckets.get(client, (float(self.per_minute), now))
            tokens = min(float(self.per_minute), tokens + (now - then) * rate)
            if tokens < 1.0:
                self._buckets[client] = (tokens, now)
                return (1.0 - tokens) / rate
            self._buckets[client] = (tokens - 1.0, now)
            if len(self._buckets) > 4096:
                self._forget_full(now, rate)
            return 0.0

    def _forget_full(self, now: float, rate: float) -> None:
        # A client whose bucket has refilled is the same as one never seen: it needs no memory.
        for client, (tokens, then) in list(self._buckets.items()):
            if tokens + (now - then) * rate >= self.per_minute:
                del self._buckets[client]


class BodyTooLarge(HTTPException):
    """Raised from `receive`: an HTTPException, so FastAPI's body parsing passes it on as it is."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"الطلب أكبر من الحد المسموح ({max_bytes} بايت).")


class BodyLimit:
    """ASGI middleware: a body over `max_bytes` gets 413 before the app parses it, declared or streamed."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:  # read outside a route (which turns it into its JSON error itself)
            if not started:
                await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        message = BodyTooLarge(self.max_bytes).detail
        body = json.dumps(
            {"error": message, "kind": "request", "exit_code": 2}, ensure_ascii=False, separators=(",", ":")
        ).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
