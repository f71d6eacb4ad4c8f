"""Retrieval by BM25, by dense vectors, or by both fused: one object that answers like a BM25Index."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, get_args

from retrieval.dense import DenseVectors, Embedder
from retrieval.fusion import Fusion
from retrieval.index import CLOSEST_K, BM25Index, BuildSettings
from retrieval.types import Document, Hit, Passage

RetrievalMode = Literal["bm25", "dense", "hybrid"]
RETRIEVAL_MODES: tuple[str, ...] = get_args(RetrievalMode)


def no_vectors_notice(folder: Path | str) -> str:
    return (
        f"The index in {folder} has no dense vectors yet: answering with BM25 alone. "
        "Run `sanad index` to add them (each passage is embedded once; an interrupted run resumes)."
    )


class HybridIndex:
    """An index searched the way `mode` says; without vectors, every mode searches by BM25 (`mode` says so)."""

    def __init__(
        self, index: BM25Index, mode: RetrievalMode = "hybrid", embedder: Embedder | None = None,
        fusion: Fusion | None = None,
    ) -> None:  # fmt: skip
        if mode not in RETRIEVAL_MODES:
            raise ValueError(f"unknown retrieval mode {mode!r}; use one of {', '.join(RETRIEVAL_MODES)}")
        self.bm25 = index
        self.requested_mode = mode
        self.mode: RetrievalMode = mode if mode == "bm25" or index.vectors is not None else "bm25"
        self.dense = DenseVectors(index.vectors) if self.mode != "bm25" and index.vectors is not None else None
        self.embedder = (embedder or Embedder()) if self.dense is not None else None
        self.fusion = fusion or Fusion()

    @property
    def passages(self) -> Sequence[Passage]:
        return self.bm25.passages

    @property
    def documents(self) -> dict[str, Document]:
        return self.bm25.documents  # type: ignore[return-value]

    @property
    def manifest(self) -> dict[str, Any]:
        return self.bm25.manifest

    @property
    def settings(self) -> BuildSettings:
        return self.bm25.settings

    @property
    def modes(self) -> tuple[RetrievalMode, ...]:
        """The modes this index can search by."""
        return ("bm25", "dense", "hybrid") if self.dense is not None else ("bm25",)

    def search(self, query: str, k: int = 5, mode: RetrievalMode | None = None) -> list[Hit]:
        """The `k` best passages for `query` by `mode` (default: the index's), best first."""
        mode = mode or self.mode
        if k <= 0:
            return []
        if mode == "bm25" or self.dense is None or self.embedder is None:
            return self.bm25.search(query, k)
        vector = self.embedder.query(query)
        rows, similarities = self.dense.search(vector, max(k, self.fusion.depth))
        dense = list(zip(rows.tolist(), similarities.tolist()))
        ranked = dense[:k] if mode == "dense" else self.fusion.fuse(self.bm25.ranked(query, self.fusion.depth), dense, k)
        similar = self.dense.similarity(vector, [row for row, _ in ranked]).tolist()
        return [
            Hit(self.passages[row], float(score), rank, float(s))
            for rank, ((row, score), s) in enumerate(zip(ranked, similar), start=1)
        ]

    def similarity(self, query: str, rows: Sequence[int]) -> list[float] | None:
        """Cosine similarity of `query` to the passages at `rows`; None without vectors."""
        if self.dense is None or self.embedder is None:
            return None
        return self.dense.similarity(self.embedder.query(query), rows).tolist()

    def coverage(self, query: str, passages: Sequence[Passage]) -> list[float]:
        return self.bm25.coverage(query, passages)

    def closest(self, query: str, k: int = CLOSEST_K) -> list[Hit]:
        return self.bm25.closest(query, k)

    def passages_of(self, doc_id: str) -> list[Passage]:
        return self.bm25.passages_of(doc_id)
