"""Split documents into sentence-aware passages of a few sentences that overlap by one."""

from __future__ import annotations

import re
from collections.abc import Iterator

from retrieval.types import Document, Passage

# A sentence ends at . ! ? ؟ ؛ (with any closing quotes) followed by space, or at a line break.
# A dot between digits (2.5) or inside a Latin abbreviation is not followed by a space and stays.
_SENTENCE_END_RE = re.compile(r"[.!?؟؛…]+[\"'”»)\]]*(?=\s|$)|\n")
# Overlong sentences are cut again at the Arabic comma, then at any space.
_CLAUSE_END_RE = re.compile(r"[،,]\s")


def sentence_spans(text: str, max_chars: int = 400) -> list[tuple[int, int]]:
    """(start, end) of each sentence in `text`, whitespace trimmed; no sentence is longer than max_chars."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _SENTENCE_END_RE.finditer(text):
        spans.extend(_split_long(text, start, match.end(), max_chars))
        start = match.end()
    spans.extend(_split_long(text, start, len(text), max_chars))
    return spans


def chunk_document(doc: Document, max_sentences: int = 3, max_chars: int = 600) -> list[Passage]:
    """Passages of up to `max_sentences` sentences (and `max_chars`), consecutive ones sharing a sentence."""
    spans = sentence_spans(doc.text, max_chars=max_chars // 2)
    passages: list[Passage] = []
    for number, (start, end) in enumerate(_windows(spans, max_sentences, max_chars)):
        passages.append(Passage(id=f"{doc.id}#{number}", doc_id=doc.id, text=doc.text[start:end], start=start, end=end))
    return passages


def _windows(spans: list[tuple[int, int]], max_sentences: int, max_chars: int) -> Iterator[tuple[int, int]]:
    i = 0
    while i < len(spans):
        j = i + 1
        while j < len(spans) and j - i < max_sentences and spans[j][1] - spans[i][0] <= max_chars:
            j += 1
        yield spans[i][0], spans[j - 1][1]
        if j >= len(spans):
            return
        # Overlap by one sentence, but always move forward.
        i = max(j - 1, i + 1)


def _split_long(text: str, start: int, end: int, max_chars: int) -> Iterator[tuple[int, int]]:
    start, end = _trim(text, start, end)
    while end - start > max_chars:
        window = text[start : start + max_chars]
        cut = None
        for match in _CLAUSE_END_RE.finditer(window):
            cut = match.end()
        if cut is None or cut < max_chars // 3:
            space = window.rfind(" ", max_chars // 3)
            cut = space + 1 if space > 0 else max_chars
        piece_start, piece_end = _trim(text, start, start + cut)
        if piece_end > piece_start:
            yield piece_start, piece_end
        start, end = _trim(text, start + cut, end)
    if end > start:
        yield start, end


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
