"""Answer selection across passages: combine reader and retrieval scores, drop duplicates, or abstain."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from qa.readers.base import Span, distinct_answers
from qa.types import Answer, Citation
from retrieval.types import Document, Hit

# How many other places an answer also cites, and how many passages a no-answer shows.
MAX_CITATIONS = 4
# multilingual-e5 similarities of a question to passages fall in a narrow band (held-out dev sets:
# 5th / 50th / 95th percentiles 0.78 / 0.83 / 0.88); this range is rescaled to [0, 1] for the support.
# Chosen with the averaging below on two held-out training-side dev sets (README, "Hybrid retrieval").
DENSE_SUPPORT_RANGE = (0.80, 0.90)


def passage_support(coverage: float, similarity: float | None) -> float:
    """How well a passage supports an answer to the question, in [0, 1]: its BM25 coverage of the
    question's idf mass, averaged with its rescaled dense similarity when dense vectors were searched.

    Coverage alone cannot tell a paraphrase from a passage on another subject that shares the question's
    rarer words; the similarity can. On the dev sets the average raised pipeline F1 from 61.8 to 70.2
    (questions whose paragraph was removed among them) and from 31.4 to 35.2 (AQAD, a third unanswerable).
    """
    if similarity is None:
        return coverage
    low, high = DENSE_SUPPORT_RANGE
    return (coverage + min(1.0, max(0.0, (similarity - low) / (high - low)))) / 2


def select_answer(
    question: str,
    hits: Sequence[Hit],
    fallback: Sequence[Hit],
    candidates: Sequence[Answer],
    documents: dict[str, Document],
    *,
    threshold: float,
    reader_weight: float,
    reader_name: str,
    coverage: dict[str, float] | None = None,
) -> Answer:
    """The best answer, its citation first and other candidates after; or a no-answer with the closest passages.

    A candidate's score is the weighted geometric mean of the reader's score and its passage's
    support (`coverage`, passage id → [0, 1], see `passage_support`; without it, BM25 relative to the
    best hit). Geometric, so that either signal near zero sinks the answer: a confident span in a passage
    that misses the question's key word («اليابان») is not an answer. `fallback` are the passages to
    show when retrieval found nothing at all.
    """
    if not hits:
        return Answer(question=question, text=None, score=0.0, citations=passage_citations(fallback, documents), reader=reader_name)
    if coverage is None:
        top_retrieval = max(h.score for h in hits) or 1.0
        coverage = {h.passage.id: h.score / top_retrieval for h in hits}

    scored: list[Answer] = []
    for candidate in candidates:
        c = candidate.citations[0]
        support = coverage.get(c.passage_id, 0.0)
        combined = (max(candidate.score, 0.0) ** reader_weight) * (max(support, 0.0) ** (1 - reader_weight))
        citation = _with_document(replace(c, score=combined), documents)
        scored.append(replace(candidate, score=combined, citations=[citation]))
    scored.sort(key=lambda a: -a.score)
    unique = _drop_duplicates(scored, hits)

    if not unique or unique[0].score < threshold:
        best = unique[0].score if unique else 0.0
        return Answer(question=question, text=None, score=best, citations=passage_citations(hits, documents), reader=reader_name)
    best = unique[0]
    citations = [a.citations[0] for a in unique[:MAX_CITATIONS]]
    return Answer(question=question, text=best.text, score=best.score, citations=citations, reader=reader_name)


def passage_citations(hits: Sequence[Hit], documents: dict[str, Document], n: int = MAX_CITATIONS) -> list[Citation]:
    """Citations of whole passages (start == end == 0), for a no-answer."""
    return [
        _with_document(
            Citation(
                doc_id=h.passage.doc_id,
                title="",
                source="",
                passage_id=h.passage.id,
                passage=h.passage.text,
                start=0,
                end=0,
                score=h.score,
            ),
            documents,
        )
        for h in hits[:n]
    ]


def _with_document(citation: Citation, documents: dict[str, Document]) -> Citation:
    doc = documents.get(citation.doc_id)
    if doc is None:
        return citation
    return replace(citation, title=doc.title, source=doc.source)


def _drop_duplicates(answers: list[Answer], hits: Sequence[Hit]) -> list[Answer]:
    """Keep the best of answers that say the same thing or overlap in the same document.

    Overlapping passages share sentences, so one span can be found twice at different passage
    offsets; document offsets (passage start + span offset) reveal that.
    """
    passage_start = {h.passage.id: h.passage.start for h in hits}

    def document_span(answer: Answer) -> Span:
        c = answer.citations[0]
        offset = passage_start.get(c.passage_id, 0)
        return c.doc_id, offset + c.start, offset + c.end

    return distinct_answers(answers, document_span, same_text=True)
