"""The question-answering pipeline: check → retrieve → read → select. It owns no stage's logic."""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from pathlib import Path

from qa.config import Settings
from qa.question import check_question
from qa.readers.base import Reader
from qa.select import select_answer
from qa.types import Answer
from retrieval.analyze import Analyzer
from retrieval.index import BM25Index, BuildSettings
from retrieval.store import open_index
from retrieval.types import Hit

log = logging.getLogger(__name__)


class Pipeline:
    """Answers questions over one index with one reader."""

    def __init__(
        self,
        index: BM25Index,
        reader: Reader,
        top_k: int = 5,
        no_answer_threshold: float = 0.35,
        reader_weight: float = 0.5,
    ) -> None:
        self.index = index
        self.reader = reader
        self.top_k = top_k
        self.no_answer_threshold = no_answer_threshold
        self.reader_weight = reader_weight

    @classmethod
    def from_settings(cls, settings: Settings, notices: list[str] | None = None) -> Pipeline:
        """Open (building or rebuilding if needed) the index for `settings.corpus` and make the reader."""
        from qa.readers.factory import make_reader

        index = open_index(
            Path(settings.corpus), settings.index_dir(), build_settings(settings), notices, settings.corpus_named()
        )
        reader = make_reader(settings, notices)
        return cls(index, reader, settings.top_k, settings.threshold_for(reader), settings.reader_weight)

    def search(self, question: str, k: int | None = None) -> list[Hit]:
        return self.index.search(check_question(question), k or self.top_k)

    def ask(self, question: str, top_k: int | None = None, timings: dict[str, float] | None = None) -> Answer:
        """Answer `question`; raises QuestionError (with an Arabic message) for unusable input.

        `timings`, when given, receives the seconds each stage took ("retrieve", "read", "select"),
        for a server's metrics.
        """
        started = time.perf_counter()
        question = check_question(question)
        hits = self.index.search(question, top_k or self.top_k)
        searched = time.perf_counter()
        passages = [h.passage for h in hits]
        candidates = self.reader.read(question, passages) if hits else []
        read = time.perf_counter()
        coverage = dict(zip((p.id for p in passages), self.index.coverage(question, passages)))
        answer = select_answer(
            question,
            hits,
            [] if hits else self.index.closest(question),
            candidates,
            self.index.documents,
            threshold=self.no_answer_threshold,
            reader_weight=self.reader_weight,
            reader_name=self.reader.name,
            coverage=coverage,
        )
        finished = time.perf_counter()
        if timings is not None:
            timings.update(retrieve=searched - started, read=read - searched, select=finished - read)
        latency = (finished - started) * 1000
        log.debug("answered in %.1f ms: %r", latency, answer.text)
        return replace(answer, latency_ms=latency)


def build_settings(settings: Settings) -> BuildSettings:
    """The index build settings that `settings` ask for."""
    return BuildSettings(analyzer=Analyzer(stemmer=settings.stemmer), k1=settings.k1, b=settings.b)
