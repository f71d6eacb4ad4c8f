"""The reader contract shared by every implementation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from qa.types import Answer, Citation
from retrieval.types import Passage


@runtime_checkable
class Reader(Protocol):
    """Extracts answer spans from passages.

    `read` returns candidate answers, best first, each with one citation into the passage it came
    from (`citation.passage[start:end] == answer.text`) and a score in [0, 1]. Title and source are
    left empty: the pipeline, which knows the documents, fills them in.
    """

    name: str

    def read(self, question: str, passages: Sequence[Passage]) -> list[Answer]: ...


def span_answer(question: str, passage: Passage, start: int, end: int, score: float, reader: str) -> Answer:
    """One candidate answer: the span `passage.text[start:end]`, cited."""
    citation = Citation(
        doc_id=passage.doc_id,
        title="",
        source="",
        passage_id=passage.id,
        passage=passage.text,
        start=start,
        end=end,
        score=score,
    )
    return Answer(question=question, text=passage.text[start:end], score=score, citations=[citation], reader=reader)
