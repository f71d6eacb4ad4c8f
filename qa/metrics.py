"""EM and F1 for Arabic answers: SQuAD's metric with an Arabic answer normalizer.

Each normalization rule is a separate function so that it can be tested and justified alone.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from retrieval.normalize import (
    collapse_spaces,
    normalize_alef,
    normalize_alef_maksura,
    normalize_digits,
    normalize_hamza,
    normalize_persian_letters,
    normalize_teh_marbuta,
    remove_diacritics,
    remove_punctuation,
    remove_tatweel,
    unicode_nfkc,
)

# The article and the one-letter conjunctions/prepositions glued to it. «والرئيس» vs «الرئيس» or
# «رئيس» is the same answer; SQuAD's English normalizer drops "a/an/the" for the same reason.
_CLITIC_ARTICLE_RE = re.compile(r"^(?:و|ف|ب|ك|ل)?(?:ال|لل)(?=\w{2,})")
# A bare leading و («و ماثيو ميلر» / «وماثيو») is a conjunction when the rest is a real word.
_LEADING_WAW_RE = re.compile(r"^و(?=\w{3,})")


def strip_article(word: str) -> str:
    """ال, وال, بال, كال, فال, لل → removed (when at least two letters remain)."""
    return _CLITIC_ARTICLE_RE.sub("", word)


def strip_leading_waw(word: str) -> str:
    """A leading conjunction و is dropped from words of four or more letters."""
    return _LEADING_WAW_RE.sub("", word)


def normalize_answer(text: str) -> str:
    """Fold the spelling variation that does not change an answer's meaning."""
    for rule in (
        unicode_nfkc,
        normalize_persian_letters,
        remove_diacritics,
        remove_tatweel,
        normalize_alef,
        normalize_hamza,
        normalize_alef_maksura,
        normalize_teh_marbuta,
        normalize_digits,
        str.lower,
        remove_punctuation,
        collapse_spaces,
    ):
        text = rule(text)
    return " ".join(strip_article(strip_leading_waw(w)) for w in text.split())


def exact_match(prediction: str | None, gold: Iterable[str]) -> float:
    """1.0 if the normalized prediction equals any normalized gold answer (no-answer: both empty)."""
    golds = list(gold)
    if not golds:
        return float(prediction is None)
    if prediction is None:
        return 0.0
    pred = normalize_answer(prediction)
    return float(any(pred == normalize_answer(g) for g in golds))


def f1_score(prediction: str | None, gold: Iterable[str]) -> float:
    """Token-overlap F1 against the best-matching gold answer; no-answer scores 1 only against no-answer."""
    golds = list(gold)
    if not golds:
        return float(prediction is None)
    if prediction is None:
        return 0.0
    return max(_token_f1(normalize_answer(prediction).split(), normalize_answer(g).split()) for g in golds)


def _token_f1(pred: list[str], gold: list[str]) -> float:
    if not pred or not gold:
        return float(pred == gold)
    common = Counter(pred) & Counter(gold)
    overlap = sum(common.values())
    if overlap == 0:
        return 0.0
    precision, recall = overlap / len(pred), overlap / len(gold)
    return 2 * precision * recall / (precision + recall)
