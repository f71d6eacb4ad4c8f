"""`sanad bench retrieval`: build, load and query the BM25 index at several corpus sizes, beside rank_bm25,
and the hybrid index (BM25 + dense vectors, fused) beside it."""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from qa.bench.corpus import synthetic_corpus, synthetic_questions
from qa.bench.measure import folder_mb, in_child, latency_summary, machine, peak_rss_mb, rss_mb, timed

log = logging.getLogger(__name__)

TOP = 10
WARM_UP_QUERIES = 5
# rank_bm25 runs only as long as this (build and queries each); beyond it, figures are extrapolated.
REFERENCE_BUDGET_SECONDS = 60.0
# rank_bm25's build time is first measured on this many passages, to decide whether the full build fits.
REFERENCE_PROBE = 10_000


def bench_retrieval(sizes: list[int], n_queries: int = 200, workdir: Path | None = None) -> dict[str, Any]:
    """Figures for each corpus size; each size is built and served in fresh processes."""
    results = []
    for n in sizes:
        base = Path(tempfile.mkdtemp(prefix=f"sanad-bench-{n}-", dir=workdir))
        try:
            built = in_child(_build_and_compare, n, n_queries, str(base / "index"))
            served = in_child(_serve, str(base / "index"), n_queries)
            result = {**built, **served}
            reference = result["rank_bm25"]
            if reference.get("query_ms"):
                ours = max(result["query_ms"]["p50"], 1e-9)
                result["speed_ratio_p50"] = round(reference["query_ms"]["p50"] / ours, 1)
            results.append(result)
        finally:
            shutil.rmtree(base, ignore_errors=True)
    return {"benchmark": "retrieval", "machine": machine(), "queries": n_queries, "sizes": results}


def _build_and_compare(n: int, n_queries: int, folder: str) -> dict[str, Any]:
    from retrieval.index import BM25Index

    corpus, generate_s = timed(lambda: synthetic_corpus(n, n_queries))
    index, build_s = timed(lambda: BM25Index.build(corpus.documents, passages=corpus.passages, progress=False))
    _, save_s = timed(lambda: index.save(folder))
    result: dict[str, Any] = {
        "passages": n,
        "documents": len(corpus.documents),
        "vocabulary": index.vocabulary_size,
        "postings": index.postings,
        "corpus_seconds": round(generate_s, 2),
        "build_seconds": round(build_s, 2),
        "build_passages_per_second": round(n / build_s),
        "save_seconds": round(save_s, 2),
        "disk_mb": folder_mb(Path(folder)),
        "build_peak_rss_mb": peak_rss_mb(),
    }
    result.update(_compare_with_rank_bm25(index, corpus.passages, corpus.questions))
    result["hybrid"] = _add_vectors(index, corpus.passages, folder, build_s)
    return result


def _add_vectors(index: Any, passages: list[Any], folder: str, bm25_build_s: float) -> dict[str, Any]:
    """Measure the engine's embedding rate on a sample, then save the index with vectors of full shape."""
    from qa.bench.dense import embedding_throughput, random_vectors
    from retrieval.dense import Embedder

    figures = embedding_throughput(passages, Embedder())
    index.attach_vectors(random_vectors(len(passages)))
    _, save_s = timed(lambda: index.save(folder))
    build_s = bm25_build_s + figures["embedding_seconds_projected"]
    return {
        **figures,
        "build_seconds_projected": round(build_s, 1),
        "build_passages_per_second": round(len(passages) / build_s, 2),
        "save_seconds": round(save_s, 2),
        "disk_mb": folder_mb(Path(folder)),
    }


