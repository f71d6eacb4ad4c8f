"""The BM25 passage index: build from documents, save as a folder, load, search.

bm25s does the scoring (sparse precomputed scores); this module owns what bm25s does not: our own
Arabic analyzer, the passages and documents beside the matrix, a manifest recording how the index
was built, refusal to load a mismatched or damaged index, and atomic saves.

Scoring variant: Okapi BM25 with Robertson idf floored at zero (terms in more than half of the
passages score nothing) and the (k1 + 1) tf numerator, i.e. bm25s `method="atire", idf_method=
"robertson"`, which equals rank_bm25's `BM25Okapi(k1, b, epsilon=0)` (tests/test_index.py checks it).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bm25s
import numpy as np
from tqdm import tqdm

from retrieval.analyze import Analyzer
from retrieval.chunk import chunk_document
from retrieval.normalize import normalize
from retrieval.types import Document, Hit, Passage

log = logging.getLogger(__name__)

INDEX_FORMAT = 1
MANIFEST = "manifest.json"
PASSAGES = "passages.jsonl"
DOCUMENTS = "documents.jsonl"
_BM25_METHOD = "atire"
_BM25_IDF = "robertson"
# Show a progress bar from this many passages on; small corpora build in well under a second.
PROGRESS_FROM = 5_000
# Largest corpus for which `closest` scans every passage.
FUZZY_LIMIT = 50_000


class IndexError_(Exception):
    """An index cannot be used as it is; the message says why and what to do."""


class IndexMismatch(IndexError_):
    """The index was built with other settings or from another corpus."""


class IndexDamaged(IndexError_):
    """The index folder is incomplete or unreadable."""


@dataclass(frozen=True)
class BuildSettings:
    """Everything that decides an index's contents, recorded in its manifest."""

    analyzer: Analyzer = Analyzer()
    k1: float = 1.5
    b: float = 0.75
    max_sentences: int = 3
    max_chars: int = 600

    def signature(self) -> dict[str, Any]:
        return {
            **self.analyzer.signature,
            "bm25": f"{_BM25_METHOD}/{_BM25_IDF}",
            "k1": self.k1,
            "b": self.b,
            "max_sentences": self.max_sentences,
            "max_chars": self.max_chars,
        }


def corpus_fingerprint(documents: Iterable[Document]) -> str:
    """A hash of every document's id, title, source and text: changes whenever the corpus does."""
    digest = hashlib.sha256()
    for doc in sorted(documents, key=lambda d: d.id):
        for part in (doc.id, doc.title, doc.source, doc.text):
            digest.update(part.encode("utf-8"))
            digest.update(b"\0")
    return digest.hexdigest()


