"""The reader contract shared by every implementation."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Protocol, runtime_checkable

from qa.types import Answer, Citation
from retrieval.normalize import normalize
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


# Where an answer sits: a scope (a passage or document id) and character offsets in it.
Span = tuple[str, int, int]


def passage_span(answer: Answer) -> Span:
    """The answer's span in the passage it cites first."""
    c = answer.citations[0]
    return c.passage_id, c.start, c.end


def distinct_answers(
    answers: Iterable[Answer], span_of: Callable[[Answer], Span] = passage_span, *,
    overlapping: bool = True, same_text: bool = False,
) -> list[Answer]:
    """`answers` (best first) without those that repeat one kept before them: the same span, or with
    `overlapping` any span that overlaps it in the same scope, or with `same_text` the same normalized
    text. The one de-duplication rule of readers and answer selection; the flags say how strict."""
    kept: list[Answer] = []
    spans: list[Span] = []
    texts: set[str] = set()
    for answer in answers:
        scope, start, end = span = span_of(answer)
        text = normalize(answer.text or "") if same_text else ""
        if same_text and text in texts:
            continue
        if overlapping:
            if any(s == scope and a < end and start < b for s, a, b in spans):
                continue
        elif span in spans:
            continue
        kept.append(answer)
        spans.append(span)
        texts.add(text)
    return kept
