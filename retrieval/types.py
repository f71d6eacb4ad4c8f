"""The retrieval data types: documents, their passages, and search hits."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Document:
    """One source document; `id` is the file name without extension for `.txt` corpora."""

    id: str
    title: str
    text: str
    source: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Document:
        return cls(
            id=data["id"],
            title=data.get("title", ""),
            text=data["text"],
            source=data.get("source", ""),
            meta=dict(data.get("meta") or {}),
        )


@dataclass(frozen=True)
class Passage:
    """A chunk of one document: `document.text[start:end] == text`."""

    id: str
    doc_id: str
    text: str
    start: int
    end: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Passage:
        return cls(**{k: data[k] for k in ("id", "doc_id", "text", "start", "end")})


@dataclass(frozen=True)
class Hit:
    """A retrieval result: `rank` starts at 1. `similarity`: the passage's dense (cosine) similarity to
    the query, when dense vectors were searched; None by BM25 alone."""

    passage: Passage
    score: float
    rank: int
    similarity: float | None = None
