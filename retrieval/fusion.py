"""Fusion of ranked lists (BM25 and dense) into one: reciprocal-rank fusion or weighted min-max scores."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

FusionMethod = Literal["rrf", "minmax"]

# A ranked list: (passage row, score) pairs, best first.
Ranking = Sequence[tuple[int, float]]


@dataclass(frozen=True)
class Fusion:
    """How two rankings become one. Constants chosen on training-side data (README, "Hybrid retrieval").

    `depth`: how many of each list take part. `rrf_k`: the rank offset of reciprocal-rank fusion
    (small k trusts the top of each list more). `bm25_weight`: BM25's share in min-max fusion.
    """

    method: FusionMethod = "minmax"
    depth: int = 20
    rrf_k: float = 10.0
    bm25_weight: float = 0.4

    def __post_init__(self) -> None:
        if self.method not in ("rrf", "minmax"):
            raise ValueError(f"unknown fusion method {self.method!r}; use rrf or minmax")
        if self.depth < 1 or self.rrf_k < 0 or not 0 <= self.bm25_weight <= 1:
            raise ValueError("fusion needs depth >= 1, rrf_k >= 0 and bm25_weight in [0, 1]")

    def fuse(self, bm25: Ranking, dense: Ranking, k: int) -> list[tuple[int, float]]:
        """The `k` best rows with their fused scores, best first; ties go to the better BM25 rank, then the row."""
        bm25, dense = list(bm25)[: self.depth], list(dense)[: self.depth]
        if self.method == "rrf":
            scores = reciprocal_rank_fusion([bm25, dense], self.rrf_k)
        else:
            scores = min_max_fusion([bm25, dense], [self.bm25_weight, 1 - self.bm25_weight])
        bm25_rank = {row: rank for rank, (row, _) in enumerate(bm25)}
        order = sorted(scores, key=lambda row: (-scores[row], bm25_rank.get(row, len(bm25)), row))
        return [(row, scores[row]) for row in order[:k]]


def reciprocal_rank_fusion(rankings: Sequence[Ranking], k: float) -> dict[int, float]:
    """Σ 1 / (k + rank) over the lists a row appears in (rank from 1)."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, (row, _) in enumerate(ranking, start=1):
            scores[row] = scores.get(row, 0.0) + 1.0 / (k + rank)
    return scores


def min_max_fusion(rankings: Sequence[Ranking], weights: Sequence[float]) -> dict[int, float]:
    """Σ weight · (score − min) / (max − min) per list; a row absent from a list gets 0 from it.

    A list whose scores are all equal contributes its full weight to each of its rows.
    """
    scores: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights):
        if not ranking:
            continue
        values = [score for _, score in ranking]
        low, high = min(values), max(values)
        for row, score in ranking:
            share = (score - low) / (high - low) if high > low else 1.0
            scores[row] = scores.get(row, 0.0) + weight * share
    for ranking in rankings:  # every row of either list is a candidate, even at score 0
        for row, _ in ranking:
            scores.setdefault(row, 0.0)
    return scores
