"""What the server holds while it runs, on `app.state` (never in module globals)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from qa.config import Settings
from web.feedback import WebVotes
from web.limits import ClientRateLimit
from web.metrics import Metrics
from web.service import AnswerService


@dataclass
class ServerState:
    settings: Settings
    service: AnswerService
    metrics: Metrics
    limiter: ClientRateLimit
    votes: WebVotes

    @staticmethod
    def of(request: Request) -> ServerState:
        return request.app.state.sanad
