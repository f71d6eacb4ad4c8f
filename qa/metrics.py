"""EM and F1 for Arabic answers: SQuAD's metric with an Arabic answer normalizer.

Each normalization rule is a separate function so that it can be tested and justified alone. The
character rules are the retrieval normalizer's (one spelling per letter); the word rules below are
the answer-level ones, the Arabic counterpart of SQuAD dropping "a/an/the": clitics and a leading
preposition that the sentence's syntax glues to a span without changing what it names.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable

from retrieval.normalize import normalize

# The article and the one-letter conjunctions/prepositions glued to it. «والرئيس» vs «الرئيس» or
# «رئيس» is the same answer; SQuAD's English normalizer drops "a/an/the" for the same reason.
_CLITIC_ARTICLE_RE = re.compile(r"^(?:و|ف|ب|ك|ل)?(?:ال|لل)(?=\w{2,})")
# A bare leading و («و ماثيو ميلر» / «وماثيو») is a conjunction when the rest is a real word.
_LEADING_WAW_RE = re.compile(r"^و(?=\w{3,})")
# One-letter prefixes left standing alone once a tatweel or a quote is removed: «بـ"القضاء"» → «ب قضاء».
_DETACHED_CLITICS = frozenset("وفبكل")
# Prepositions that open a span only because of the sentence around it: «في القاهرة» / «القاهرة»,
# «في 7 أكتوبر» / «7 أكتوبر». Only these four, only as the first word: «منذ», «من», «بعد» and
# «قبل» change the meaning of a time or place, so they stay.
_LEADING_PREPOSITIONS = frozenset({"في", "علي", "الي", "عن"})


def remove_format_characters(text: str) -> str:
    """Drop invisible format characters (RLM/LRM, bidi isolates, ZWJ/ZWNJ, BOM, soft hyphen).

    Copied web text carries them inside words; without this rule they would split a word in two.
    """
    return "".join(c for c in text if unicodedata.category(c) != "Cf")


def strip_answer_article(word: str) -> str:
    """For comparing answers (EM/F1): ال, وال, بال, كال, فال, لل removed (when at least two letters remain).

    Not the index's `retrieval.analyze.strip_article`: the metric keeps its own, SQuAD-style rule so that
    scores stay comparable whatever the analyzer does."""
    return _CLITIC_ARTICLE_RE.sub("", word)


def strip_leading_waw(word: str) -> str:
    """A leading conjunction و is dropped from words of four or more letters."""
    return _LEADING_WAW_RE.sub("", word)


def drop_detached_clitics(words: list[str]) -> list[str]:
    """One-letter clitics standing alone (و ف ب ك ل) are not words of the answer."""
    return [w for w in words if w not in _DETACHED_CLITICS]


def drop_leading_preposition(words: list[str]) -> list[str]:
    """A first word في / على / إلى / عن (already letter-normalized) is dropped if anything follows it."""
    return words[1:] if len(words) > 1 and words[0] in _LEADING_PREPOSITIONS else words


def normalize_answer(text: str) -> str:
    """Fold the spelling variation that does not change an answer's meaning."""
    # The character rules are retrieval's normalizer (one spelling per letter, punctuation to spaces),
    # after removing the invisible characters it would otherwise turn into word breaks.
    words = drop_leading_preposition(drop_detached_clitics(normalize(remove_format_characters(text)).split()))
    return " ".join(w for w in (strip_answer_article(strip_leading_waw(w)) for w in words) if w)


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
