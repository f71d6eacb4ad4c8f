"""Request ids, one log line per request, and the request metrics (a pure ASGI middleware)."""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from web.metrics import Metrics

log = logging.getLogger(__name__)

# A caller's own id is kept when it is short and plain, so that it cannot forge log lines.
_CALLER_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


class RequestLog:
    """Gives each request an id (the caller's X-Request-ID, or a new one), echoed in the response and logged.

    The log line has the method, the path without its query string (questions stay out of the log) and
    the status; headers, the bearer token among them, are never logged.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _CALLER_ID.fullmatch(given) else uuid.uuid4().hex[:16]
        scope["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or _static_or_other(scope["path"])
            self.metrics.observe_request(scope["method"], route, status, seconds)
            log.info("request %s: %s %s -> %d in %.1f ms", request_id, scope["method"], scope["path"], status,
                     seconds * 1000)  # fmt: skip


def _static_or_other(path: str) -> str:
    # Route templates only, never raw paths, as metric labels: a label per typo would grow without end.
    return "/static" if path.startswith("/static/") else "other"
