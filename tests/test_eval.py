"""Evaluation internals: summary aggregation, recall/MRR, threshold sweep, and the pipeline/reader runs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from qa.config import Settings
from qa.evaluation.evaluate import evaluate
from qa.evaluation.gold import GoldQuestion, GoldSet, load_gold
from qa.evaluation.run import Prediction, _progress, run_pipeline, run_reader
from qa.evaluation.summary import (
    answer_source_accuracy,
    mean_reciprocal_rank,
    percentile,
    recall_at,
    summarize,
)
from qa.evaluation.sweep import sweep_threshold
from qa.pipeline import Pipeline
from qa.readers.base import span_answer
from qa.types import Answer
from retrieval.corpus import Corpus
from retrieval.index import BM25Index
from retrieval.types import Passage
from tests.support.squad import squad_file


class OracleReader:
    """Finds each question's known answer in whatever passages it is given; counts its calls."""

    name = "oracle"

    def __init__(self, answers: dict[str, str], score: float = 0.9) -> None:
        self.answers = answers
        self.score = score
        self.calls = 0

    def read(self, question: str, passages: Sequence[Passage]) -> list[Answer]:
        self.calls += 1
        wanted = self.answers.get(question)
        found = []
        for passage in passages:
            at = passage.text.find(wanted) if wanted else -1
            if at >= 0:
                found.append(span_answer(question, passage, at, at + len(wanted), self.score, self.name))
        return found


def pred(qid: str, gold: tuple[str, ...], candidate: str | None, score: float, em: float, f1: float,
         rank: int | None, latency: float, threshold: float = 0.2) -> Prediction:  # fmt: skip
    return Prediction(
        id=qid, question="س", gold=gold, doc_id="d" if gold else None, candidate=candidate, score=score,
        candidate_em=em, candidate_f1=f1, threshold=threshold, gold_rank=rank, predicted_doc_id=None,
        passage="", gold_passage=None, latency_ms=latency,
    )  # fmt: skip


@pytest.fixture
def hand_made() -> list[Prediction]:
    return [
        pred("p1", ("أ",), "أ", 0.9, 100, 100, 1, 10),  # right, confident
        pred("p2", ("أ ب",), "أ", 0.5, 0, 80, 3, 20),  # partly right
        pred("p3", ("ج",), "د", 0.1, 0, 0, None, 30),  # below the threshold: abstains
        pred("p4", (), "x", 0.15, 0, 0, None, 40),  # unanswerable, abstains: right
        pred("p5", (), "y", 0.6, 0, 0, None, 50),  # unanswerable, answers: wrong
    ]


def test_summary_on_a_hand_made_case(hand_made: list[Prediction]) -> None:
    s = summarize(hand_made, reader="fake", mode="pipeline", top_k=5).to_dict()
    assert s["n"] == 5 and s["n_has_answer"] == 3 and s["n_no_answer"] == 2
    assert s["em"] == 40.0  # p1 and p4
    assert s["f1"] == 56.0  # (100 + 80 + 0 + 100 + 0) / 5
    assert s["has_answer_em"] == pytest.approx(33.33)
    assert s["has_answer_f1"] == 60.0
    assert s["no_answer_accuracy"] == 0.5
    assert s["recall_at_k"] == {"1": pytest.approx(0.3333), "3": pytest.approx(0.6667), "5": pytest.approx(0.6667), "10": pytest.approx(0.6667)}
    assert s["mrr"] == pytest.approx((1 + 1 / 3 + 0) / 3, abs=1e-4)
    assert s["latency_ms"] == {"p50": 30.0, "p95": 48.0}
    assert s["reader"] == "fake"


def test_reader_mode_has_no_retrieval_metrics(hand_made: list[Prediction]) -> None:
    s = summarize(hand_made, reader="fake", mode="reader", top_k=5).to_dict()
    assert s["recall_at_k"] == {"1": None, "3": None, "5": None, "10": None}
    assert s["mrr"] is None


def test_recall_and_mrr() -> None:
    ranks = [pred(str(i), ("a",), None, 0, 0, 0, r, 1) for i, r in enumerate([1, 2, 5, 10, None])]
    assert recall_at(ranks, 1) == 0.2
    assert recall_at(ranks, 3) == 0.4
    assert recall_at(ranks, 5) == 0.6
    assert recall_at(ranks, 10) == 0.8
    assert mean_reciprocal_rank(ranks) == pytest.approx((1 + 0.5 + 0.2 + 0.1) / 5)


def test_answer_source_accuracy_counts_answers_citing_the_gold_document() -> None:
    from dataclasses import replace

    base = pred("q", ("a",), "a", 0.9, 100, 100, 2, 1)
    cited = [replace(base, predicted_doc_id=d) for d in ("d", "other", None, "d")]
    assert answer_source_accuracy(cited) == 0.5
    s = summarize(cited, reader="fake", mode="pipeline", top_k=5).to_dict()
    assert s["answer_source_accuracy"] == 0.5 and s["recall_at_k"]["1"] == 0.0  # it can beat recall@1
    assert summarize(cited, reader="fake", mode="reader", top_k=5).to_dict()["answer_source_accuracy"] is None


