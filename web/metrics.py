"""Prometheus metrics: requests, request latency, the pipeline's stages, and how often there is no answer."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from qa.types import Answer

# Seconds: a BM25 lookup takes about a millisecond, a neural read of five passages about a second.
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """One registry per app, so that two apps in one process (tests) count apart."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "sanad_http_requests", "HTTP requests answered", ["method", "route", "status"], registry=self.registry
        )
        self.request_seconds = Histogram(
            "sanad_http_request_seconds", "Time to answer an HTTP request", ["route"],
            buckets=_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.stage_seconds = Histogram(
            "sanad_stage_seconds", "Time in each pipeline stage per question", ["stage"],
            buckets=_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.answers = Counter(
            "sanad_answers", "Questions answered, by outcome (answer / no_answer)", ["outcome"],
            registry=self.registry,
        )
        self.no_answer_ratio = Gauge(
            "sanad_no_answer_ratio", "Share of answered questions that got no answer, since start",
            registry=self.registry,
        )
        self._asked = self._unanswered = 0

    def observe_answer(self, answer: Answer, timings: dict[str, float]) -> None:
        for stage, seconds in timings.items():
            self.stage_seconds.labels(stage).observe(seconds)
        outcome = "answer" if answer.found else "no_answer"
        self.answers.labels(outcome).inc()
        self._asked += 1
        self._unanswered += not answer.found
        self.no_answer_ratio.set(self._unanswered / self._asked)

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.request_seconds.labels(route).observe(seconds)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
