"""Liveness, readiness and the Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from web.api import authorized
from web.state import ServerState

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process answers (whether or not the index and reader are loaded yet)."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> dict[str, object]:
    """200 once the index and reader are loaded; 503 in the error shape before then, or when loading failed."""
    pipeline = ServerState.of(request).service.ready_pipeline()
    return {
        "status": "ready",
        "documents": len(pipeline.index.documents),
        "passages": len(pipeline.index.passages),
        "reader": pipeline.reader.name,
        "no_answer_threshold": pipeline.no_answer_threshold,  # the page's confidence words are bands above it
    }


@router.get("/metrics", dependencies=[Depends(authorized)])
async def metrics(request: Request) -> Response:
    """Prometheus text format: requests, latency by route and by pipeline stage, answers by outcome."""
    return Response(ServerState.of(request).metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