def test_percentile() -> None:
    assert percentile([5.0], 95) == 5.0
    assert percentile([], 50) == 0.0


def test_threshold_applies_to_stored_scores(hand_made: list[Prediction]) -> None:
    assert [p.prediction for p in hand_made] == ["أ", "أ", None, None, "y"]
    assert [p.at(0.0).prediction for p in hand_made] == ["أ", "أ", "د", "x", "y"]
    assert summarize(hand_made, "fake", "pipeline", 5, threshold=0.0).f1 == 36.0


def test_sweep_finds_the_best_threshold(hand_made: list[Prediction]) -> None:
    sweep = sweep_threshold(hand_made)
    by_threshold = {round(p.threshold, 6): p.f1 for p in sweep.points}
    assert by_threshold[0.0] == 36.0
    assert by_threshold[0.15] == 36.0  # p3 abstains (no gain), p4 still answers
    assert by_threshold[0.5] == 56.0  # p4 abstains too
    assert by_threshold[0.6] == 40.0
    assert sweep.best.threshold == 0.9 and sweep.best.f1 == 60.0
    assert sweep.current.threshold == 0.2 and sweep.current.f1 == 56.0


SEED_QUESTIONS = {
    "من هو مستشار الأمن القومي الإسرائيلي الذي التقاه بلينكن؟": "تساحي هنغبي",
    "أين عقدت اجتماعات الخميس والجمعة الماضيين؟": "في الدوحة",
}


def _seed_gold(seeds_gold_path: Path) -> GoldSet:
    gold = load_gold(seeds_gold_path)
    keep = [q for q in gold.questions if q.question in SEED_QUESTIONS or q.id in {"none-06", "none-08"}]
    return GoldSet(path=gold.path, format="jsonl", questions=tuple(keep))


def test_pipeline_run_scores_ranks_and_reads_once_per_question(seed_index: BM25Index) -> None:
    gold = _seed_gold(Path(__file__).resolve().parent.parent / "seeds" / "gold.jsonl")
    reader = OracleReader(SEED_QUESTIONS)
    predictions = run_pipeline(gold.questions, Pipeline(seed_index, reader, top_k=5), threshold=0.2)
    assert reader.calls <= len(gold.questions)
    by_id = {p.id: p for p in predictions}
    assert by_id["a004-01"].prediction == "تساحي هنغبي" and by_id["a004-01"].em == 100
    assert by_id["a004-01"].gold_rank == 1
    assert by_id["a004-01"].gold_passage and "تساحي هنغبي" in by_id["a004-01"].gold_passage
    assert by_id["none-06"].prediction is None and by_id["none-06"].f1 == 100
    sweep_threshold(predictions)
    assert reader.calls <= len(gold.questions), "the sweep must not read again"


def test_reader_mode_reads_the_gold_document_and_retrieved_passages_for_no_answers(
    seed_index: BM25Index, seed_corpus: Corpus
) -> None:
    gold = _seed_gold(Path(__file__).resolve().parent.parent / "seeds" / "gold.jsonl")
    seen: dict[str, set[str]] = {}

    class Recording(OracleReader):
        def read(self, question: str, passages: Sequence[Passage]) -> list[Answer]:
            seen[question] = {p.doc_id for p in passages}
            return super().read(question, passages)

    predictions = run_reader(gold.questions, Recording(SEED_QUESTIONS), seed_index.documents, 0.2, index=seed_index)
    by_id = {p.id: (p, seen.get(p.question, set())) for p in predictions}
    assert by_id["a004-01"][1] == {"004_31c9022a9ad5315f"}
    assert by_id["a004-01"][0].f1 == 100 and by_id["a004-01"][0].gold_rank is None
    assert by_id["none-06"][1], "a no-answer question reads the retrieved passages"
    assert by_id["none-06"][0].prediction is None


def test_squad_pipeline_and_reader_modes(tmp_path: Path) -> None:
    gold = load_gold(squad_file(tmp_path), "squad")
    answers = {q.question: q.answers[0] for q in gold.questions}
    settings = Settings(top_k=3)
    piped = evaluate(gold, settings, "pipeline", reader=OracleReader(answers))
    assert piped.summary.em == 100.0
    assert piped.summary.recall_at_k["10"] == 1.0
    read = evaluate(gold, settings, "reader", reader=OracleReader(answers))
    assert read.summary.f1 == 100.0 and read.summary.mrr is None


def test_progress_bar_only_for_long_runs_on_a_terminal(monkeypatch) -> None:
    import sys

    question = GoldQuestion(id="q", question="س", answers=(), doc_id=None)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert _progress([question] * 50, None).disable
    assert not _progress([question] * 51, None).disable
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)  # a log file or a pipe
    assert _progress([question] * 51, None).disable


def test_sweep_keeps_the_current_threshold_when_nothing_is_gained() -> None:
    confident = [pred("a", ("أ",), "أ", 0.5, 100, 100, 1, 1, threshold=0.2), pred("b", (), None, 0.0, 0, 0, None, 1, threshold=0.2)]
    sweep = sweep_threshold(confident)
    assert sweep.best.f1 == sweep.current.f1 == 100.0
    assert sweep.best.threshold == 0.2

