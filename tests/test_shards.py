"""Sharded indexes: the same top-k with the same scores as one index over the whole corpus."""

import json
from pathlib import Path

import pytest

from qa.bench.corpus import synthetic_corpus
from retrieval.index import BM25Index, BuildSettings
from retrieval.locations import LocationError
from retrieval.shards import SHARD_MANIFEST, ShardedIndex, build_sharded, partition, save_sharded
from retrieval.types import Document
from tests.support.embedder import ENGLISH, CountingEmbedder
from tests.support.questions import QUESTIONS


def _seeds_and_arcd(seed_corpus, arcd_train: Path) -> tuple[list[Document], list[str]]:
    docs, questions = list(seed_corpus.documents), list(QUESTIONS)
    if arcd_train.exists():
        data = json.loads(arcd_train.read_text("utf-8"))
        paragraphs = [p for article in data["data"] for p in article["paragraphs"]]
        docs += [Document(id=f"arcd-{i}", title="", text=p["context"]) for i, p in enumerate(paragraphs)]
        questions += [qa["question"] for p in paragraphs[:60] for qa in p["qas"]]
    return docs, questions


def _assert_same_results(single, sharded, questions, k=10, coverage=True):
    compared = 0
    for question in questions:
        expected, got = single.search(question, k), sharded.search(question, k)
        assert [h.passage.id for h in got] == [h.passage.id for h in expected], question
        for want, have in zip(expected, got):
            assert have.score == pytest.approx(want.score, rel=1e-6)
            assert have.rank == want.rank
            # The dense similarity that answer selection weighs: the same with or without shards.
            assert (have.similarity is None) == (want.similarity is None)
            if want.similarity is not None:
                assert have.similarity == pytest.approx(want.similarity, abs=1e-6)
        if coverage and expected:
            passages = [h.passage for h in expected]
            assert sharded.coverage(question, passages) == pytest.approx(single.coverage(question, passages), rel=1e-9)
        compared += bool(expected)
    assert compared >= len(questions) // 2  # the comparison is not vacuous


@pytest.mark.parametrize("n_shards", [2, 3])
def test_sharded_top10_and_scores_equal_one_index_on_seeds_and_arcd(seed_corpus, arcd_train, tmp_path, n_shards):
    docs, questions = _seeds_and_arcd(seed_corpus, arcd_train)
    single = BM25Index.build(docs)
    shards, manifest = build_sharded(docs, n_shards)
    save_sharded(shards, manifest, tmp_path / "sharded")
    sharded = ShardedIndex.load(tmp_path / "sharded")
    assert len(sharded.passages) == len(single.passages) and len(sharded.documents) == len(single.documents)
    # Each shard alone scores with the corpus's statistics, not its own: its scores differ from an
    # index of its documents alone.
    alone = BM25Index.build(list(shards[0].documents.values()))
    assert shards[0].search(QUESTIONS[0], 1)[0].score != pytest.approx(alone.search(QUESTIONS[0], 1)[0].score, rel=1e-6)
    _assert_same_results(single, sharded, questions)
    assert sharded.closest("ستراليا", 3) == single.closest("ستراليا", 3)
    doc_id = docs[-1].id
    assert sharded.documents[doc_id] == single.documents[doc_id]
    assert sharded.passages_of(doc_id) == single.passages_of(doc_id)
    assert [sharded.passages[i] for i in (0, len(single.passages) - 1)] == [single.passages[0], single.passages[-1]]


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_sharded_equals_one_index_on_100k_synthetic_passages():
    corpus = synthetic_corpus(100_000, 200)
    single = BM25Index.build(corpus.documents, passages=corpus.passages)
    shards, manifest = build_sharded(corpus.documents, 4, passages=corpus.passages)
    assert sum(len(s.passages) for s in shards) == 100_000
    sharded = ShardedIndex(manifest, [_InMemory(s) for s in shards])
    _assert_same_results(single, sharded, corpus.questions, coverage=False)


def test_partition_is_contiguous_balanced_and_never_empty(seed_corpus):
    docs = list(seed_corpus.documents)
    from retrieval.chunk import chunk_document

    passages = [p for d in docs for p in chunk_document(d, 3, 600)]
    for n in range(1, len(docs) + 1):
        runs = partition(docs, passages, n)
        assert len(runs) == n and all(runs)
        assert [d.id for run in runs for d in run] == [d.id for d in docs]
    with pytest.raises(ValueError, match="at most one shard per document"):
        partition(docs, passages, len(docs) + 1)


def test_save_refuses_a_folder_that_is_not_a_sharded_index(seed_corpus, tmp_path):
    shards, manifest = build_sharded(list(seed_corpus.documents), 2)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(LocationError, match="holds no sharded Sanad index"):
        save_sharded(shards, manifest, tmp_path / "mine")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    save_sharded(shards, manifest, tmp_path / "sharded")
    save_sharded(shards, manifest, tmp_path / "sharded")  # replaces its own
    assert (tmp_path / "sharded" / SHARD_MANIFEST).is_file()
    assert sorted(p.name for p in (tmp_path / "sharded").iterdir()) == ["shard-0", "shard-1", SHARD_MANIFEST]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


class _InMemory:
    """A LocalShard over an index built in memory (the 100k test does not write 100k passages to disk)."""

    def __new__(cls, index):
        from retrieval.shards import LocalShard

        return LocalShard(index)


@pytest.mark.parametrize("mode", ["hybrid", "dense"])
def test_sharded_hybrid_and_dense_search_equal_one_index(seeds_dir, tmp_path, mode):
    from retrieval.hybrid import HybridIndex
    from retrieval.shards import build_sharded_index
    from retrieval.store import VectorBuild, build_index

    settings = BuildSettings()
    single = build_index(seeds_dir, tmp_path / "one", settings, vectors=VectorBuild(CountingEmbedder()))  # type: ignore[arg-type]
    build_sharded_index(seeds_dir, tmp_path / "sharded", settings, 2, vectors=VectorBuild(CountingEmbedder()))  # type: ignore[arg-type]
    sharded = ShardedIndex.load(tmp_path / "sharded", mode, CountingEmbedder())  # type: ignore[arg-type]
    assert sharded.mode == mode
    expected = HybridIndex(single, mode, CountingEmbedder())  # type: ignore[arg-type]
    _assert_same_results(expected, sharded, [*QUESTIONS, ENGLISH], k=10, coverage=False)


def test_a_sharded_index_without_vectors_searches_by_bm25(seeds_dir, tmp_path):
    from retrieval.shards import build_sharded_index

    build_sharded_index(seeds_dir, tmp_path / "sharded", BuildSettings(), 2)
    assert ShardedIndex.load(tmp_path / "sharded", "hybrid").mode == "bm25"
