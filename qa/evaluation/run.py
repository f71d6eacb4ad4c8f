"""Run a gold set through the pipeline (retrieve + read) or the reader alone, one Prediction per question.

Every question is answered with the no-answer threshold at zero, so that each Prediction keeps the
best candidate and its score; the threshold is applied afterwards (`Prediction.at`), which is what
lets `--sweep-threshold` try every threshold without reading again.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

from tqdm import tqdm

from qa.config import DEFAULT_TOP_K
from qa.evaluation.gold import GoldQuestion
from qa.metrics import exact_match, f1_score
from qa.pipeline import Pipeline
from qa.question import QuestionError
from qa.readers.base import Reader
from qa.selection import select_answer
from qa.types import Answer
from retrieval.chunk import chunk_document
from retrieval.hybrid import HybridIndex
from retrieval.index import BM25Index
from retrieval.types import Document, Hit, Passage

# Passages retrieved per question for recall@k and MRR; the reader still reads only top_k of them.
RECALL_DEPTH = 10
RECALL_KS = (1, 3, 5, 10)
# Runs this long get a progress bar; the seeds' gold set finishes before one would be useful.
EVAL_PROGRESS_FROM = 50


@dataclass(frozen=True)
class Prediction:
    """One question's outcome. `candidate` is the best answer before the threshold, `prediction` after it.

    EM/F1 are 0-100. `candidate_em`/`candidate_f1` score the candidate as if it were given, and
    `gold_rank` is the rank (1-based) of the first retrieved passage from the gold document, if any.
    """

    id: str
    question: str
    gold: tuple[str, ...]
    doc_id: str | None
    candidate: str | None
    score: float
    candidate_em: float
    candidate_f1: float
    threshold: float
    gold_rank: int | None
    predicted_doc_id: str | None
    passage: str
    gold_passage: str | None
    latency_ms: float
    error: str | None = None
    # (retrieval mode, gold_rank by that mode) for every mode the index can search by.
    ranks_by_retrieval: tuple[tuple[str, int | None], ...] = ()

    @property
    def answerable(self) -> bool:
        return bool(self.gold)

    @property
    def prediction(self) -> str | None:
        return self.candidate if self.candidate is not None and self.score >= self.threshold else None

    @property
    def em(self) -> float:
        return self.candidate_em if self.prediction is not None else float(not self.gold) * 100

    @property
    def f1(self) -> float:
        return self.candidate_f1 if self.prediction is not None else float(not self.gold) * 100

    def at(self, threshold: float) -> Prediction:
        """The same outcome under another no-answer threshold."""
        return replace(self, threshold=threshold)

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "question": self.question,
            "prediction": self.prediction,
            "gold": list(self.gold),
            "doc_id": self.doc_id,
            "em": round(self.em, 2),
            "f1": round(self.f1, 2),
            "gold_rank": self.gold_rank,
            "score": round(self.score, 6),
            "latency_ms": round(self.latency_ms, 3),
            "candidate": self.candidate,
            "predicted_doc_id": self.predicted_doc_id,
            "passage": self.passage,
            "error": self.error,
        }


def run_pipeline(
    questions: Sequence[GoldQuestion], pipeline: Pipeline, threshold: float, progress: bool | None = None
) -> list[Prediction]:
    """Retrieve and read each question over the pipeline's index."""
    index = pipeline.index
    modes = index.modes if isinstance(index, HybridIndex) else ()
    predictions = []
    for gold in _progress(questions, progress):
        try:
            hits = pipeline.search(gold.question, max(RECALL_DEPTH, pipeline.top_k))
            # At threshold 0: the threshold is applied to the stored score, so that a sweep can replay it.
            answer = pipeline.ask(gold.question, threshold=0.0)
        except QuestionError as err:
            predictions.append(_unusable(gold, threshold, err))
            continue
        rank = _gold_rank(gold, hits)
        prediction = _prediction(gold, answer, threshold, rank, _gold_passage(gold, pipeline.index))
        if modes:  # the question's embedding is cached: the other modes cost their search only
            by_mode = tuple((m, _gold_rank(gold, index.search(gold.question, RECALL_DEPTH, mode=m))) for m in modes)
            prediction = replace(prediction, ranks_by_retrieval=by_mode)
        predictions.append(prediction)
    return predictions


