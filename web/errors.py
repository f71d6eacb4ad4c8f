"""Errors as JSON in the CLI's `--json` shape, {"error", "kind", "exit_code"}, with the right HTTP status."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from qa.question import MAX_QUESTION_CHARS, QuestionError

log = logging.getLogger(__name__)


class ApiError(Exception):
    """A request the server refuses: its status, the CLI-style kind, and a message for the person asking."""

    def __init__(self, status: int, kind: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.message = message
        self.headers = headers

    @property
    def exit_code(self) -> int:
        # The CLI's convention: 2 for what the caller can fix, 1 for what the server cannot do now.
        return 1 if self.status in (429, 500, 503) else 2


def error_response(err: ApiError) -> JSONResponse:
    body = {"error": err.message, "kind": err.kind, "exit_code": err.exit_code}
    return JSONResponse(body, status_code=err.status, headers=err.headers)


def question_error(err: QuestionError, question: str) -> ApiError:
    """400 for a question that cannot be answered as typed, 413 for one over the length limit."""
    too_long = len(question.strip()) > MAX_QUESTION_CHARS
    return ApiError(413 if too_long else 400, "question", err.message_ar)


def install_handlers(app: FastAPI) -> None:
    """Every error leaves the server in the one JSON shape, never as HTML or a traceback."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, err: ApiError) -> JSONResponse:
        return error_response(err)

    @app.exception_handler(RequestValidationError)
    async def _bad_fields(request: Request, err: RequestValidationError) -> JSONResponse:
        return error_response(ApiError(422, "request", _describe(err)))

    @app.exception_handler(HTTPException)
    async def _http(request: Request, err: HTTPException) -> JSONResponse:
        message = "لا يوجد شيء في هذا العنوان." if err.status_code == 404 else str(err.detail)
        kind = "request" if err.status_code == 413 else "http"
        return error_response(ApiError(err.status_code, kind, message, dict(err.headers or {})))

    @app.exception_handler(Exception)
    async def _bug(request: Request, err: Exception) -> JSONResponse:
        log.exception("request %s failed", request.scope.get("request_id", "-"))
        return error_response(ApiError(500, "internal", "حدث خطأ داخلي في الخادم. حاول مرة أخرى بعد قليل."))


def _describe(err: RequestValidationError) -> str:
    """Pydantic's errors in one line, `field: what is wrong; …` (in English: they are for the caller's programmer)."""
    parts = []
    for problem in err.errors():
        if problem.get("type") == "json_invalid":
            parts.append("the body is not valid JSON")
            continue
        where = ".".join(str(p) for p in problem.get("loc", ()) if p not in ("body", "query", "path"))
        parts.append(f"{where or 'body'}: {problem.get('msg', 'invalid value')}")
    return "طلب غير صالح | invalid request: " + ("; ".join(parts) or "invalid value")
