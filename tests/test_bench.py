"""Smoke tests: each `sanad bench` runs at a tiny size and prints its figures (no timing is asserted)."""

from __future__ import annotations

import json

import pytest

from qa.cli import main


def _bench_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    assert main(["bench", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_bench_retrieval_prints_its_figures(capsys, tmp_path):
    result = _bench_json(capsys, "retrieval", "--passages", "300", "--queries", "8", "--workdir", str(tmp_path))
    assert result["machine"]["cpus"] >= 1
    (size,) = result["sizes"]
    for key in (
        "build_seconds",
        "build_passages_per_second",
        "build_peak_rss_mb",
        "disk_mb",
        "load_seconds",
        "query_ms",
        "queries_per_second",
        "serve_peak_rss_mb",
        "rank_bm25",
        "top10_agreement",
        "speed_ratio_p50",
    ):
        assert key in size, key
    assert size["passages"] == 300 and set(size["query_ms"]) == {"p50", "p95", "mean"}
    assert size["top10_agreement"] == pytest.approx(1.0)
    assert list(tmp_path.iterdir()) == [], "benchmark indexes are removed"


def test_synthetic_corpus_is_fixed_and_consistent():
    from qa.bench.corpus import synthetic_corpus

    first, second = synthetic_corpus(50, 5), synthetic_corpus(50, 5)
    assert first == second
    documents = {d.id: d for d in first.documents}
    for passage in first.passages:
        assert documents[passage.doc_id].text[passage.start : passage.end] == passage.text
    assert all(q.endswith("؟") for q in first.questions)
