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
from retrieval.dense import Embedder, VectorCache
from retrieval.hybrid import HybridIndex, no_vectors_notice
from retrieval.index import BM25Index, BuildSettings
from retrieval.store import AUTO_EMBED_LIMIT, VectorBuild, open_index
from retrieval.types import Hit

log = logging.getLogger(__name__)


class Pipeline:
    """Answers questions over one index with one reader."""

    def __init__(
        self,
        index: BM25Index | HybridIndex,
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

        vectors = vector_build(settings, limit=AUTO_EMBED_LIMIT)
        index = open_index(
            Path(settings.corpus), settings.index_dir(), build_settings(settings), notices, settings.corpus_named(),
            vectors,
        )  # fmt: skip
        retriever = retriever_for(index, settings, vectors, notices, settings.index_dir())
        reader = make_reader(settings, notices)
        return cls(retriever, reader, settings.top_k, settings.threshold_for(reader), settings.reader_weight)

    def search(self, question: str, k: int | None = None) -> list[Hit]:
        return self.index.search(check_question(question), k or self.top_k)

    def ask(self, question: str, top_k: int | None = None) -> Answer:
        """Answer `question`; raises QuestionError (with an Arabic message) for unusable input."""
        started = time.perf_counter()
        question = check_question(question)
        hits = self.index.search(question, top_k or self.top_k)
        passages = [h.passage for h in hits]
        candidates = self.reader.read(question, passages) if hits else []
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
        latency = (time.perf_counter() - started) * 1000
        log.debug("answered in %.1f ms: %r", latency, answer.text)
        return replace(answer, latency_ms=latency)


def build_settings(settings: Settings) -> BuildSettings:
    """The index build settings that `settings` ask for."""
    return BuildSettings(analyzer=Analyzer(stemmer=settings.stemmer), k1=settings.k1, b=settings.b)


def vector_build(settings: Settings, limit: int | None = None) -> VectorBuild | None:
    """How the index gets dense vectors for `settings.retrieval`; None for BM25 alone."""
    if settings.retrieval == "bm25":
        return None
    return VectorBuild(Embedder(settings.embed_threads), VectorCache(settings.vector_cache), limit)


def retriever_for(
    index: BM25Index, settings: Settings, vectors: VectorBuild | None, notices: list[str] | None, where: Path | str
) -> HybridIndex:
    """`index` searched by `settings.retrieval`; without vectors, by BM25, with one notice saying how to add them."""
    retriever = HybridIndex(index, settings.retrieval, vectors.embedder if vectors else None)
    if retriever.mode != retriever.requested_mode:
        message = no_vectors_notice(where)
        if notices is None:
            log.warning(message)
        else:
            notices.append(message)
    return retriever
