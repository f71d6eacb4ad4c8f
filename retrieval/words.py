"""Words of the original text with their character offsets, for readers that must cite exact spans."""

from __future__ import annotations

import re
from dataclasses import dataclass

from retrieval.normalize import normalize_word

# Letters, digits and the Arabic combining marks that sit on them; everything else separates words.
_WORD_RE = re.compile(r"[^\W_]+(?:[\u064B-\u065F\u0670\u0640]+[^\W_]*)*|[\u064B-\u065F\u0670]+")


@dataclass(frozen=True)
class Word:
    text: str
    start: int
    end: int
    norm: str


def words(text: str) -> list[Word]:
    """Every word of `text` with `text[start:end] == word.text` and its normalized form."""
    return [Word(m.group(), m.start(), m.end(), normalize_word(m.group())) for m in _WORD_RE.finditer(text)]
