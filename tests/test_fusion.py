"""Fusion of BM25 and dense rankings, on hand-made lists."""

from __future__ import annotations

import pytest

from retrieval.fusion import Fusion, min_max_fusion, reciprocal_rank_fusion

BM25 = [(1, 12.0), (2, 9.0), (3, 3.0)]
DENSE = [(3, 0.91), (4, 0.90), (1, 0.70)]


def test_rrf_sums_reciprocal_ranks_over_both_lists() -> None:
    scores = reciprocal_rank_fusion([BM25, DENSE], k=10)
    assert scores[1] == pytest.approx(1 / 11 + 1 / 13)
    assert scores[3] == pytest.approx(1 / 13 + 1 / 11)
    assert scores[2] == pytest.approx(1 / 12)
    assert scores[4] == pytest.approx(1 / 12)


def test_rrf_ranks_a_row_both_lists_agree_on_above_rows_only_one_list_has() -> None:
    fused = Fusion("rrf", rrf_k=10).fuse(BM25, DENSE, k=4)
    # 1 and 3 tie on RRF; the better BM25 rank breaks the tie, then 2 (BM25 #2) before 4 (dense only).
    assert [row for row, _ in fused] == [1, 3, 2, 4]


def test_min_max_normalizes_each_list_and_weights_them() -> None:
    scores = min_max_fusion([BM25, DENSE], [0.3, 0.7])
    assert scores[1] == pytest.approx(0.3 * 1.0 + 0.7 * 0.0)
    assert scores[3] == pytest.approx(0.3 * 0.0 + 0.7 * 1.0)
    assert scores[4] == pytest.approx(0.7 * (0.90 - 0.70) / (0.91 - 0.70))
    assert scores[2] == pytest.approx(0.3 * (9 - 3) / (12 - 3))
    fused = Fusion("minmax", bm25_weight=0.3).fuse(BM25, DENSE, k=2)
    assert [row for row, _ in fused] == [3, 4]


def test_depth_cuts_each_list_before_fusing_and_k_cuts_the_result() -> None:
    fused = Fusion("rrf", depth=1, rrf_k=10).fuse(BM25, DENSE, k=5)
    assert sorted(row for row, _ in fused) == [1, 3]
    assert len(Fusion().fuse(BM25, DENSE, k=2)) == 2


def test_one_empty_list_leaves_the_other_in_its_order() -> None:
    assert [row for row, _ in Fusion("rrf").fuse([], DENSE, k=3)] == [3, 4, 1]
    assert [row for row, _ in Fusion("minmax").fuse(BM25, [], k=3)] == [1, 2, 3]


def test_bad_constants_are_refused_with_what_to_pass() -> None:
    with pytest.raises(ValueError, match="rrf or minmax"):
        Fusion("sum")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="bm25_weight"):
        Fusion("minmax", bm25_weight=1.5)
