"""Candidate answer spans in a passage and the features that score them against an Arabic question.

A candidate is a run of 1..MAX_SPAN_WORDS words inside one sentence, cut on word boundaries, so its
text is `passage.text[start:end]` exactly. Its features are computed for all candidates of a sentence
at once with numpy (prefix sums over per-word flags), which keeps a question over five passages in a
few milliseconds.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from qa.readers.lexicon import (
    CAUSE_WORDS,
    CLAUSE_WORDS,
    COPULAS,
    MONTHS,
    PLACE_PREPS,
    PREPOSITIONS,
    TIME_WORDS,
    TITLES,
)
from qa.readers.question_types import ANALYZER, KINDS, QuestionInfo
from retrieval.analyze import stopwords, strip_article
from retrieval.chunk import sentence_spans
from retrieval.words import Word, words

# ARCD answers run to 15 words (98th percentile 14), so longer spans are never worth scoring.
MAX_SPAN_WORDS = 15

_DIGIT_RE = re.compile(r"\d")
_NUMBER_SEPARATORS = {".", ",", "،", "٫", "٬"}
_YEAR_RE = re.compile(r"^(1[0-9]{3}|20[0-9]{2}|[0-9]{3})$")
_LATIN_RE = re.compile(r"[a-z]")

_LENGTH_BUCKETS = (1, 2, 3, 4, 5, 6, 8, 10, 12, 15)  # upper bounds

# Per-candidate features that do not depend on the question's kind.
BASE_FEATURES = (
    "bias_len_log", "matched_in_span", "matched_frac", "any_matched",
    "left_matched", "right_matched", "left_dist", "right_dist", "near_dist", "no_match_in_sentence",
    "punct_before", "punct_after", "sent_start", "sent_end", "start_stop", "end_stop", "start_waw",
    "copula_before", "open_paren_before", "close_paren_after", "comma_after", "comma_inside",
    "sent_coverage", "sent_best", "sent_rank_log", "sent_matched_log", "span_rel_pos", "sent_rel_pos",
    "left_matched_x_punct_after", "left_matched_x_best", "right_matched_x_punct_before", "copula_x_best",
    "cause_start", "cause_inside", "sent_len_log", "passage_sents_log", "whole_sentence",
    "sent_idf_coverage", "sent_idf_best", "sent_idf_rank_log", "sent_bigrams", "window_match", "window_match_left",
    "window_match_right", "idf_coverage_x_left_matched", "idf_coverage_x_punct_after", "idf_coverage_x_len_log",
    "matched_run_before", "matched_run_after",
    "punct_inside", "first_clause", "clause_word_after", "clause_word_start", "paren_after", "start_matched",
    "end_matched", "unmatched_content_log", "after_last_match", "before_first_match", "rest_of_clause",
    "rest_of_clause_x_idf_best", "first_clause_x_idf_best", "gap_after_last_match", "idf_best_x_len_log",
    "gap_segment", "gap_segment_x_idf_best", "gap_segment_left_match", "gap_segment_both_match",
)
# Words on each side of a span whose question matches count as its local context.
_WINDOW = 8
# Distance, in words, to a question word when there is none on that side: farther than any sentence
# the features distinguish (log1p(50) ≈ 3.9).
_NO_MATCH_DISTANCE = 50.0
# Gap, in words, after the last question word when none comes before the span (log1p(20) ≈ 3.0).
_NO_MATCH_GAP = 20.0
# Divisors that bring log-scaled counts to about [0, 1], the range of the 0/1 flags beside them, so one
# regularization strength suits every column: word distances and sentence lengths reach log1p(50) ≈ 3.9,
# gaps log1p(20) ≈ 3.0; the log of the summed IDF weights near a span, divided by 2, stayed under 1.1 on
# 150 ARCD questions.
_LOG_WORDS_SCALE = 4
_LOG_GAP_SCALE = 3
_LOG_WEIGHT_SCALE = 2
# Candidate properties that mean something only against the question's kind (crossed with it).
CROSS_FEATURES = tuple(f"len_le_{b}" for b in _LENGTH_BUCKETS) + (
    "has_digit", "has_year", "has_month", "has_time_word", "has_title", "start_title", "has_latin",
    "start_place_prep", "start_digit", "end_digit", "cause_start", "left_matched", "punct_after",
    "all_digits", "bias", "matched_frac", "any_matched", "matched_run_before",
    "first_clause", "clause_word_after", "gap_segment", "after_last_match", "gap_after_last_match", "start_matched",
    "punct_inside", "unmatched_content_log", "has_other_title", "start_other_title", "prep_after", "start_time_word",
)


def feature_names() -> list[str]:
    """Column names of the feature matrix, in order: base features, then property x kind crosses."""
    return list(BASE_FEATURES) + [f"{c}@{k}" for k in KINDS for c in CROSS_FEATURES]


@dataclass(frozen=True)
class Candidates:
    """All candidate spans of some passages: which passage, character offsets, and base/cross features."""

    passage_index: np.ndarray  # (n,) int
    start: np.ndarray  # (n,) int, character offsets into the passage
    end: np.ndarray
    base: np.ndarray  # (n, len(BASE_FEATURES)) float32
    cross: np.ndarray  # (n, len(CROSS_FEATURES)) float32
    word_start: np.ndarray  # (n,) int, passage word index (for training labels)
    word_end: np.ndarray

    def __len__(self) -> int:
        return len(self.start)

    def linear_scores(self, kind: str, weights: np.ndarray, bias: float) -> np.ndarray:
        """The full feature row (base features, then the crosses in `kind`'s block) @ weights + bias,
        without building that mostly-zero matrix."""
        n_base = len(BASE_FEATURES)
        offset = n_base + KINDS.index(kind) * len(CROSS_FEATURES)
        return self.base @ weights[:n_base] + self.cross @ weights[offset : offset + len(CROSS_FEATURES)] + bias


def candidates(info: QuestionInfo, passages: Sequence[str]) -> Candidates:
    """Every candidate span of every passage with its features."""
    parts: list[tuple[np.ndarray, ...]] = []
    for p_index, text in enumerate(passages):
        parts.extend(_passage_candidates(info, p_index, text))
    if not parts:
        empty_i = np.zeros(0, dtype=np.int64)
        return Candidates(
            empty_i, empty_i, empty_i,
            np.zeros((0, len(BASE_FEATURES)), np.float32), np.zeros((0, len(CROSS_FEATURES)), np.float32),
            empty_i, empty_i,
        )
    cols = list(zip(*parts))
    return Candidates(
        passage_index=np.concatenate(cols[0]),
        start=np.concatenate(cols[1]),
        end=np.concatenate(cols[2]),
        base=np.concatenate(cols[3]),
        cross=np.concatenate(cols[4]),
        word_start=np.concatenate(cols[5]),
        word_end=np.concatenate(cols[6]),
    )


@dataclass
class _Sentence:
    words: list[Word]
    first: int  # index of its first word in the passage's word list
    stems: list[str]
    matched: np.ndarray
    coverage: float
    n_matched: int
    idf_coverage: float = 0.0  # coverage weighted by each question term's IDF among the passage's sentences
    bigrams: int = 0
    weight: np.ndarray | None = None  # per word: the IDF weight of its question term, 0 if unmatched
    # Its place among the passage's sentences: position, count, rank by coverage / IDF coverage (0 = best).
    index: int = 0
    n_sentences: int = 1
    rank: int = 0
    is_best: bool = False
    idf_rank: int = 0
    is_idf_best: bool = False


def _passage_candidates(info: QuestionInfo, p_index: int, text: str) -> list[tuple[np.ndarray, ...]]:
    all_words = words(text)
    if not all_words:
        return []
    sentences: list[_Sentence] = []
    position = 0
    terms = info.terms
    for s_start, s_end in sentence_spans(text):
        while position < len(all_words) and all_words[position].start < s_start:
            position += 1
        first = position
        while position < len(all_words) and all_words[position].end <= s_end:
            position += 1
        sent = all_words[first:position]
        if not sent:
            continue
        stems = [ANALYZER.term(w.norm) for w in sent]
        matched = np.array([t in terms for t in stems], dtype=bool)
        found = {t for t, m in zip(stems, matched) if m}
        coverage = len(found) / len(terms) if terms else 0.0
        sentences.append(_Sentence(sent, first, stems, matched, coverage, int(matched.sum())))
    if not sentences:
        return []
    _weigh(sentences, info)
    rank, best = _ranks([s.coverage for s in sentences])
    idf_rank, idf_best = _ranks([s.idf_coverage for s in sentences])
    for s_index, sentence in enumerate(sentences):
        sentence.index, sentence.n_sentences = s_index, len(sentences)
        sentence.rank, sentence.is_best = int(rank[s_index]), bool(best[s_index])
        sentence.idf_rank, sentence.is_idf_best = int(idf_rank[s_index]), bool(idf_best[s_index])
    return [_sentence_candidates(text, p_index, sentence) for sentence in sentences]


def _ranks(values: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """Each sentence's rank by `values` (0 = best) and whether it is the best (with a nonzero value)."""
    array = np.array(values)
    order = np.argsort(-array, kind="stable")
    rank = np.empty(len(array), dtype=np.int64)
    rank[order] = np.arange(len(array))
    return rank, (array == array.max()) & (array > 0)


def _weigh(sentences: list[_Sentence], info: QuestionInfo) -> None:
    """IDF-weighted coverage: a question word found in every sentence says little about where the answer is."""
    n = len(sentences)
    frequency: dict[str, int] = {}
    for s in sentences:
        for t in {t for t, m in zip(s.stems, s.matched) if m}:
            frequency[t] = frequency.get(t, 0) + 1
    idf = {t: float(np.log((n + 1) / (frequency.get(t, 0) + 0.5))) for t in info.terms}
    # Summed in sorted order: set order changes with each process's string hashing, and float sums
    # in another order differ in the last bit, which training would amplify.
    total = sum(idf[t] for t in sorted(idf)) or 1.0
    ordered = info.ordered_terms
    pairs = {(a, b) for a, b in zip(ordered, ordered[1:])}
    for s in sentences:
        found = {t for t, m in zip(s.stems, s.matched) if m}
        s.idf_coverage = sum(idf[t] for t in sorted(found)) / total
        s.bigrams = sum((a, b) in pairs for a, b in zip(s.stems, s.stems[1:]))
        s.weight = np.array([idf[t] if m else 0.0 for t, m in zip(s.stems, s.matched)], dtype=np.float32)


def _sentence_candidates(text: str, p_index: int, s: _Sentence) -> tuple[np.ndarray, ...]:
    """Every span of one sentence with its base and cross feature rows (columns named where computed)."""
    s_index, n_sents, rank, is_best, idf_rank, is_idf_best = (
        s.index, s.n_sentences, s.rank, s.is_best, s.idf_rank, s.is_idf_best
    )
    sent = s.words
    m = len(sent)
    stop = stopwords()
    norms = [w.norm for w in sent]
    matched = s.matched.astype(np.float32)
    is_stop = np.array([n in stop for n in norms], dtype=np.float32)
    digit = np.array([bool(_DIGIT_RE.search(n)) for n in norms], dtype=np.float32)
    year = np.array([bool(_YEAR_RE.match(n)) for n in norms], dtype=np.float32)
    month = np.array([n in MONTHS or strip_article(n) in MONTHS for n in norms], dtype=np.float32)
    time_word = np.array([n in TIME_WORDS for n in norms], dtype=np.float32)
    title = np.array([strip_article(n) in TITLES or ANALYZER.stem(n) in TITLES for n in norms], dtype=np.float32)
    latin = np.array([bool(_LATIN_RE.search(n)) for n in norms], dtype=np.float32)
    place_prep = np.array([n in PLACE_PREPS for n in norms], dtype=np.float32)
    copula = np.array([n in COPULAS for n in norms], dtype=np.float32)
    cause = np.array([n in CAUSE_WORDS for n in norms], dtype=np.float32)
    waw = np.array([n == "و" for n in norms], dtype=np.float32)
    prep = np.array([n in PREPOSITIONS for n in norms], dtype=np.float32)
    gaps_before = [text[sent[i - 1].end : sent[i].start] if i else "" for i in range(m)]
    gaps_after = [text[sent[i].end : sent[i + 1].start] if i + 1 < m else "" for i in range(m)]
    breaks = [_is_break(g, norms[k], norms[k + 1]) for k, g in enumerate(gaps_after[:-1])]
    punct_before = np.array([True] + breaks, np.float32)
    punct_after = np.array(breaks + [True], np.float32)
    open_paren = np.array([("(" in g or "«" in g or '"' in g) for g in gaps_before], np.float32)
    close_paren = np.array([(")" in g or "»" in g or '"' in g) for g in gaps_after], np.float32)
    comma_after = np.array([("،" in g or "," in g) for g in gaps_after], np.float32)

    # Distance (in words) from each position to the nearest matched word on its left / right.
    big = _NO_MATCH_DISTANCE
    left_near = np.full(m, big, np.float32)
    right_near = np.full(m, big, np.float32)
    last = -1
    for i in range(m):
        if matched[i]:
            last = i
        left_near[i] = (i - last) if last >= 0 else big
    last = -1
    for i in range(m - 1, -1, -1):
        if matched[i]:
            last = i
        right_near[i] = (last - i) if last >= 0 else big

    # Consecutive question words right before / after each position: «المتحدث باسم وزارة الخارجية ماثيو ميلر».
    run_before = np.zeros(m, np.float32)
    run_after = np.zeros(m, np.float32)
    for k in range(1, m):
        run_before[k] = run_before[k - 1] + 1 if matched[k - 1] else 0
    for k in range(m - 2, -1, -1):
        run_after[k] = run_after[k + 1] + 1 if matched[k + 1] else 0

    starts, lengths = np.meshgrid(np.arange(m), np.arange(1, MAX_SPAN_WORDS + 1), indexing="ij")
    starts, lengths = starts.ravel(), lengths.ravel()
    keep = starts + lengths <= m
    i, length = starts[keep], lengths[keep]
    j = i + length - 1

    def span_sum(flags: np.ndarray) -> np.ndarray:
        prefix = np.concatenate([[0.0], np.cumsum(flags)])
        return (prefix[j + 1] - prefix[i]).astype(np.float32)

    def before(flags: np.ndarray) -> np.ndarray:
        padded = np.concatenate([[0.0], flags])
        return padded[i].astype(np.float32)  # flags[i-1], 0 at sentence start

    def after(flags: np.ndarray) -> np.ndarray:
        padded = np.concatenate([flags, [0.0]])
        return padded[j + 1].astype(np.float32)  # flags[j+1], 0 at sentence end

    n = len(i)
    length_f = length.astype(np.float32)
    in_span = span_sum(matched)
    left_m = before(matched)
    right_m = after(matched)
    # Nearest matched word outside the span: left of its start, right of its end.
    left_dist = np.where(i > 0, np.concatenate([[big], left_near])[i], big)
    right_dist = np.where(j < m - 1, np.concatenate([right_near, [big]])[j + 1], big)
    near = np.minimum(left_dist, right_dist)
    p_before = punct_before[i]
    p_after = punct_after[j]
    commas_inside = span_sum(comma_after) - comma_after[j]
    cause_start = cause[i]
    whole = ((i == 0) & (j == m - 1)).astype(np.float32)
    rel = np.float32(1.0 / max(1, m - 1))

    best_f = float(is_best)
    col: dict[str, np.ndarray] = {
        "bias_len_log": np.log1p(length_f),
        "matched_in_span": in_span,
        "matched_frac": in_span / length_f,
        "any_matched": (in_span > 0).astype(np.float32),
        "left_matched": left_m,
        "right_matched": right_m,
        "left_dist": np.log1p(left_dist) / _LOG_WORDS_SCALE,
        "right_dist": np.log1p(right_dist) / _LOG_WORDS_SCALE,
        "near_dist": np.log1p(near) / _LOG_WORDS_SCALE,
        "no_match_in_sentence": np.full(n, float(s.n_matched == 0), np.float32),
        "punct_before": p_before,
        "punct_after": p_after,
        "sent_start": (i == 0).astype(np.float32),
        "sent_end": (j == m - 1).astype(np.float32),
        "start_stop": is_stop[i],
        "end_stop": is_stop[j],
        "start_waw": waw[i],
        "copula_before": before(copula),
        "open_paren_before": open_paren[i],
        "close_paren_after": close_paren[j],
        "comma_after": comma_after[j],
        "comma_inside": commas_inside,
        "sent_coverage": np.full(n, s.coverage, np.float32),
        "sent_best": np.full(n, best_f, np.float32),
        "sent_rank_log": np.full(n, np.log1p(rank), np.float32),
        "sent_matched_log": np.full(n, np.log1p(s.n_matched), np.float32),
        "span_rel_pos": i * rel,
        "sent_rel_pos": np.full(n, s_index / max(1, n_sents - 1), np.float32),
        "left_matched_x_punct_after": left_m * p_after,
        "left_matched_x_best": left_m * best_f,
        "right_matched_x_punct_before": right_m * p_before,
        "copula_x_best": before(copula) * best_f,
        "cause_start": cause_start,
        "cause_inside": (span_sum(cause) > 0).astype(np.float32),
        "sent_len_log": np.full(n, np.log1p(m) / _LOG_WORDS_SCALE, np.float32),
        "passage_sents_log": np.full(n, np.log1p(n_sents), np.float32),
        "whole_sentence": whole,
    }

    weight = s.weight if s.weight is not None else np.zeros(m, np.float32)
    prefix_w = np.concatenate([[0.0], np.cumsum(weight)])
    lo, hi = np.maximum(i - _WINDOW, 0), np.minimum(j + 1 + _WINDOW, m)
    window_left = (prefix_w[i] - prefix_w[lo]).astype(np.float32)
    window_right = (prefix_w[hi] - prefix_w[j + 1]).astype(np.float32)
    idf_cov = np.float32(s.idf_coverage)
    col.update({
        "sent_idf_coverage": np.full(n, idf_cov, np.float32),
        "sent_idf_best": np.full(n, float(is_idf_best), np.float32),
        "sent_idf_rank_log": np.full(n, np.log1p(idf_rank), np.float32),
        "sent_bigrams": np.full(n, np.log1p(s.bigrams), np.float32),
        "window_match": np.log1p(window_left + window_right) / _LOG_WEIGHT_SCALE,
        "window_match_left": np.log1p(window_left) / _LOG_WEIGHT_SCALE,
        "window_match_right": np.log1p(window_right) / _LOG_WEIGHT_SCALE,
        "idf_coverage_x_left_matched": idf_cov * left_m,
        "idf_coverage_x_punct_after": idf_cov * p_after,
        "idf_coverage_x_len_log": idf_cov * np.log1p(length_f),
        "matched_run_before": np.log1p(run_before[i]),
        "matched_run_after": np.log1p(run_after[j]),
    })
    col.update(_boundary_features(text, sent, matched, is_stop, i, j, is_idf_best))

    digits_in = span_sum(digit)
    # A title the question does not name is another person's role: «من هو المتحدث باسم الوزارة» is not
    # answered by «وزير الخارجية فلان», while «رئيس الوزراء فلان» answers «من هو رئيس الوزراء».
    other_title = title * (1 - matched)
    # The properties crossed with the question's kind; the rest of CROSS_FEATURES are base columns.
    col.update({f"len_le_{b}": (length <= b).astype(np.float32) for b in _LENGTH_BUCKETS})
    col.update({
        "has_digit": (digits_in > 0).astype(np.float32),
        "has_year": (span_sum(year) > 0).astype(np.float32),
        "has_month": (span_sum(month) > 0).astype(np.float32),
        "has_time_word": (span_sum(time_word) > 0).astype(np.float32),
        "has_title": (span_sum(title) > 0).astype(np.float32),
        "start_title": title[i],
        "has_latin": (span_sum(latin) > 0).astype(np.float32),
        "start_place_prep": place_prep[i],
        "start_digit": digit[i],
        "end_digit": digit[j],
        "all_digits": (digits_in == length_f).astype(np.float32),
        "bias": np.ones(n, np.float32),
        "has_other_title": (span_sum(other_title) > 0).astype(np.float32),
        "start_other_title": other_title[i],
        "prep_after": after(prep),
        "start_time_word": time_word[i],
    })
    base = np.column_stack([col[name] for name in BASE_FEATURES]).astype(np.float32)
    cross = np.column_stack([col[name] for name in CROSS_FEATURES]).astype(np.float32)

    starts_c = np.array([w.start for w in sent])[i]
    ends_c = np.array([w.end for w in sent])[j]
    return (
        np.full(n, p_index, np.int64),
        starts_c.astype(np.int64),
        ends_c.astype(np.int64),
        base,
        cross,
        (i + s.first).astype(np.int64),
        (j + s.first).astype(np.int64),
    )


def _is_break(gap: str, left: str, right: str) -> bool:
    """Whether the text between two words is punctuation, not the point or comma inside «3.79» / «11،787»."""
    if gap in _NUMBER_SEPARATORS and left[-1:].isdigit() and right[:1].isdigit():
        return False
    return any(not c.isspace() for c in gap)


def _boundary_features(
    text: str, sent: list[Word], matched: np.ndarray, is_stop: np.ndarray,
    i: np.ndarray, j: np.ndarray, is_idf_best: bool,
) -> dict[str, np.ndarray]:
    """Where a span sits against the clause structure: ARCD answers mostly run from just after the matched
    question phrase to the next punctuation mark or clause word."""
    m = len(sent)
    gaps = [text[sent[k].end : sent[k + 1].start] for k in range(m - 1)]
    punct_gap = np.array(
        [_is_break(g, sent[k].norm, sent[k + 1].norm) for k, g in enumerate(gaps)] + [True], np.float32
    )  # after word k
    paren_gap = np.array([("(" in g or "[" in g) for g in gaps] + [0.0], np.float32)
    clause = np.array([w.norm in CLAUSE_WORDS for w in sent], np.float32)
    prefix_gap = np.concatenate([[0.0], np.cumsum(punct_gap)])
    inside = (prefix_gap[j] - prefix_gap[i]).astype(np.float32)  # punctuation between words i..j
    after_pad = np.concatenate([clause, [0.0]])
    content = (1 - matched) * (1 - is_stop)
    prefix_content = np.concatenate([[0.0], np.cumsum(content)])
    prefix_match = np.concatenate([[0.0], np.cumsum(matched)])
    total_match = prefix_match[-1]
    matched_before = prefix_match[i]
    after_last = ((matched_before == total_match) & (total_match > 0)).astype(np.float32)
    before_first = ((prefix_match[j + 1] == 0) & (total_match > 0)).astype(np.float32)
    ends_at_punct = punct_gap[j]
    first_clause = ((inside == 0) & (ends_at_punct > 0)).astype(np.float32)
    clause_after = after_pad[j + 1]
    starts_after_match = np.concatenate([[0.0], matched])[i] > 0
    rest = (starts_after_match & ((first_clause > 0) | (clause_after > 0)) & (inside == 0)).astype(np.float32)
    # How far past the last matched word (before the span) the span starts: 0 = right after it.
    last_match = np.full(m + 1, -1.0)
    for k in range(m):
        last_match[k + 1] = k if matched[k] else last_match[k]
    gap_after_match = np.where(last_match[i] >= 0, i - last_match[i] - 1, _NO_MATCH_GAP)
    idf_best = float(is_idf_best)
    length = (j - i + 1).astype(np.float32)
    # A maximal run of new words between question words / punctuation: what the sentence adds to the question.
    left_m = np.concatenate([[0.0], matched])[i]
    right_m = np.concatenate([matched, [0.0]])[j + 1]
    left_edge = (left_m > 0) | (np.concatenate([[1.0], punct_gap])[i] > 0)
    right_edge = (right_m > 0) | (ends_at_punct > 0)
    no_match = (prefix_match[j + 1] - prefix_match[i]) == 0
    segment = (left_edge & right_edge & no_match).astype(np.float32)
    return {
        "punct_inside": np.log1p(inside),
        "first_clause": first_clause,
        "clause_word_after": clause_after,
        "clause_word_start": clause[i],
        "paren_after": paren_gap[j],
        "start_matched": matched[i],
        "end_matched": matched[j],
        "unmatched_content_log": np.log1p(prefix_content[j + 1] - prefix_content[i]),
        "after_last_match": after_last,
        "before_first_match": before_first,
        "rest_of_clause": rest,
        "rest_of_clause_x_idf_best": rest * idf_best,
        "first_clause_x_idf_best": first_clause * idf_best,
        "gap_after_last_match": np.log1p(gap_after_match) / _LOG_GAP_SCALE,
        "idf_best_x_len_log": idf_best * np.log1p(length),
        "gap_segment": segment,
        "gap_segment_x_idf_best": segment * idf_best,
        "gap_segment_left_match": segment * left_m,
        "gap_segment_both_match": segment * left_m * right_m,
    }
