"""Sweep the no-answer threshold over stored scores: which threshold gives this gold set the best F1."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from qa.evaluation.run import Prediction


@dataclass(frozen=True)
class SweepPoint:
    threshold: float
    f1: float
    em: float
    no_answer_accuracy: float | None


@dataclass(frozen=True)
class ThresholdSweep:
    """The best threshold and the F1 at the current one, for comparison.

    Among equally good thresholds the one nearest the current setting wins: a sweep should not move
    the setting for no gain.
    """

    best: SweepPoint
    current: SweepPoint
    points: tuple[SweepPoint, ...]

    def to_dict(self) -> dict[str, object]:
        return {
            "best_threshold": round(self.best.threshold, 6),
            "best_f1": round(self.best.f1, 2),
            "best_em": round(self.best.em, 2),
            "current_threshold": self.current.threshold,
            "current_f1": round(self.current.f1, 2),
            "points": [
                {"threshold": round(p.threshold, 6), "f1": round(p.f1, 2), "em": round(p.em, 2)} for p in self.points
            ],
        }


def sweep_threshold(predictions: Sequence[Prediction]) -> ThresholdSweep:
    """F1 at every threshold that changes an outcome (zero, each distinct candidate score, above all) and the current one."""
    if not predictions:
        raise ValueError("no predictions to sweep")
    scores = sorted({p.score for p in predictions if p.candidate is not None})
    # Thresholds between scores change nothing, so the candidates' own scores (plus "abstain always") suffice.
    above_all = (scores[-1] + 1e-6) if scores else 1.0
    current = predictions[0].threshold
    candidates = sorted({0.0, current, *scores, above_all})
    points = tuple(point_at(predictions, t) for t in candidates)
    best = max(points, key=lambda p: (round(p.f1, 9), -abs(p.threshold - current), -p.threshold))
    return ThresholdSweep(best=best, current=point_at(predictions, current), points=points)


def point_at(predictions: Sequence[Prediction], threshold: float) -> SweepPoint:
    moved = [p.at(threshold) for p in predictions]
    unanswerable = [p for p in moved if not p.answerable]
    return SweepPoint(
        threshold=threshold,
        f1=sum(p.f1 for p in moved) / len(moved),
        em=sum(p.em for p in moved) / len(moved),
        no_answer_accuracy=(sum(p.prediction is None for p in unanswerable) / len(unanswerable)) if unanswerable else None,
    )
