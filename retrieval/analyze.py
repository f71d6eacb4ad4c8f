"""From text to index terms: normalize, split, drop stopwords, strip clitics.

The same `Analyzer` turns passages into index terms and questions into query terms; a saved index
records the analyzer's `signature` so that the two can never drift apart.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from itertools import chain
from typing import Literal, get_args

from retrieval.normalize import (
    NORMALIZER_VERSION,
    nfkc_once,
    normalize,
    normalize_word,
    normalized_words,
    split_at_separators,
)

Stemmer = Literal["none", "article", "prefix", "light"]
STEMMERS: tuple[str, ...] = get_args(Stemmer)

# Proclitic clusters that carry the article, longest first (normalized spelling: alef forms folded).
_ARTICLE_PREFIXES = ("وبال", "وكال", "فبال", "وال", "بال", "كال", "فال", "ولل", "لل", "ال")
# Bare one-letter proclitics: ambiguous, since many roots start with these letters (وزير, بلد).
_LETTER_PREFIXES = ("و", "ف", "ب", "ك", "ل")
# Common suffixes: plural, dual, feminine and possessive pronouns (normalized: ة → ه).
_SUFFIXES = ("يين", "ات", "ون", "ين", "ان", "ها", "هم", "هن", "كم", "نا", "يه", "ه", "ي")

# A stem keeps at least this many letters, so short words like «ولد» or «بلد» stay whole.
_MIN_STEM = 3


def strip_article(word: str) -> str:
    """Strip the article with its attached conjunction or preposition (ال وال بال كال فال لل)."""
    for prefix in _ARTICLE_PREFIXES:
        if word.startswith(prefix) and len(word) - len(prefix) >= _MIN_STEM - 1:
            return word[len(prefix):]
    return word


def strip_prefix(word: str) -> str:
    """Strip the article cluster, or else one bare proclitic (و ف ب ك ل) from a word of 5+ letters."""
    stripped = strip_article(word)
    if stripped != word:
        return stripped
    if len(word) >= _MIN_STEM + 2 and word[0] in _LETTER_PREFIXES:
        return word[1:]
    return word


def strip_suffix(word: str) -> str:
    """Strip one plural, dual or pronoun suffix when a stem of at least three letters remains."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= _MIN_STEM:
            return word[: -len(suffix)]
    return word


@cache
def stopwords() -> frozenset[str]:
    """The Arabic stopword list, normalized the same way as the text it filters."""
    raw = resources.files("retrieval").joinpath("data/stopwords_ar.txt").read_text(encoding="utf-8")
    words = (line.strip() for line in raw.splitlines())
    return frozenset(normalize(w) for w in words if w and not w.startswith("#"))


@dataclass(frozen=True)
class Analyzer:
    """Normalization, tokenization, stopwords and stemming, as one configured unit."""

    stemmer: str = "light"
    remove_stopwords: bool = True

    def __post_init__(self) -> None:
        if self.stemmer not in STEMMERS:
            raise ValueError(f"unknown stemmer {self.stemmer!r}; choose one of {', '.join(STEMMERS)}")

    @property
    def signature(self) -> dict[str, str | bool]:
        """What an index must record to rebuild this exact analyzer."""
        return {
            "normalizer_version": NORMALIZER_VERSION,
            "stemmer": self.stemmer,
            "remove_stopwords": self.remove_stopwords,
        }

    def terms(self, text: str) -> list[str]:
        """Index or query terms of `text`, in order, repeats kept (BM25 counts them)."""
        terms = (_term(w, self.stemmer, self.remove_stopwords) for w in normalized_words(text))
        return [t for t in terms if t]

    def term_ids(self, texts: Iterable[str], vocab: dict[str, int]) -> tuple[list[int], list[int]]:
        """Ids in `vocab` of `terms(text)` for every text, flattened, and each text's count of terms;
        new terms are added to `vocab` in order of first use.

        The indexing fast path: one cached lookup per whitespace token instead of a regex split and
        three lookups (normalize, stem, vocab) per word.
        """
        ids_of = _TokenIds(self, vocab)
        lookup = ids_of.__getitem__
        flat: list[int] = []
        counts: list[int] = []
        for text in texts:
            before = len(flat)
            flat.extend(chain.from_iterable(map(lookup, nfkc_once(text).split())))
            counts.append(len(flat) - before)
        return flat, counts

    def stem(self, word: str) -> str:
        """The stem of one normalized word."""
        return _STEM[self.stemmer](word)

    def term(self, word: str) -> str:
        """The index term of one normalized word, or "" for a stopword (what `terms` yields for it)."""
        return _term(word, self.stemmer, self.remove_stopwords)


_STEM = {
    "none": lambda word: word,
    "article": strip_article,
    "prefix": strip_prefix,
    "light": lambda word: strip_prefix(strip_suffix(word)),
}


def clear_word_caches() -> None:
    """Forget every memoized word analysis (normalized word and term): a benchmark's cold start."""
    normalize_word.cache_clear()
    _term.cache_clear()


@lru_cache(maxsize=1 << 20)
def _term(word: str, stemmer: str, remove_stopwords: bool) -> str:
    """The index term of one normalized word, or "" for a stopword."""
    if remove_stopwords and word in stopwords():
        return ""
    return _STEM[stemmer](word)


class _TokenIds(dict[str, tuple[int, ...]]):
    """Whitespace token of NFKC text → ids in `vocab` of the terms it yields (most give one, stopwords none)."""

    def __init__(self, analyzer: Analyzer, vocab: dict[str, int]) -> None:
        super().__init__()
        self._analyzer = analyzer
        self._vocab = vocab

    def __missing__(self, token: str) -> tuple[int, ...]:
        ids = []
        for word in filter(None, map(normalize_word, split_at_separators(token))):
            term = _term(word, self._analyzer.stemmer, self._analyzer.remove_stopwords)
            if term:
                ids.append(self._vocab.setdefault(term, len(self._vocab)))
        self[token] = found = tuple(ids)
        return found