def _compare_with_rank_bm25(index: Any, passages: list[Any], questions: list[str]) -> dict[str, Any]:
    """rank_bm25 (BM25Plus, delta 0: the same scores) within a time budget, and top-10 agreement."""
    from qa.extras import require

    BM25Plus = require("rank_bm25", "bench").BM25Plus

    analyzer = index.settings.analyzer
    k1, b = index.settings.k1, index.settings.b
    n = len(passages)
    probe = min(n, REFERENCE_PROBE)
    # Cold word caches for rank_bm25 too, as our build had them: the same analysis work for both.
    _clear_analysis_caches()
    _, probe_s = timed(lambda: BM25Plus([analyzer.terms(p.text) for p in passages[:probe]], k1=k1, b=b, delta=0))
    projected = probe_s * n / probe
    reference: dict[str, Any] = {"build_seconds_projected": round(projected, 1)}
    if projected > REFERENCE_BUDGET_SECONDS:
        # Queries cost rank_bm25 a pass over every passage: time them on the probe, scale by size.
        model = BM25Plus([analyzer.terms(p.text) for p in passages[:probe]], k1=k1, b=b, delta=0)
        times = _reference_queries(model, analyzer, questions, REFERENCE_BUDGET_SECONDS)[1]
        scale = n / probe
        reference.update(
            finished=False,
            note=f"build projected at {projected:.0f} s (> {REFERENCE_BUDGET_SECONDS:.0f} s): query times measured "
            f"on {probe} passages and scaled by {scale:.0f}",
            query_ms={k: round(v * scale, 1) for k, v in latency_summary(times).items()},
            queries=len(times),
        )
        return {"rank_bm25": reference}
    model, build_s = timed(lambda: BM25Plus([analyzer.terms(p.text) for p in passages], k1=k1, b=b, delta=0))
    scores, times = _reference_queries(model, analyzer, questions, REFERENCE_BUDGET_SECONDS)
    reference.update(
        finished=True, build_seconds=round(build_s, 2), query_ms=latency_summary(times), queries=len(times)
    )
    if len(times) < len(questions):
        reference["note"] = f"{len(times)} of {len(questions)} queries within {REFERENCE_BUDGET_SECONDS:.0f} s"
    position = {p.id: i for i, p in enumerate(passages)}
    tie_aware, strict = [], []
    for question, expected in zip(questions, scores):
        ours = [position[h.passage.id] for h in index.search(question, TOP)]
        positive = int((expected > 0).sum())
        if positive == 0:
            continue
        wanted = min(TOP, positive)
        best = np.argsort(-expected, kind="stable")[:wanted]
        # A passage tied with rank_bm25's 10th score is as right as the one rank_bm25 happened to list.
        cutoff = expected[best[-1]] * (1 - 1e-6)
        tie_aware.append(sum(expected[i] >= cutoff for i in ours) / wanted)
        strict.append(len(set(ours) & set(best.tolist())) / wanted)
    return {
        "rank_bm25": reference,
        "top10_agreement": round(float(np.mean(tie_aware)), 4) if tie_aware else None,
        "top10_overlap_strict": round(float(np.mean(strict)), 4) if strict else None,
        "agreement_queries": len(tie_aware),
    }


def _reference_queries(
    model: Any, analyzer: Any, questions: list[str], budget: float
) -> tuple[list[np.ndarray], list[float]]:
    scores, times = [], []
    deadline = time.perf_counter() + budget
    for question in questions:
        started = time.perf_counter()
        found = model.get_scores(analyzer.terms(question))
        np.argpartition(-found, min(TOP, len(found) - 1))[:TOP]
        times.append(time.perf_counter() - started)
        scores.append(found)
        if time.perf_counter() > deadline:
            break
    return scores, times


def _clear_analysis_caches() -> None:
    from retrieval.analyze import clear_word_caches

    clear_word_caches()


def _serve(folder: str, n_queries: int) -> dict[str, Any]:
    """Load the saved index in a fresh process and time single-threaded queries."""
    from retrieval.index import BM25Index

    questions = synthetic_questions(n_queries)
    baseline = rss_mb()
    index, load_s = timed(lambda: BM25Index.load(folder))
    for question in questions[:WARM_UP_QUERIES]:
        index.search(question, TOP)
    times = []
    for question in questions:
        started = time.perf_counter()
        index.search(question, TOP)
        times.append(time.perf_counter() - started)
    served = {
        "load_seconds": round(load_s, 3),
        "query_ms": latency_summary(times),
        "queries_per_second": round(len(times) / sum(times), 1),
        "serve_rss_mb": rss_mb(),
        "serve_peak_rss_mb": peak_rss_mb(),
        "serve_baseline_rss_mb": baseline,
    }
    if index.vectors is not None:
        served["hybrid_serving"] = _serve_hybrid(index, questions)
    return served


def _serve_hybrid(index: Any, questions: list[str]) -> dict[str, Any]:
    """Hybrid queries, query embedding included, one at a time; and the two parts alone."""
    from retrieval.dense import Embedder
    from retrieval.hybrid import HybridIndex

    hybrid, ready_s = timed(lambda: HybridIndex(index, "hybrid", Embedder()))
    for question in questions[:WARM_UP_QUERIES]:
        hybrid.search(question, TOP)
    Embedder.forget_queries()  # every timed query embeds its question
    times, embed_times, dense_times = [], [], []
    for question in questions:
        started = time.perf_counter()
        hybrid.search(question, TOP)
        times.append(time.perf_counter() - started)
        Embedder.forget_queries()
        vector, embed_s = timed(lambda: hybrid.embedder.query(question))
        _, dense_s = timed(lambda: hybrid.dense.search(vector, hybrid.fusion.depth))
        embed_times.append(embed_s)
        dense_times.append(dense_s)
    return {
        "mode": "hybrid",
        "fusion": f"{hybrid.fusion.method} depth {hybrid.fusion.depth}",
        "vectors_ready_seconds": round(ready_s, 3),
        "query_ms": latency_summary(times),
        "query_embedding_ms": latency_summary(embed_times),
        "dense_search_ms": latency_summary(dense_times),
        "serve_rss_mb": rss_mb(),
        "serve_peak_rss_mb": peak_rss_mb(),
    }
