"""The transformers reader's optimized paths (onnx-int8, torch-int8) give the spans fp32 gives."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from qa.readers.transformers_reader import TransformersReader
from retrieval.chunk import chunk_document
from tests.support.tiny_model import build_tiny_qa_model

QUESTIONS = [
    "من هو المتحدث باسم وزارة الخارجية الأمريكية؟",
    "متى وصل بلينكن إلى تل أبيب؟",
    "ما هو موقف حماس من الاتفاق؟",
]


@pytest.fixture(scope="module")
def random_model(tmp_path_factory, seed_corpus) -> Path:
    return build_tiny_qa_model(tmp_path_factory.mktemp("tiny-qa"), [d.text for d in seed_corpus.documents])


@pytest.fixture(scope="module")
def decisive_model(random_model, tmp_path_factory) -> Path:
    """The random model with a QA head that clearly prefers one span, as a trained model does.

    Random weights give near-flat logits, where any rounding may change the best span; a trained
    model's best span stands out, and that is the case the optimized path must get right.
    """
    from qa.bench.reader import make_decisive

    return make_decisive(random_model, tmp_path_factory.mktemp("decisive-qa"))


@pytest.fixture(scope="module")
def passage_groups(seed_corpus):
    passages = [p for d in seed_corpus.documents for p in chunk_document(d)]
    return [passages[i : i + 3] for i in range(0, 15, 3)]


@pytest.fixture(autouse=True)
def _cache_in_tmp(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("SANAD_CACHE", str(tmp_path_factory.getbasetemp() / "sanad-cache"))


def _best_spans(reader, passage_groups) -> list[tuple[str, int, int]]:
    spans = []
    for question in QUESTIONS:
        for group in passage_groups:
            best = reader.read(question, group)[0].citations[0]
            spans.append((best.passage_id, best.start, best.end))
    return spans


@pytest.mark.parametrize("optimization", ["onnx-int8", "torch-int8"])
def test_optimized_path_returns_the_same_spans_as_fp32(decisive_model, passage_groups, optimization):
    if optimization == "onnx-int8":
        pytest.importorskip("onnxruntime")
    fp32 = TransformersReader(str(decisive_model), local_files_only=True)
    fast = TransformersReader(str(decisive_model), local_files_only=True, optimization=optimization)
    assert _best_spans(fast, passage_groups) == _best_spans(fp32, passage_groups)


@pytest.mark.parametrize("weights", ["this-cpu", "7-bit"])
def test_onnx_int8_logits_follow_fp32_even_on_random_weights(random_model, passage_groups, weights, monkeypatch):
    """On this CPU's own weight range, and on the 7-bit range a CPU without VNNI gets (measurable anywhere)."""
    pytest.importorskip("onnxruntime")
    from qa.readers import onnx_runtime

    if weights == "7-bit":
        monkeypatch.setattr(onnx_runtime, "weights_need_reduced_range", lambda: True)
    fp32 = TransformersReader(str(random_model), local_files_only=True)
    fast = TransformersReader(str(random_model), local_files_only=True, optimization="onnx-int8")
    fp32.warm_up()
    fast.warm_up()
    batch = fp32.encode(QUESTIONS[0], passage_groups[0]).inputs(slice(None), fp32.input_names())
    expected, got = fp32.logits(batch), fast.logits(batch)
    for want, have in zip(expected, got):
        assert have.shape == want.shape
        assert np.corrcoef(want.ravel(), have.ravel())[0, 1] > 0.99


def test_the_export_is_cached_and_reused(random_model, monkeypatch):
    pytest.importorskip("onnxruntime")
    from qa.readers import onnx_runtime

    TransformersReader(str(random_model), local_files_only=True, optimization="onnx-int8").warm_up()

    def no_second_export(*args, **kwargs):
        raise AssertionError("exported again instead of using the cache")

    monkeypatch.setattr(onnx_runtime, "_export_quantized", no_second_export)
    reader = TransformersReader(str(random_model), local_files_only=True, optimization="onnx-int8")
    reader.warm_up()
    assert reader._onnx.path.name == "model.int8.onnx"
    assert not [p for p in reader._onnx.path.parent.iterdir() if p.name.startswith(".export-")]


@pytest.mark.parametrize(
    "flags, machine, reduced",
    [
        ("fpu sse2 avx2 fma", "x86_64", True),  # AVX2 alone: u8 x s8 pairs saturate int16
        ("fpu sse2 avx2 avx512f avx512_vnni", "x86_64", False),
        ("fpu sse2 avx2 avx_vnni", "x86_64", False),
        ("fpu sse2 avx2 avx512_vnni", "aarch64", True),  # not x86: the range that is safe everywhere
    ],
)
def test_int8_weights_keep_8_bits_only_where_vnni_is(tmp_path, monkeypatch, flags, machine, reduced):
    from qa.readers import onnx_runtime

    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nflags\t\t: {flags}\n\nprocessor\t: 1\nflags\t\t: {flags}\n", "utf-8")
    monkeypatch.setattr(onnx_runtime.platform, "machine", lambda: machine)
    assert onnx_runtime.weights_need_reduced_range(cpuinfo) is reduced
    assert onnx_runtime.weights_need_reduced_range(tmp_path / "absent") is True


def test_the_weight_range_is_part_of_the_cache_key(random_model):
    pytest.importorskip("onnxruntime")
    from transformers import AutoModelForQuestionAnswering

    from qa.readers import onnx_runtime

    model = AutoModelForQuestionAnswering.from_pretrained(str(random_model))
    names = ["input_ids", "attention_mask", "token_type_ids"]
    assert onnx_runtime._cache_key(model, names, True) != onnx_runtime._cache_key(model, names, False)


def test_unknown_optimization_is_refused():
    with pytest.raises(ValueError, match="onnx-int8"):
        TransformersReader("unused", optimization="fp16")


def test_setting_reaches_the_reader(monkeypatch):
    from qa.config import Settings
    from qa.readers.factory import _transformers_reader

    monkeypatch.setenv("SANAD_READER_OPTIMIZATION", "onnx-int8")
    reader = _transformers_reader(Settings(), model="someone/unused")
    assert reader.optimization == "onnx-int8"
