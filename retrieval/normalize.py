"""Arabic normalization for retrieval: one pure `str -> str` function per rule, composed into one normalizer.

The normalized text is only ever used for matching (index terms, query terms, answer comparison).
Passages, answers and citation offsets always refer to the original text, so these rules are free
to change string length.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from camel_tools.utils.dediac import dediac_ar
from camel_tools.utils.normalize import (
    normalize_alef_ar,
    normalize_alef_maksura_ar,
    normalize_teh_marbuta_ar,
    normalize_unicode,
)

# Bump whenever a rule changes what it produces: saved indexes record it and refuse to load on mismatch.
NORMALIZER_VERSION = "2"

TATWEEL = "\u0640"
_TATWEEL_RE = re.compile(TATWEEL + "+")

# The seat of a hamza varies between spelling traditions (مسؤول / مسئول, شؤون / شئون): fold the
# carriers to the bare hamza so both spellings meet.
_HAMZA_CARRIERS = str.maketrans({"ؤ": "ء", "ئ": "ء"})

# Persian/Urdu letter forms that scraped Arabic text often contains (e.g. «الخارجیة الأمیرکی»).
_PERSIAN_LETTERS = str.maketrans({"ی": "ي", "ې": "ي", "ۍ": "ي", "ک": "ك", "ڪ": "ك", "ہ": "ه", "ۀ": "ه", "ە": "ه"})

_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")

# Any character that is not a letter, a digit or a combining mark separates words.
_PUNCTUATION_RE = re.compile(r"[^\w\u064B-\u065F\u0670]+|_+")
_SPACES_RE = re.compile(r"\s+")


def unicode_nfkc(text: str) -> str:
    """Fold presentation forms and ligatures (ﻻ → لا) and compatibility characters (NFKC)."""
    return normalize_unicode(text)


def remove_diacritics(text: str) -> str:
    """Drop harakat, tanween, shadda, sukun and dagger alef."""
    return dediac_ar(text)


def remove_tatweel(text: str) -> str:
    """Drop the kashida used to stretch words (كتـــاب → كتاب)."""
    return _TATWEEL_RE.sub("", text)


def normalize_alef(text: str) -> str:
    """أ إ آ ٱ → ا."""
    return normalize_alef_ar(text)


def normalize_hamza(text: str) -> str:
    """ؤ ئ → ء: one spelling for the hamza whatever its seat."""
    return text.translate(_HAMZA_CARRIERS)


def normalize_alef_maksura(text: str) -> str:
    """ى → ي (the two are swapped freely, especially in Egyptian writing)."""
    return normalize_alef_maksura_ar(text)


def normalize_teh_marbuta(text: str) -> str:
    """ة → ه."""
    return normalize_teh_marbuta_ar(text)


def normalize_persian_letters(text: str) -> str:
    """Persian yeh and keheh → Arabic yeh and kaf."""
    return text.translate(_PERSIAN_LETTERS)


def normalize_digits(text: str) -> str:
    """Arabic-Indic (٠-٩) and Persian (۰-۹) digits → ASCII digits."""
    return text.translate(_DIGITS)


def remove_punctuation(text: str) -> str:
    """Arabic and Latin punctuation and symbols (، ؛ ؟ « » . ! ...) become spaces."""
    return _PUNCTUATION_RE.sub(" ", text)


def collapse_spaces(text: str) -> str:
    """Runs of whitespace become one space; ends are trimmed."""
    return _SPACES_RE.sub(" ", text).strip()


# The rules after NFKC map characters one to one within a word and never create or remove a word
# boundary, so they can run once per distinct word (cached) instead of once per text.
_WORD_RULES = (
    normalize_persian_letters,
    remove_diacritics,
    remove_tatweel,
    normalize_alef,
    normalize_hamza,
    normalize_alef_maksura,
    normalize_teh_marbuta,
    normalize_digits,
    str.lower,
)

# The whole normalizer, in order.
RULES = (unicode_nfkc, *_WORD_RULES, remove_punctuation, collapse_spaces)


def normalize(text: str) -> str:
    """The one normalizer used for passages at index time and for questions at query time."""
    for rule in RULES:
        text = rule(text)
    return text


def normalized_words(text: str) -> list[str]:
    """`normalize(text).split()`, computed word by word with a cache: the fast path for indexing."""
    return [w for w in map(normalize_word, raw_words(text)) if w]


def raw_words(text: str) -> list[str]:
    """The pieces of `text` that `normalize_word` maps to its normalized words ("" pieces included)."""
    return split_at_separators(nfkc_once(text))


def nfkc_once(text: str) -> str:
    """`unicode_nfkc(text)`, skipping the copy for text that already is NFKC (nearly all text)."""
    return text if unicodedata.is_normalized("NFKC", text) else unicode_nfkc(text)


def split_at_separators(text: str) -> list[str]:
    """Split NFKC text at punctuation, symbols and spaces; a piece may be "" (e.g. at the ends).

    Whitespace is a separator, so splitting `text.split()`'s tokens one by one gives the same
    non-empty pieces: what the indexing fast path relies on to cache by whitespace token.
    """
    return _PUNCTUATION_RE.split(text)


@lru_cache(maxsize=1 << 20)
def normalize_word(word: str) -> str:
    """All word-level rules applied to one word (a word may still split in two: «كتاب_x»)."""
    for rule in _WORD_RULES:
        word = rule(word)
    return word
