"""The BM25 index: agreement with rank_bm25, persistence, refusal of mismatched or damaged indexes."""

import json
import os
from pathlib import Path

import numpy as np
import pytest
from rank_bm25 import BM25Plus

from retrieval import index as index_module
from retrieval.analyze import Analyzer
from retrieval.chunk import chunk_document
from retrieval.index import BM25Index, BuildSettings, IndexDamaged, IndexMismatch
from retrieval.store import open_index
from tests.support.questions import QUESTIONS


def _arcd_questions_and_documents(arcd_train: Path):
    from retrieval.types import Document

    data = json.loads(arcd_train.read_text("utf-8"))
    paragraphs = [p for article in data["data"] for p in article["paragraphs"]][:120]
    docs = [Document(id=f"p{i}", title="", text=p["context"]) for i, p in enumerate(paragraphs)]
    questions = [qa["question"] for p in paragraphs[:40] for qa in p["qas"]]
    return docs, questions


@pytest.mark.parametrize("k1,b", [(1.5, 0.75), (1.2, 0.5), (0.9, 0.4)])
def test_scores_and_top10_equal_rank_bm25(seed_corpus, arcd_train, k1, b):
    docs = list(seed_corpus.documents)
    questions = list(QUESTIONS)
    if arcd_train.exists():
        extra_docs, extra_questions = _arcd_questions_and_documents(arcd_train)
        docs += extra_docs
        questions += extra_questions
    settings = BuildSettings(k1=k1, b=b)
    index = BM25Index.build(docs, settings)
    analyzer = settings.analyzer
    reference = BM25Plus([analyzer.terms(p.text) for p in index.passages], k1=k1, b=b, delta=0)
    checked = 0
    for question in questions:
        expected = reference.get_scores(analyzer.terms(question))
        hits = index.search(question, k=10)
        positive = int((expected > 0).sum())
        assert len(hits) == min(10, positive)
        for hit in hits:
            i = index.passages.index(hit.passage)
            assert hit.score == pytest.approx(expected[i], rel=1e-6)
        # The same top 10 (ties at the cut-off may be ordered either way).
        if hits:
            cutoff = hits[-1].score
            strictly_better = {i for i in np.flatnonzero(expected > cutoff * (1 + 1e-6))}
            assert strictly_better <= {index.passages.index(h.passage) for h in hits}
            checked += 1
    assert checked >= 5


def test_words_in_most_passages_still_retrieve(seed_index):
    # «بلينكن» is in most seed passages; a question resting on it must still find something.
    hits = seed_index.search("بلينكن")
    assert hits and all(h.score > 0 for h in hits)


def test_unknown_words_give_no_hits(seed_index):
    assert seed_index.search("كنغر أسترالي") == []
    assert seed_index.search("؟؟؟") == []


def test_closest_passages_when_nothing_matches(seed_index):
    close = seed_index.closest("عاصمة أستراليا", k=3)
    assert len(close) == 3 and all(0 < h.score <= 1 for h in close)
    assert close[0].score >= close[-1].score


def test_save_and_load_round_trip(seed_index, tmp_path):
    folder = tmp_path / "index"
    seed_index.save(folder)
    loaded = BM25Index.load(folder, BuildSettings())
    for question in QUESTIONS:
        assert [(h.passage, h.score) for h in loaded.search(question)] == [
            (h.passage, pytest.approx(h.score)) for h in seed_index.search(question)
        ]
    assert loaded.documents == seed_index.documents
    manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
    for key in ("normalizer_version", "stemmer", "k1", "b"):
        assert key in manifest["settings"]
    assert manifest["corpus_fingerprint"] and manifest["passages"] == len(seed_index.passages)


def test_mismatched_settings_are_refused(seed_index, tmp_path):
    seed_index.save(tmp_path / "index")
    with pytest.raises(IndexMismatch, match="k1"):
        BM25Index.load(tmp_path / "index", BuildSettings(k1=2.0))
    with pytest.raises(IndexMismatch, match="stemmer"):
        BM25Index.load(tmp_path / "index", BuildSettings(analyzer=Analyzer(stemmer="none")))