class BM25Index:
    """Passages of a corpus, searchable by BM25 over analyzed Arabic terms."""

    def __init__(
        self,
        retriever: bm25s.BM25,
        passages: list[Passage],
        documents: dict[str, Document],
        settings: BuildSettings,
        manifest: dict[str, Any],
    ) -> None:
        self._retriever = retriever
        self.passages = passages
        self.documents = documents
        self.settings = settings
        self.manifest = manifest
        self._vocab: dict[str, int] = retriever.vocab_dict
        self._data = np.asarray(retriever.scores["data"])
        self._indices = np.asarray(retriever.scores["indices"])
        self._indptr = np.asarray(retriever.scores["indptr"])
        self._trigram_sets: list[frozenset[str]] | None = None

    # -- building -------------------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        documents: Sequence[Document],
        settings: BuildSettings | None = None,
        passages: Sequence[Passage] | None = None,
        progress: bool | None = None,
    ) -> BM25Index:
        """Chunk (unless `passages` are given), analyze and index `documents`."""
        settings = settings or BuildSettings()
        started = time.perf_counter()
        if passages is None:
            passages = [p for doc in documents for p in chunk_document(doc, settings.max_sentences, settings.max_chars)]
        passages = list(passages)
        if not passages:
            raise IndexError_("The corpus has no text to index.")
        show = len(passages) >= PROGRESS_FROM if progress is None else progress
        vocab: dict[str, int] = {}
        token_ids: list[list[int]] = []
        terms_of = settings.analyzer.terms
        for passage in tqdm(passages, desc="Indexing passages", unit="passage", disable=not show):
            token_ids.append([vocab.setdefault(t, len(vocab)) for t in terms_of(passage.text)])
        if not vocab:
            raise IndexError_("The corpus has no indexable words (only stopwords or symbols).")
        retriever = bm25s.BM25(k1=settings.k1, b=settings.b, method=_BM25_METHOD, idf_method=_BM25_IDF)
        retriever.index((token_ids, vocab), create_empty_token=False, show_progress=show)
        manifest = {
            "format": INDEX_FORMAT,
            "settings": settings.signature(),
            "corpus_fingerprint": corpus_fingerprint(documents),
            "documents": len(documents),
            "passages": len(passages),
            "vocabulary": len(vocab),
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "build_seconds": round(time.perf_counter() - started, 3),
            "bm25s_version": getattr(bm25s, "__version__", "unknown"),
        }
        return cls(retriever, passages, {d.id: d for d in documents}, settings, manifest)

    # -- searching ------------------------------------------------------------------------------

    def search(self, query: str, k: int = 5) -> list[Hit]:
        """The `k` best passages for `query`, best first; passages sharing no term never appear."""
        ids = [self._vocab[t] for t in self.settings.analyzer.terms(query) if t in self._vocab]
        if not ids or k <= 0:
            return []
        return self._top_k(ids, k)

    def closest(self, query: str, k: int = 3) -> list[Hit]:
        """When no passage shares a term with `query`: the passages sharing most character trigrams.

        Only for corpora up to FUZZY_LIMIT passages, where a scan is cheap; larger ones return [].
        Scores are Jaccard similarities in [0, 1], not BM25 scores.
        """
        if len(self.passages) > FUZZY_LIMIT or k <= 0:
            return []
        wanted = _trigrams(normalize(query))
        if not wanted:
            return []
        if self._trigram_sets is None:
            self._trigram_sets = [_trigrams(normalize(p.text)) for p in self.passages]
        scored = [(len(wanted & grams) / len(wanted | grams), i) for i, grams in enumerate(self._trigram_sets) if grams]
        scored = [item for item in scored if item[0] > 0]
        scored.sort(key=lambda item: (-item[0], item[1]))
        return [Hit(self.passages[i], score, rank) for rank, (score, i) in enumerate(scored[:k], start=1)]

    def _top_k(self, token_ids: list[int], k: int) -> list[Hit]:
        # Sum the precomputed per-term scores over the union of the terms' posting lists only, so a
        # query costs its postings, not the corpus size.
        starts, ends = self._indptr[token_ids], self._indptr[np.asarray(token_ids) + 1]
        rows = np.concatenate([self._indices[s:e] for s, e in zip(starts, ends)])
        vals = np.concatenate([self._data[s:e] for s, e in zip(starts, ends)])
        candidates, inverse = np.unique(rows, return_inverse=True)
        scores = np.bincount(inverse, weights=vals.astype(np.float64), minlength=len(candidates))
        positive = scores > 0
        candidates, scores = candidates[positive], scores[positive]
        if len(candidates) > k:
            part = np.argpartition(-scores, k - 1)[:k]
            candidates, scores = candidates[part], scores[part]
        # Best score first; equal scores in corpus order, so results are deterministic.
        order = np.lexsort((candidates, -scores))
        return [
            Hit(passage=self.passages[int(candidates[i])], score=float(scores[i]), rank=rank)
            for rank, i in enumerate(order, start=1)
        ]

    def passages_of(self, doc_id: str) -> list[Passage]:
        return [p for p in self.passages if p.doc_id == doc_id]

    # -- persistence ----------------------------------------------------------------------------

    def save(self, folder: str | Path) -> None:
        """Write the index to `folder` atomically: a crash leaves the previous index (or none) in place."""
        target = Path(folder)
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        try:
            self._retriever.save(staging, show_progress=False)
            _write_jsonl(staging / PASSAGES, (p.to_dict() for p in self.passages))
            _write_jsonl(staging / DOCUMENTS, (d.to_dict() for d in self.documents.values()))
            # The manifest goes last: a folder without one is never taken for an index.
            (staging / MANIFEST).write_text(json.dumps(self.manifest, ensure_ascii=False, indent=2), "utf-8")
            _fsync_tree(staging)
            _swap_into_place(staging, target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise

    @classmethod
    def load(cls, folder: str | Path, settings: BuildSettings | None = None, mmap: bool = False) -> BM25Index:
        """Load an index; with `settings`, refuse one built with different settings."""
        folder = Path(folder)
        manifest = read_manifest(folder)
        if manifest.get("format") != INDEX_FORMAT:
            raise IndexMismatch(
                f"The index in {folder} has format {manifest.get('format')}, this version reads {INDEX_FORMAT}. "
                "Rebuild it with `sanad index`."
            )
        recorded = manifest.get("settings", {})
        stored = _settings_from_signature(recorded, folder)
        if settings is not None and settings.signature() != recorded:
            diff = {k: (recorded.get(k), v) for k, v in settings.signature().items() if recorded.get(k) != v}
            details = ", ".join(f"{k}: index has {old!r}, wanted {new!r}" for k, (old, new) in diff.items())
            raise IndexMismatch(f"The index in {folder} was built differently ({details}). Rebuild it with `sanad index`.")
        try:
            retriever = bm25s.BM25.load(folder, mmap=mmap, show_progress=False)
            passages = [Passage.from_dict(r) for r in _read_jsonl(folder / PASSAGES)]
            documents = {d.id: d for d in (Document.from_dict(r) for r in _read_jsonl(folder / DOCUMENTS))}
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise IndexDamaged(f"The index in {folder} is damaged ({err}). Rebuild it with `sanad index`.") from err
        if len(passages) != manifest.get("passages") or retriever.scores["num_docs"] != len(passages):
            raise IndexDamaged(
                f"The index in {folder} is damaged (passage count does not match). Rebuild it with `sanad index`."
            )
        return cls(retriever, passages, documents, stored, manifest)


def _trigrams(text: str) -> frozenset[str]:
    return frozenset(text[i : i + 3] for i in range(len(text) - 2) if " " not in text[i : i + 3])


def read_manifest(folder: Path) -> dict[str, Any]:
    path = folder / MANIFEST
    if not path.exists():
        raise IndexDamaged(f"No index in {folder} (no {MANIFEST}). Build one with `sanad index`.")
    try:
        manifest = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as err:
        raise IndexDamaged(f"The index manifest {path} is unreadable ({err}). Rebuild it with `sanad index`.") from err
    if not isinstance(manifest, dict):
        raise IndexDamaged(f"The index manifest {path} is not an object. Rebuild it with `sanad index`.")
    return manifest


def _settings_from_signature(signature: dict[str, Any], folder: Path) -> BuildSettings:
    from retrieval.normalize import NORMALIZER_VERSION

    if signature.get("normalizer_version") != NORMALIZER_VERSION:
        raise IndexMismatch(
            f"The index in {folder} was built with normalizer version {signature.get('normalizer_version')!r}, "
            f"this version uses {NORMALIZER_VERSION!r}. Rebuild it with `sanad index`."
        )
    if signature.get("bm25") != f"{_BM25_METHOD}/{_BM25_IDF}":
        raise IndexMismatch(f"The index in {folder} uses another BM25 variant. Rebuild it with `sanad index`.")
    try:
        return BuildSettings(
            analyzer=Analyzer(stemmer=signature["stemmer"], remove_stopwords=signature["remove_stopwords"]),
            k1=float(signature["k1"]),
            b=float(signature["b"]),
            max_sentences=int(signature["max_sentences"]),
            max_chars=int(signature["max_chars"]),
        )
    except (KeyError, ValueError, TypeError) as err:
        raise IndexDamaged(f"The index manifest in {folder} is incomplete ({err}). Rebuild it with `sanad index`.") from err


def _write_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as src:
        return [json.loads(line) for line in src if line.strip()]


def _fsync_tree(folder: Path) -> None:
    for path in folder.iterdir():
        with path.open("rb") as handle:
            os.fsync(handle.fileno())


def _swap_into_place(staging: Path, target: Path) -> None:
    """Replace `target` with `staging` so that at every instant one complete index is at `target` or none."""
    if not target.exists():
        os.replace(staging, target)
        return
    retired = target.with_name(f".{target.name}.old-{os.getpid()}")
    os.replace(target, retired)
    try:
        os.replace(staging, target)
    except OSError:
        os.replace(retired, target)
        raise
    shutil.rmtree(retired, ignore_errors=True)
