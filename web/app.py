"""The FastAPI application: the pipeline loaded once in the lifespan, the routes, the limits, the page."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from importlib.metadata import version
from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from qa.config import Settings
from qa.pipeline import Pipeline
from web import api, ops
from web.errors import install_handlers
from web.feedback import WebVotes
from web.limits import BodyLimit, ClientRateLimit
from web.metrics import Metrics
from web.requestlog import RequestLog
from web.service import AnswerService
from web.state import ServerState

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
# The page runs only its own files: an answer or question that holds markup can never run as script.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def create_app(
    settings: Settings, pipeline: Pipeline | None = None, on_load_failure: Callable[[Exception], None] | None = None
) -> FastAPI:
    """The server for `settings`; with `pipeline` given (tests), that one instead of loading from the settings.

    Loading from the settings runs in the background: /healthz answers at once, /readyz and /v1 say 503
    until it is done; `on_load_failure` hears of a failure (`sanad serve` then stops with its message).
    """
    state = ServerState(
        settings, AnswerService(settings), Metrics(), ClientRateLimit(settings.api_rate_limit), WebVotes(settings.data_dir)
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        loading = None
        if pipeline is not None:
            state.service.load(pipeline)
        else:
            loading = asyncio.create_task(_load(state.service, on_load_failure))
        try:
            yield
        finally:
            if loading is not None:
                loading.cancel()
            state.service.close()
            state.votes.close()

    # /docs and /redoc from files in the fastapi-offline wheel: FastAPI's own pages load Swagger UI from a CDN.
    app = FastAPIOffline(
        title="Sanad (سند)",
        version=version("sanad-qa"),
        description="Cited answers to Arabic questions over a corpus | إجابات موثقة عن أسئلة عربية",
        lifespan=lifespan,
    )
    app.state.sanad = state
    install_handlers(app)
    app.include_router(api.router)
    app.include_router(ops.router)

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers=PAGE_HEADERS)

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    if settings.api_cors_origins:  # off unless origins are named: browsers then refuse other sites' calls
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.api_cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["authorization", "content-type", "x-request-id"],
        )
    app.add_middleware(BodyLimit, max_bytes=settings.api_max_body_bytes)
    app.add_middleware(RequestLog, metrics=state.metrics)  # it sees every response, 413s too
    # Outermost, so every part sees the real client; here rather than in uvicorn so the test client has it too.
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.api_trusted_proxies)
    return app


async def _load(service: AnswerService, on_failure: Callable[[Exception], None] | None) -> None:
    try:
        await asyncio.to_thread(service.load)
    except Exception as err:
        if service.load_error is None:
            log.exception("loading the index and reader failed")
        else:
            log.error("cannot load the index and reader: %s", err)
        if on_failure is not None:
            on_failure(err)