def test_an_index_saved_by_another_bm25s_minor_version_is_refused(seed_index, tmp_path):
    import bm25s

    folder = tmp_path / "index"
    seed_index.save(folder)
    manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
    major, minor, *rest = bm25s.__version__.split(".")
    manifest["bm25s_version"] = ".".join([major, minor, "999"])  # another patch release: still read
    (folder / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    assert BM25Index.load(folder).search("ماثيو ميلر")
    manifest["bm25s_version"] = f"{major}.{int(minor) + 1}.0"
    (folder / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    with pytest.raises(IndexMismatch, match="bm25s"):
        BM25Index.load(folder)


def test_other_normalizer_version_is_refused(seed_index, tmp_path):
    seed_index.save(tmp_path / "index")
    manifest = tmp_path / "index" / "manifest.json"
    recorded = json.loads(manifest.read_text("utf-8"))
    recorded["settings"]["normalizer_version"] = "999"  # as an index built by another version records it
    manifest.write_text(json.dumps(recorded), "utf-8")
    with pytest.raises(IndexMismatch, match="normalizer"):
        BM25Index.load(tmp_path / "index")


@pytest.mark.parametrize("damage", ["manifest", "passages", "matrix", "no_manifest"])
def test_damaged_index_gives_a_clear_error(seed_index, tmp_path, damage):
    folder = tmp_path / "index"
    seed_index.save(folder)
    if damage == "manifest":
        (folder / "manifest.json").write_text("{broken", "utf-8")
    elif damage == "passages":
        (folder / "passages.jsonl").write_text('{"id": "x"}\n', "utf-8")
    elif damage == "matrix":
        (folder / "data.csc.index.npy").write_bytes(b"garbage")
    else:
        (folder / "manifest.json").unlink()
    with pytest.raises(IndexDamaged, match="sanad index"):
        BM25Index.load(folder)


def test_a_crash_while_saving_keeps_the_previous_index(seed_index, tmp_path, monkeypatch):
    folder = tmp_path / "index"
    seed_index.save(folder)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(index_module, "write_jsonl", crash)
    with pytest.raises(OSError, match="disk full"):
        seed_index.save(folder)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["index"], "no staging folder is left behind"


def test_store_rebuilds_when_missing_or_when_the_corpus_changes(seeds_dir, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for f in seeds_dir.glob("*.txt"):
        (corpus / f.name).write_bytes(f.read_bytes())
    folder = tmp_path / "index"
    first = open_index(corpus, folder, BuildSettings())
    assert first.search("ماثيو ميلر")
    (corpus / "005_new.txt").write_text("أعلن الكنغر الأسترالي فوزه بسباق الجري السنوي في سيدني.", "utf-8")
    notices: list[str] = []
    second = open_index(corpus, folder, BuildSettings(), notices)
    assert "005_new" in second.documents and any("changed" in n for n in notices)
    third = open_index(corpus, folder, BuildSettings(), notices := [])
    assert notices == [] and "005_new" in third.documents
    # An edit in place that keeps the file's size (a changed letter) still counts: its time changed.
    new = corpus / "005_new.txt"
    new.write_text(new.read_text("utf-8").replace("سيدني", "ملبرن"), "utf-8")
    assert new.stat().st_size == len("أعلن الكنغر الأسترالي فوزه بسباق الجري السنوي في سيدني.".encode())
    fourth = open_index(corpus, folder, BuildSettings(), notices := [])
    assert any("changed" in n for n in notices) and fourth.search("ملبرن")


def test_store_rebuilds_a_damaged_index(seeds_dir, tmp_path):
    folder = tmp_path / "index"
    open_index(seeds_dir, folder, BuildSettings())
    os.remove(folder / "vocab.index.json")
    notices: list[str] = []
    index = open_index(seeds_dir, folder, BuildSettings(), notices)
    assert index.search("ماثيو ميلر") and any("damaged" in n for n in notices)


def test_passages_are_chunks_of_their_documents(seed_index):
    for doc in seed_index.documents.values():
        assert [p for p in seed_index.passages if p.doc_id == doc.id] == chunk_document(doc)


def test_passages_of_a_document_are_its_passages_in_order(seed_index, tmp_path):
    seed_index.save(tmp_path / "index")
    loaded = BM25Index.load(tmp_path / "index")
    for doc_id in loaded.documents:
        expected = [p for p in seed_index.passages if p.doc_id == doc_id]
        assert expected and loaded.passages_of(doc_id) == expected
    assert loaded.passages_of("no-such-document") == []
