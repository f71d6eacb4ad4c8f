"""`sanad bench e2e`: questions per second and latency of the whole pipeline with the embedded reader,
retrieving by BM25 and by hybrid retrieval (query embedding included)."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from qa.bench.corpus import synthetic_corpus, synthetic_questions
from qa.bench.measure import in_child, latency_summary, machine, rss_mb, timed

WARM_UP_QUESTIONS = 5


def bench_e2e(n_passages: int = 100_000, n_questions: int = 200, workdir: Path | None = None) -> dict[str, Any]:
    """Build and save an index of `n_passages`, then answer questions in a fresh serving process."""
    base = Path(tempfile.mkdtemp(prefix=f"sanad-bench-e2e-{n_passages}-", dir=workdir))
    try:
        folder = str(base / "index")
        build_s, embedding = in_child(_build, n_passages, folder)
        served = in_child(_serve, folder, n_questions, "bm25")
        hybrid = in_child(_serve, folder, n_questions, "hybrid")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return {
        "benchmark": "e2e",
        "machine": machine(),
        "passages": n_passages,
        "build_seconds": round(build_s, 2),
        **served,
        "hybrid": {"build_seconds_projected": round(build_s + embedding["embedding_seconds_projected"], 1),
                   "embedding": embedding, **hybrid},
    }  # fmt: skip


def _build(n_passages: int, folder: str) -> tuple[float, dict[str, Any]]:
    from qa.bench.dense import embedding_throughput, random_vectors
    from retrieval.dense import Embedder
    from retrieval.index import BM25Index

    corpus = synthetic_corpus(n_passages, 0)
    index, seconds = timed(lambda: BM25Index.build(corpus.documents, passages=corpus.passages, progress=False))
    embedding = embedding_throughput(corpus.passages, Embedder())
    index.attach_vectors(random_vectors(n_passages))
    index.save(folder)
    return seconds, embedding


def _serve(folder: str, n_questions: int, mode: str) -> dict[str, Any]:
    """What a bot or REPL process does: load the index, make the reader, answer one question at a time."""
    from qa.pipeline import Pipeline
    from qa.question import QuestionError
    from qa.readers.factory import embedded_reader
    from retrieval.dense import Embedder
    from retrieval.hybrid import HybridIndex
    from retrieval.index import BM25Index

    loaded, load_s = timed(lambda: BM25Index.load(folder, vectors=mode != "bm25"))
    index = HybridIndex(loaded, mode, Embedder())  # type: ignore[arg-type]
    pipeline = Pipeline(index, embedded_reader())
    questions = synthetic_questions(n_questions)
    for question in questions[:WARM_UP_QUESTIONS]:
        pipeline.ask(question)
    Embedder.forget_queries()
    latencies, search_times, read_times, answered, refused = [], [], [], 0, 0
    for question in questions:
        started = time.perf_counter()
        try:
            answer = pipeline.ask(question)
        except QuestionError:
            refused += 1
            continue
        latencies.append(time.perf_counter() - started)
        answered += answer.text is not None
        # The same question again, stage by stage, for the breakdown (its embedding computed again).
        Embedder.forget_queries()
        hits, search_s = timed(lambda: index.search(question, pipeline.top_k))
        _, read_s = timed(lambda: pipeline.reader.read(question, [h.passage for h in hits]))
        search_times.append(search_s)
        read_times.append(read_s)
    return {
        "retrieval": index.mode,
        "reader": pipeline.reader.name,
        "top_k": pipeline.top_k,
        "load_seconds": round(load_s, 3),
        "questions": len(latencies),
        "refused_questions": refused,
        "answered_fraction": round(answered / max(len(latencies), 1), 3),
        "latency_ms": latency_summary(latencies),
        "questions_per_second": round(len(latencies) / max(sum(latencies), 1e-9), 1),
        "retrieval_ms": latency_summary(search_times),
        "reader_ms": latency_summary(read_times),
        "serve_rss_mb": rss_mb(),
    }
