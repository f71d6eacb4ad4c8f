"""The /v1 routes: ask, search, documents, feedback. They call the pipeline and hold no QA logic."""

from __future__ import annotations

import asyncio
import hmac
import math
from typing import Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from qa.config import ReaderKind
from qa.question import QuestionError, check_question
from qa.types import Citation
from web.errors import ApiError, question_error
from web.state import ServerState


def authorized(request: Request) -> None:
    """With SANAD_API_TOKEN set, the request must carry `Authorization: Bearer <token>`."""
    token = ServerState.of(request).settings.api_token
    if token is None:
        return
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    # compare_digest: the time taken does not tell how much of a guess was right.
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.get_secret_value().encode()):
        raise ApiError(401, "auth", "هذه الخدمة تتطلب رمز دخول صحيحًا (Authorization: Bearer …).",
                       {"WWW-Authenticate": "Bearer"})  # fmt: skip


def rate_limited(request: Request) -> None:
    """429 once a client (by IP address) is over SANAD_API_RATE_LIMIT requests a minute."""
    wait = ServerState.of(request).limiter.wait_for(client_address(request))
    if wait > 0:
        raise ApiError(429, "rate_limit", f"طلبات كثيرة في وقت قصير. حاول مرة أخرى بعد {math.ceil(wait)} ثانية.",
                       {"Retry-After": str(math.ceil(wait))})  # fmt: skip


def client_address(request: Request) -> str:
    """The client's IP address: the peer's, or the one a trusted proxy names (SANAD_API_TRUSTED_PROXIES)."""
    return request.client.host if request.client else "-"


router = APIRouter(prefix="/v1", tags=["v1"], dependencies=[Depends(authorized), Depends(rate_limited)])


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(
        description="The question, in Arabic", examples=["من هو المتحدث باسم وزارة الخارجية الأمريكية؟"]
    )
    top_k: int | None = Field(default=None, ge=1, le=100, description="Passages to read (default: SANAD_TOP_K)")
    reader: ReaderKind | None = Field(default=None, description="Which reader (default: the server's)")


class AskOut(BaseModel):
    """For the docs: the shape that `Answer.to_dict()` writes (the `sanad ask --json` object)."""

    question: str
    answer: str | None
    score: float
    reader: str
    latency_ms: float
    citations: list[Citation]


class Vote(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(max_length=1000)
    answer: str | None = Field(default=None, max_length=1000)
    doc_id: str | None = Field(default=None, max_length=500)
    passage_id: str | None = Field(default=None, max_length=500)
    score: float | None = None
    reader: str | None = Field(default=None, max_length=200)
    vote: Literal["up", "down"]


@router.post("/ask", responses={200: {"model": AskOut}})
async def ask(body: AskRequest, request: Request) -> JSONResponse:
    """Answer one question: exactly the `sanad ask --json` object."""
    state = ServerState.of(request)
    state.service.ready_pipeline()  # 503 at once while loading, rather than after a wait in the pool
    checked(body.question)
    answer, timings = await state.service.run(state.service.ask, body.question, body.top_k, body.reader)
    state.metrics.observe_answer(answer, timings)
    return JSONResponse(answer.to_dict())


@router.get("/search")
async def search(
    request: Request,
    q: str = Query(description="The question or search words"),
    k: int | None = Query(default=None, ge=1, le=100, description="How many passages (default: SANAD_TOP_K)"),
) -> dict[str, object]:
    """The passages retrieval ranks first for `q`, with their scores (no reading)."""
    state = ServerState.of(request)
    pipeline = state.service.ready_pipeline()
    checked(q)
    hits = await state.service.run(pipeline.search, q, k)
    documents = pipeline.index.documents
    return {
        "query": q.strip(),
        "hits": [
            {
                "rank": hit.rank,
                "score": round(float(hit.score), 6),
                "title": getattr(documents.get(hit.passage.doc_id), "title", ""),
                "source": getattr(documents.get(hit.passage.doc_id), "source", ""),
                "passage": hit.passage.to_dict(),
            }
            for hit in hits
        ],
    }


@router.get("/documents/{doc_id:path}")
async def document(doc_id: str, request: Request) -> dict[str, object]:
    """One document of the corpus, whole: id, title, text, source, meta."""
    found = ServerState.of(request).service.ready_pipeline().index.documents.get(doc_id)
    if found is None:
        raise ApiError(404, "not_found", f"لا يوجد في المستندات مستند بالمعرّف «{doc_id}».")
    return found.to_dict()


@router.post("/feedback", status_code=201)
async def feedback(vote: Vote, request: Request, response: Response) -> dict[str, bool]:
    """A 👍/👎 on an answer, stored with the bot's votes: 201 when recorded, 200 with `recorded: false`
    when this client voted on that answer already (the first vote stands)."""
    recorded = await asyncio.to_thread(ServerState.of(request).votes.record, client_address(request), vote.model_dump())
    if not recorded:
        response.status_code = 200
    return {"recorded": recorded}


def checked(question: str) -> str:
    """The question checked as the pipeline will check it, on the event loop: a bad one never waits in the pool."""
    try:
        return check_question(question)
    except QuestionError as err:
        raise question_error(err, question) from None