def _gold_rank(gold: GoldQuestion, hits: Sequence[Hit]) -> int | None:
    return next((h.rank for h in hits if h.passage.doc_id == gold.doc_id), None) if gold.doc_id else None


def run_reader(
    questions: Sequence[GoldQuestion],
    reader: Reader,
    documents: dict[str, Document],
    threshold: float,
    index: BM25Index | None = None,
    top_k: int = DEFAULT_TOP_K,
    whole_documents: bool = False,
    progress: bool | None = None,
) -> list[Prediction]:
    """Give each question's gold document to the reader: whole (SQuAD paragraphs) or chunked as the index would.

    A question with no gold document (a JSON Lines no-answer) reads the `top_k` passages `index`
    retrieves instead: the closest distractors, which the reader should decline. Scores are the
    reader's own (reader weight 1), since there is no retrieval score to combine.
    """
    predictions = []
    for gold in _progress(questions, progress):
        started = time.perf_counter()
        if gold.doc_id is not None:
            doc = documents[gold.doc_id]
            passages = [_whole(doc)] if whole_documents else chunk_document(doc)
            hits = [Hit(p, 1.0, rank) for rank, p in enumerate(passages, start=1)]
        else:
            hits = index.search(gold.question, top_k) if index is not None else []
        try:
            candidates = reader.read(gold.question, [h.passage for h in hits]) if hits else []
        except QuestionError as err:
            predictions.append(_unusable(gold, threshold, err))
            continue
        answer = select_answer(
            gold.question, hits, [], candidates, documents, threshold=0.0, reader_weight=1.0, reader_name=reader.name
        )
        answer = replace(answer, latency_ms=(time.perf_counter() - started) * 1000)
        gold_passage = _containing(gold, [h.passage for h in hits])
        predictions.append(_prediction(gold, answer, threshold, None, gold_passage))
    return predictions


def _prediction(gold: GoldQuestion, answer: Answer, threshold: float, rank: int | None, gold_passage: str | None) -> Prediction:
    cited = answer.citations[0] if answer.citations else None
    candidate = answer.text
    return Prediction(
        id=gold.id,
        question=gold.question,
        gold=gold.answers,
        doc_id=gold.doc_id,
        candidate=candidate,
        score=float(answer.score) if candidate is not None else 0.0,
        candidate_em=100 * exact_match(candidate, gold.answers) if candidate is not None else 0.0,
        candidate_f1=100 * f1_score(candidate, gold.answers) if candidate is not None else 0.0,
        threshold=threshold,
        gold_rank=rank,
        predicted_doc_id=cited.doc_id if cited and candidate is not None else None,
        passage=cited.passage if cited else "",
        gold_passage=gold_passage,
        latency_ms=answer.latency_ms,
    )


def _unusable(gold: GoldQuestion, threshold: float, err: QuestionError) -> Prediction:
    return Prediction(
        id=gold.id, question=gold.question, gold=gold.answers, doc_id=gold.doc_id, candidate=None, score=0.0,
        candidate_em=0.0, candidate_f1=0.0, threshold=threshold, gold_rank=None, predicted_doc_id=None,
        passage="", gold_passage=None, latency_ms=0.0, error=err.message_en,
    )  # fmt: skip


def _gold_passage(gold: GoldQuestion, index: BM25Index | HybridIndex) -> str | None:
    if gold.doc_id is None or not gold.answers:
        return None
    return _containing(gold, index.passages_of(gold.doc_id))


def _containing(gold: GoldQuestion, passages: Sequence[Passage]) -> str | None:
    """The first passage holding a gold answer: what the report shows beside a failure."""
    for answer in gold.answers:
        for passage in passages:
            if passage.doc_id == gold.doc_id and answer in passage.text:
                return passage.text
    return None


def _whole(doc: Document) -> Passage:
    return Passage(id=f"{doc.id}#0", doc_id=doc.id, text=doc.text, start=0, end=len(doc.text))


def _progress(questions: Sequence[GoldQuestion], progress: bool | None):
    # A bar on a terminal only: in a log file or a pipe it is a line of carriage returns.
    show = len(questions) > EVAL_PROGRESS_FROM and sys.stderr.isatty() if progress is None else progress
    return tqdm(questions, desc="Evaluating", unit="question", disable=not show, leave=False)
