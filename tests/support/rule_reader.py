"""A fixed rule-based span reader for tests: the answer is a short run of words next to the question's words.

The evaluation tests use it so that they check the `eval` command, not whichever embedded model ships.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from qa.readers.base import span_answer
from qa.types import Answer
from retrieval.analyze import Analyzer, stopwords
from retrieval.chunk import sentence_spans
from retrieval.types import Passage
from retrieval.words import Word, words

_MONTHS = {
    "يناير", "فبراير", "مارس", "ابريل", "مايو", "يونيو", "يوليو", "اغسطس", "سبتمبر", "اكتوبر", "نوفمبر",
    "ديسمبر", "كانون", "شباط", "اذار", "نيسان", "ايار", "حزيران", "تموز", "اب", "ايلول", "تشرين",
}
_DAYS = {"السبت", "الاحد", "الاثنين", "الثلاثاء", "الاربعاء", "الخميس", "الجمعه"}
_DIGIT_RE = re.compile(r"\d")
_MAX_SPAN_WORDS = 8


class HeuristicReader:
    """Scores runs of words adjacent to the question's words inside the best-matching sentences."""

    name = "rules"

    def __init__(self, analyzer: Analyzer | None = None, max_answers: int = 10) -> None:
        self.analyzer = analyzer or Analyzer()
        self.max_answers = max_answers

    def read(self, question: str, passages: Sequence[Passage]) -> list[Answer]:
        q_terms = set(self.analyzer.terms(question))
        kind = question_kind(question)
        answers: list[Answer] = []
        for passage in passages:
            answers.extend(self._read_passage(question, q_terms, kind, passage))
        answers.sort(key=lambda a: -a.score)
        return answers[: self.max_answers]

    def _read_passage(self, question: str, q_terms: set[str], kind: str, passage: Passage) -> list[Answer]:
        if not q_terms:
            return []
        found: list[Answer] = []
        all_words = words(passage.text)
        stop = stopwords()
        for s_start, s_end in sentence_spans(passage.text):
            sent = [w for w in all_words if s_start <= w.start and w.end <= s_end]
            matched = [i for i, w in enumerate(sent) if self.analyzer.stem(w.norm) in q_terms]
            if not matched:
                continue
            coverage = len({self.analyzer.stem(sent[i].norm) for i in matched}) / len(q_terms)
            for i, j in _runs(passage.text, sent, set(matched), stop):
                distance = min(min(abs(i - m), abs(j - m)) for m in matched)
                length = j - i + 1
                fit = _kind_fit(kind, sent[i : j + 1])
                # In Arabic news the answer mostly follows the phrase the question repeats
                # («المتحدث باسم الخارجية ماثيو ميلر»).
                side = 1.0 if i - 1 in matched else 0.75
                raw = coverage * side * (1.0 / (1.0 + distance)) * math.exp(-0.15 * max(0, length - 2)) * fit
                found.append(span_answer(question, passage, sent[i].start, sent[j].end, min(1.0, raw), self.name))
        return found


def question_kind(question: str) -> str:
    """The interrogative that decides what an answer looks like (من ما متى أين كم كيف لماذا هل أي)."""
    for word in words(question)[:4]:
        norm = word.norm
        for kind, forms in _KINDS.items():
            if norm in forms:
                return kind
    return "other"


_KINDS = {
    "who": {"من", "مين", "لمن"},
    "when": {"متي", "امتي", "امتى", "متى"},
    "where": {"اين", "فين", "وين"},
    "how_many": {"كم"},
    "how": {"كيف", "ازاي"},
    "why": {"لماذا", "ليش", "ليه"},
    "yes_no": {"هل"},
    "which": {"اي", "ايه", "ايش", "شو"},
    "what": {"ما", "ماذا"},
}


def _kind_fit(kind: str, span: list[Word]) -> float:
    has_digit = any(_DIGIT_RE.search(w.norm) for w in span)
    has_date = has_digit or any(w.norm in _MONTHS or w.norm in _DAYS for w in span)
    if kind == "how_many":
        return 1.0 if has_digit else 0.3
    if kind == "when":
        return 1.0 if has_date else 0.3
    if kind == "who":
        return 0.5 if has_date else 1.0
    return 1.0


def _runs(text: str, sent: list[Word], matched: set[int], stop: frozenset[str]) -> list[tuple[int, int]]:
    """Runs of unmatched words that touch a matched word, cut at punctuation, of bounded length."""
    runs: list[tuple[int, int]] = []
    i = 0
    while i < len(sent):
        if i in matched:
            i += 1
            continue
        j = i
        while j + 1 < len(sent) and j + 1 not in matched and not _punct_between(text, sent[j], sent[j + 1]):
            j += 1
        # Trim function words at the edges: an answer does not start or end with «في» or «أن».
        a, b = i, j
        while a <= b and sent[a].norm in stop:
            a += 1
        while b >= a and sent[b].norm in stop:
            b -= 1
        touches = (i - 1 in matched) or (j + 1 in matched)
        if a <= b and touches:
            runs.append((a, min(b, a + _MAX_SPAN_WORDS - 1)))
        i = j + 1
    return runs


def _punct_between(text: str, left: Word, right: Word) -> bool:
    gap = text[left.end : right.start]
    return any(not c.isspace() for c in gap)
