"""A synthetic Arabic corpus with Zipf word statistics, drawn from the seeds' and ARCD's vocabulary."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from qa.config import Settings, seed_folder
from qa.squad import parse_squad
from retrieval.types import Document, Passage

log = logging.getLogger(__name__)

SEED = 20240601
PASSAGE_WORDS = (40, 80)  # uniform, mean 60: three sentences of a news article
QUESTION_WORDS = (5, 10)
PASSAGES_PER_DOCUMENT = 10
# Zipf-Mandelbrot exponent and offset fitted by eye to Arabic news: a handful of particles (في، من،
# على) take about a fifth of all tokens, and half of the types occur once in a million tokens.
ZIPF_EXPONENT = 1.05
ZIPF_OFFSET = 2.7
# Clitics that multiply the observed vocabulary into the long tail a large archive has (Heaps' law):
# 18,000 observed words become about 200,000 types.
_PREFIXES = ("و", "ال", "وال", "ب", "بال", "ل", "لل", "ف", "ك")
_SUFFIXES = ("ها", "هم", "ات", "ون", "ين", "ة", "ي")
_PUNCTUATION = ("،", ".", "؛")


@dataclass(frozen=True)
class SyntheticCorpus:
    documents: list[Document]
    passages: list[Passage]
    questions: list[str]


def default_sources() -> list[Path]:
    """The seeds, plus ARCD's train and test sets when the shared data folder is present."""
    sources = sorted(seed_folder().glob("*.txt"))
    arcd = Settings().datasets / "arcd"
    sources += sorted(arcd.glob("*.json")) if arcd.is_dir() else []
    return sources


def vocabulary(sources: Iterable[Path]) -> list[str]:
    """Observed words by falling frequency, then clitic forms of them in the same order."""
    counts: Counter[str] = Counter()
    for path in sources:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as err:
            log.warning("skipping %s: %s", path, err)
            continue
        counts.update(_words(squad_texts(text) if path.suffix == ".json" else [text]))
    if not counts:
        raise ValueError("No Arabic words found in the benchmark sources (seeds/*.txt, ARCD).")
    observed = [word for word, _ in counts.most_common()]
    seen = set(observed)
    derived = []
    for affix_round in range(max(len(_PREFIXES), len(_SUFFIXES))):
        for word in observed:
            if affix_round < len(_PREFIXES):
                derived.append(_PREFIXES[affix_round] + word)
            if affix_round < len(_SUFFIXES):
                derived.append(word + _SUFFIXES[affix_round])
    derived = [w for w in dict.fromkeys(derived) if w not in seen]
    return observed + derived


def synthetic_questions(n_questions: int, seed: int = SEED, sources: list[Path] | None = None) -> list[str]:
    """Questions of 5 to 10 words drawn like the passages' words, independent of the corpus size."""
    sampler = _Sampler(sources, seed + 1)
    return [q + "؟" for q in sampler.texts(n_questions, QUESTION_WORDS)]


def synthetic_corpus(
    n_passages: int, n_questions: int, seed: int = SEED, sources: list[Path] | None = None
) -> SyntheticCorpus:
    """`n_passages` passages of about 60 words in documents of ten, and `n_questions` questions."""
    sampler = _Sampler(sources, seed)
    texts = sampler.texts(n_passages, PASSAGE_WORDS)
    endings = sampler.rng.integers(0, len(_PUNCTUATION), size=n_passages).tolist()
    texts = [text + _PUNCTUATION[e] for text, e in zip(texts, endings)]
    questions = synthetic_questions(n_questions, seed, sources)
    documents, passages = [], []
    for first in range(0, n_passages, PASSAGES_PER_DOCUMENT):
        doc_id = f"synthetic-{first // PASSAGES_PER_DOCUMENT:07d}"
        chunk = texts[first : first + PASSAGES_PER_DOCUMENT]
        start = 0
        for n, text in enumerate(chunk):
            passages.append(Passage(f"{doc_id}#{n}", doc_id, text, start, start + len(text)))
            start += len(text) + 1
        documents.append(Document(doc_id, f"مقال {first // PASSAGES_PER_DOCUMENT}", " ".join(chunk), "synthetic"))
    return SyntheticCorpus(documents, passages, questions)


class _Sampler:
    """Words drawn from the vocabulary under the Zipf-Mandelbrot law, joined into texts."""

    def __init__(self, sources: list[Path] | None, seed: int) -> None:
        self.words = np.array(_cached_vocabulary(tuple(default_sources() if sources is None else sources)), dtype=object)
        ranks = np.arange(1, len(self.words) + 1, dtype=np.float64)
        self.cdf = np.cumsum((ranks + ZIPF_OFFSET) ** -ZIPF_EXPONENT)
        self.cdf /= self.cdf[-1]
        self.rng = np.random.default_rng(seed)

    def texts(self, count: int, lengths: tuple[int, int]) -> list[str]:
        sizes = self.rng.integers(lengths[0], lengths[1] + 1, size=count)
        ids = np.minimum(np.searchsorted(self.cdf, self.rng.random(int(sizes.sum()))), len(self.words) - 1)
        drawn = self.words[ids].tolist()
        texts, at = [], 0
        for size in sizes.tolist():
            texts.append(" ".join(drawn[at : at + size]))
            at += size
        return texts


@lru_cache(maxsize=4)
def _cached_vocabulary(sources: tuple[Path, ...]) -> list[str]:
    return vocabulary(sources)


def squad_texts(raw: str) -> list[str]:
    texts = []
    for paragraph in parse_squad(raw):
        texts.append(paragraph.context)
        texts.extend(qa.question for qa in paragraph.questions)
    return texts


def _words(texts: Iterable[str]) -> Iterable[str]:
    for text in texts:
        for word in text.split():
            word = word.strip("()[]«»\"'،,.:;؛؟?!-")
            if word and any("\u0621" <= ch <= "\u064a" for ch in word):
                yield word
