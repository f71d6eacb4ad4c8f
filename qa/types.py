"""The answer data types: what every front end receives and `--json` prints."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Citation:
    """Where an answer comes from: `passage[start:end]` is the answer text exactly.

    For a no-answer, citations are the closest passages and `start == end == 0`.
    """

    doc_id: str
    title: str
    source: str
    passage_id: str
    passage: str
    start: int
    end: int
    score: float

    @property
    def quote(self) -> str:
        return self.passage[self.start : self.end]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Answer:
    """An answer to one question; `text is None` means the corpus does not answer it."""

    question: str
    text: str | None
    score: float
    citations: list[Citation] = field(default_factory=list)
    reader: str = ""
    latency_ms: float = 0.0

    @property
    def found(self) -> bool:
        return self.text is not None

    def to_dict(self) -> dict[str, Any]:
        """The `sanad ask --json` object (ARCHITECTURE.md)."""
        return {
            "question": self.question,
            "answer": self.text,
            "score": round(float(self.score), 6),
            "reader": self.reader,
            "latency_ms": round(float(self.latency_ms), 3),
            "citations": [c.to_dict() for c in self.citations],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Answer:
        """The Answer that `to_dict` wrote (stored state, such as the bot's buttons)."""
        return cls(
            question=data["question"],
            text=data["answer"],
            score=float(data["score"]),
            citations=[Citation(**c) for c in data.get("citations", [])],
            reader=data.get("reader", ""),
            latency_ms=float(data.get("latency_ms", 0.0)),
        )
