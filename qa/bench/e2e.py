"""`sanad bench e2e`: questions per second and latency of the whole pipeline with the embedded reader."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from qa.bench.corpus import synthetic_corpus, synthetic_questions
from qa.bench.measure import in_child, latency_summary, machine, timed

WARM_UP_QUESTIONS = 5


def bench_e2e(n_passages: int = 100_000, n_questions: int = 200, workdir: Path | None = None) -> dict[str, Any]:
    """Build and save an index of `n_passages`, then answer questions in a fresh serving process."""
    base = Path(tempfile.mkdtemp(prefix=f"sanad-bench-e2e-{n_passages}-", dir=workdir))
    try:
        folder = str(base / "index")
        build_s = in_child(_build, n_passages, folder)
        served = in_child(_serve, folder, n_questions)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return {
        "benchmark": "e2e",
        "machine": machine(),
        "passages": n_passages,
        "build_seconds": round(build_s, 2),
        **served,
    }


def _build(n_passages: int, folder: str) -> float:
    from retrieval.index import BM25Index

    corpus = synthetic_corpus(n_passages, 0)
    index, seconds = timed(lambda: BM25Index.build(corpus.documents, passages=corpus.passages, progress=False))
    index.save(folder)
    return seconds


def _serve(folder: str, n_questions: int) -> dict[str, Any]:
    """What a bot or REPL process does: load the index, make the reader, answer one question at a time."""
    from qa.pipeline import Pipeline
    from qa.question import QuestionError
    from qa.readers.factory import embedded_reader
    from retrieval.index import BM25Index

    index, load_s = timed(lambda: BM25Index.load(folder))
    pipeline = Pipeline(index, embedded_reader())
    questions = synthetic_questions(n_questions)
    for question in questions[:WARM_UP_QUESTIONS]:
        pipeline.ask(question)
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
        # The same question again, stage by stage, for the breakdown.
        hits, search_s = timed(lambda: index.search(question, pipeline.top_k))
        _, read_s = timed(lambda: pipeline.reader.read(question, [h.passage for h in hits]))
        search_times.append(search_s)
        read_times.append(read_s)
    return {
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
    }
