"""Aggregate Predictions into the `sanad eval --json` summary: EM/F1, no-answer accuracy, recall@k, MRR, latency."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from qa.evaluation.run import RECALL_KS, Prediction


@dataclass(frozen=True)
class Summary:
    """Scores of one run. EM/F1 in percent (0-100); accuracy, recall and MRR in 0-1; None where undefined."""

    n: int
    n_has_answer: int
    n_no_answer: int
    em: float
    f1: float
    has_answer_em: float | None
    has_answer_f1: float | None
    no_answer_accuracy: float | None
    recall_at_k: dict[str, float | None]
    mrr: float | None
    latency_p50: float
    latency_p95: float
    reader: str
    mode: str
    threshold: float
    top_k: int
    errors: int = 0
    # The retrieval mode the answers came from, and recall@k by each mode the index can search by.
    retrieval: str = "bm25"
    recall_by_retrieval: dict[str, dict[str, float]] | None = None
    # Pipeline mode: the share of answerable questions whose best candidate (threshold aside) cites the
    # gold document. Answer selection weighs every retrieved passage, so it can exceed recall@1.
    answer_source_accuracy: float | None = None

    def to_dict(self) -> dict[str, object]:
        """The summary object of ARCHITECTURE.md, plus the counts and settings that produced it."""
        return {
            "n": self.n,
            "em": _round(self.em),
            "f1": _round(self.f1),
            "has_answer_em": _round(self.has_answer_em),
            "has_answer_f1": _round(self.has_answer_f1),
            "no_answer_accuracy": _round(self.no_answer_accuracy, 4),
            "recall_at_k": {k: _round(v, 4) for k, v in self.recall_at_k.items()},
            "mrr": _round(self.mrr, 4),
            "answer_source_accuracy": _round(self.answer_source_accuracy, 4),
            "latency_ms": {"p50": _round(self.latency_p50, 3), "p95": _round(self.latency_p95, 3)},
            "reader": self.reader,
            "mode": self.mode,
            "n_has_answer": self.n_has_answer,
            "n_no_answer": self.n_no_answer,
            "no_answer_threshold": self.threshold,
            "top_k": self.top_k,
            "errors": self.errors,
            "retrieval": self.retrieval,
            "recall_by_retrieval": (
                {mode: {k: _round(v, 4) for k, v in recall.items()} for mode, recall in self.recall_by_retrieval.items()}
                if self.recall_by_retrieval
                else None
            ),
        }

    def rows(self) -> list[tuple[str, str]]:
        """(metric, value) pairs for the printed table and report.md."""
        s = self.to_dict()
        recall, latency = s["recall_at_k"], s["latency_ms"]
        return [
            ("questions", f"{self.n} ({self.n_has_answer} answerable, {self.n_no_answer} not)"),
            ("EM / F1", f"{_fmt(s['em'])} / {_fmt(s['f1'])}"),
            ("has-answer EM / F1", f"{_fmt(s['has_answer_em'])} / {_fmt(s['has_answer_f1'])}"),
            ("no-answer accuracy", _fmt(s["no_answer_accuracy"])),
            ("recall@1 / 3 / 5 / 10", " / ".join(_fmt(recall[k]) for k in ("1", "3", "5", "10"))),
            ("MRR", _fmt(s["mrr"])),
            ("answer cites the gold document", _fmt(s["answer_source_accuracy"])),
            ("latency p50 / p95 (ms)", f"{_fmt(latency['p50'])} / {_fmt(latency['p95'])}"),
            ("reader / mode", f"{self.reader} / {self.mode}"),
            ("no-answer threshold / top-k", f"{self.threshold:g} / {self.top_k}"),
            ("retrieval", self.retrieval),
            *(
                (f"recall@1 / 3 / 5 / 10 by {mode}", " / ".join(_fmt(s["recall_by_retrieval"][mode][k]) for k in ("1", "3", "5", "10")))
                for mode in (self.recall_by_retrieval or {})
            ),
        ]


def summarize(
    predictions: Sequence[Prediction], reader: str, mode: str, top_k: int, threshold: float | None = None,
    retrieval: str = "bm25",
) -> Summary:
    """Scores over all `predictions`; recall/MRR only in pipeline mode, over the answerable questions."""
    if not predictions:
        raise ValueError("no predictions to summarize")
    if threshold is not None:
        predictions = [p.at(threshold) for p in predictions]
    answerable = [p for p in predictions if p.answerable]
    unanswerable = [p for p in predictions if not p.answerable]
    retrieved = mode == "pipeline" and answerable
    latencies = [p.latency_ms for p in predictions]
    return Summary(
        n=len(predictions),
        n_has_answer=len(answerable),
        n_no_answer=len(unanswerable),
        em=_mean(p.em for p in predictions),
        f1=_mean(p.f1 for p in predictions),
        has_answer_em=_mean(p.em for p in answerable) if answerable else None,
        has_answer_f1=_mean(p.f1 for p in answerable) if answerable else None,
        no_answer_accuracy=_mean(p.prediction is None for p in unanswerable) if unanswerable else None,
        recall_at_k={str(k): recall_at(answerable, k) if retrieved else None for k in RECALL_KS},
        mrr=mean_reciprocal_rank(answerable) if retrieved else None,
        latency_p50=percentile(latencies, 50),
        latency_p95=percentile(latencies, 95),
        reader=reader,
        mode=mode,
        threshold=predictions[0].threshold,
        top_k=top_k,
        errors=sum(p.error is not None for p in predictions),
        retrieval=retrieval,
        recall_by_retrieval=_recall_by_retrieval(answerable) if retrieved else None,
        answer_source_accuracy=answer_source_accuracy(answerable) if retrieved else None,
    )


def _recall_by_retrieval(answerable: Sequence[Prediction]) -> dict[str, dict[str, float]] | None:
    modes = [mode for mode, _ in answerable[0].ranks_by_retrieval] if answerable else []
    if not modes:
        return None
    recall: dict[str, dict[str, float]] = {}
    for mode in modes:
        ranks = [dict(p.ranks_by_retrieval).get(mode) for p in answerable]
        recall[mode] = {str(k): _mean(r is not None and r <= k for r in ranks) for k in RECALL_KS}
    return recall


def recall_at(predictions: Sequence[Prediction], k: int) -> float:
    """Share of questions whose gold document owns one of the first `k` retrieved passages."""
    return _mean(p.gold_rank is not None and p.gold_rank <= k for p in predictions)


def answer_source_accuracy(predictions: Sequence[Prediction]) -> float:
    """Share of questions whose best candidate, answered or not (the pipeline is asked at threshold 0),
    cites a passage of the gold document."""
    return _mean(p.predicted_doc_id is not None and p.predicted_doc_id == p.doc_id for p in predictions)


def mean_reciprocal_rank(predictions: Sequence[Prediction]) -> float:
    """Mean of 1/rank of the gold document's first passage; 0 when it is not in the retrieved depth."""
    return _mean(1.0 / p.gold_rank if p.gold_rank else 0.0 for p in predictions)


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default); 0 for no values."""
    return float(np.percentile(values, q)) if len(values) else 0.0


def _mean(values) -> float:
    items = [float(v) for v in values]
    return sum(items) / len(items) if items else 0.0


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def _fmt(value: object) -> str:
    return "-" if value is None else f"{value:g}" if isinstance(value, float) else str(value)
