"""The BM25 passage index: build from documents, save as a folder, load, search.

bm25s holds the sparse precomputed scores and saves/loads them; this module owns what bm25s does not:
our own Arabic analyzer, a vectorized build of the score matrix (bm25s's builder loops in Python per
passage), a query path that costs a query's postings, the passages and documents beside the matrix
(read lazily once loaded), a manifest recording how the index was built, refusal to load a mismatched
or damaged index, and atomic saves.

Scoring variant: Okapi BM25's saturating tf with the (k1 + 1) numerator and the idf
log((N + 1) / df), which stays positive for every term (Robertson's idf is zero or negative for terms
in half the passages or more, and on a small corpus that silences the words a question hinges on).
That is bm25s's `method="atire", idf_method="bm25+"` and exactly rank_bm25's `BM25Plus(k1, b,
delta=0)`; tests/test_index.py checks top-10 and scores against it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bm25s
import numpy as np
from tqdm import tqdm

from retrieval.analyze import Analyzer
from retrieval.atomic import swap_folder
from retrieval.chunk import chunk_document
from retrieval.dense import KEY_BYTES, dense_signature, embedding_texts, passage_key
from retrieval.index_folder import (
    DOCUMENT_IDS,
    DOCUMENT_OFFSETS,
    DOCUMENTS,
    MANIFEST,
    PASSAGE_OFFSETS,
    PASSAGES,
    RETIRED,
    STAGING,
    VECTOR_KEYS,
    VECTORS,
    check_index_location,
    remove_stale_staging,
)
from retrieval.normalize import NORMALIZER_VERSION, normalize
from retrieval.records import JsonlRecords, StoredDocuments, StoredPassages, write_jsonl
from retrieval.types import Document, Hit, Passage

log = logging.getLogger(__name__)

# 2: passages and documents have byte-offset tables, for lazy loading.
INDEX_FORMAT = 2
_BM25_METHOD = "atire"
_BM25_IDF = "bm25+"
# Show a progress bar from this many passages on; small corpora build in well under a second.
PROGRESS_FROM = 5_000
# Largest corpus for which `closest` scans every passage.
FUZZY_LIMIT = 50_000
# Passages `closest` offers by default: near misses shown as a hint of what the corpus holds, not as answers.
CLOSEST_K = 3
# Passages analyzed per step of a build: bounds the memory held as Python ints.
_ANALYZE_CHUNK = 100_000
# A query whose postings exceed 1/_DENSE_FROM of the corpus sums into a dense per-thread buffer:
# cheaper than sorting its postings.
_DENSE_FROM = 16
# Passages per block of the dense buffer whose maxima bound the k-th best score.
_BLOCK = 1024


REBUILD = "Rebuild it with `sanad index`."


class IndexUnusable(Exception):
    """An index cannot be used as it is; the message says why and what to do.

    `problem` is the message without the advice, for when Sanad rebuilds the index by itself.
    """

    def __init__(self, problem: str, advice: str = REBUILD) -> None:
        super().__init__(f"{problem} {advice}" if advice else problem)
        self.problem = problem


class IndexMismatch(IndexUnusable):
    """The index was built with other settings or from another corpus."""


class IndexDamaged(IndexUnusable):
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


@dataclass(frozen=True)
class CorpusStatistics:
    """BM25's corpus-wide figures, for an index that holds part of a corpus (a shard): its scores are then
    the whole corpus's (retrieval/shards.py)."""

    passages: int
    # Terms over all passages: the average length is this over `passages`, divided as a whole index does.
    total_length: int
    # Term → how many passages of the whole corpus hold it.
    document_frequency: Mapping[str, int]

    def signature(self) -> dict[str, Any]:
        return {"passages": self.passages, "total_length": self.total_length, "terms": len(self.document_frequency)}


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
        passages: Sequence[Passage],
        documents: Mapping[str, Document],
        settings: BuildSettings,
        manifest: dict[str, Any],
        vectors: np.ndarray | None = None,
    ) -> None:
        self._retriever = retriever
        self.passages = passages
        self.documents = documents
        self.settings = settings
        self.manifest = manifest
        # float16 (len(passages), dim) or None: an index built without them answers with BM25 alone.
        self.vectors = vectors
        self._vocab: dict[str, int] = retriever.vocab_dict
        self._data = np.asarray(retriever.scores["data"])
        self._indices = np.asarray(retriever.scores["indices"])
        self._indptr = np.asarray(retriever.scores["indptr"])
        self._num_docs = int(retriever.scores["num_docs"])
        self._buffers = threading.local()
        self._trigram_sets: list[frozenset[str]] | None = None
        self._rows_of: dict[str, list[int]] | None = None  # document id -> its passages' rows, made once
        self._rows_lock = threading.Lock()

    # -- building -------------------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        documents: Sequence[Document],
        settings: BuildSettings | None = None,
        passages: Sequence[Passage] | None = None,
        progress: bool | None = None,
        statistics: CorpusStatistics | None = None,
    ) -> BM25Index:
        """Chunk (unless `passages` are given), analyze and index `documents`.

        With `statistics`, idf and average length are those of the corpus they describe (which holds
        `documents`), not of `documents` alone: how a shard scores like the whole index.
        """
        settings = settings or BuildSettings()
        started = time.perf_counter()
        if passages is None:
            passages = [p for doc in documents for p in chunk_document(doc, settings.max_sentences, settings.max_chars)]
        passages = list(passages)
        if not passages:
            raise IndexUnusable("The corpus has no text to index.", advice="")
        # A bar on a terminal only: in a log file or a pipe it is a line of carriage returns.
        show = len(passages) >= PROGRESS_FROM and sys.stderr.isatty() if progress is None else progress
        vocab: dict[str, int] = {}
        term_ids, passage_ids = _analyze(passages, settings.analyzer, vocab, show)
        if not vocab:
            raise IndexUnusable("The corpus has no indexable words (only stopwords or symbols).", advice="")
        retriever = bm25s.BM25(k1=settings.k1, b=settings.b, method=_BM25_METHOD, idf_method=_BM25_IDF)
        corpus = None
        if statistics is not None:
            terms = sorted(vocab, key=vocab.__getitem__)
            corpus = (statistics.passages, statistics.total_length, [statistics.document_frequency[t] for t in terms])
        retriever.scores = _score_matrix(
            term_ids, passage_ids, len(passages), len(vocab), settings.k1, settings.b, corpus
        )  # fmt: skip
        retriever.vocab_dict = vocab
        retriever.unique_token_ids_set = set(vocab.values())
        retriever.nonoccurrence_array = None
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
        if statistics is not None:
            manifest["corpus_statistics"] = statistics.signature()
        return cls(retriever, passages, {d.id: d for d in documents}, settings, manifest)

    def attach_vectors(self, vectors: np.ndarray) -> None:
        """Give the index its dense passage vectors (one per passage, in order); `save` then stores them."""
        if vectors.shape != (len(self.passages), dense_signature()["dim"]):
            raise ValueError(f"expected {len(self.passages)} vectors, got an array of shape {vectors.shape}")
        self.vectors = vectors.astype(dense_signature()["dtype"], copy=False)
        self.manifest["dense"] = {**dense_signature(), "passages": len(vectors)}

    def embedding_texts(self) -> list[str]:
        """The text each passage's dense vector embeds (retrieval/dense.py)."""
        return embedding_texts(self.passages, self.documents)

    # -- searching ------------------------------------------------------------------------------

    def search(self, query: str, k: int = 5) -> list[Hit]:
        """The `k` best passages for `query`, best first; passages sharing no term never appear."""
        return [Hit(self.passages[row], score, rank) for rank, (row, score) in enumerate(self.ranked(query, k), start=1)]

    def ranked(self, query: str, k: int = 5) -> list[tuple[int, float]]:
        """`search` as (passage row, score) pairs."""
        ids = [self._vocab[t] for t in self.settings.analyzer.terms(query) if t in self._vocab]
        if not ids or k <= 0:
            return []
        return self._top_k(ids, k)

    def closest(self, query: str, k: int = CLOSEST_K) -> list[Hit]:
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

    def coverage(self, query: str, passages: Sequence[Passage]) -> list[float]:
        """For each passage, the share of the query's idf mass that its terms cover, in [0, 1] (`coverage`)."""
        terms = self.settings.analyzer.terms(query)
        return coverage(self.settings.analyzer, terms, self.document_frequencies(terms), self._num_docs, passages)

    def document_frequencies(self, terms: Sequence[str]) -> list[int]:
        """How many of this index's passages hold each term (0 for a term it lacks)."""
        ids = [self._vocab.get(term) for term in terms]
        return [0 if i is None else int(self._indptr[i + 1] - self._indptr[i]) for i in ids]

    def _top_k(self, token_ids: list[int], k: int) -> list[tuple[int, float]]:
        # Sum the precomputed per-term scores over the union of the terms' posting lists only, so a
        # query costs its postings, not the corpus size. Both paths add in float64 in query-term
        # order, so they give bit-identical scores.
        starts, ends = self._indptr[token_ids], self._indptr[np.asarray(token_ids) + 1]
        postings = int((ends - starts).sum())
        if postings == 0:
            return []
        if postings * _DENSE_FROM >= self._num_docs:
            candidates, scores = self._sum_dense(starts, ends, k)
        else:
            rows = np.concatenate([self._indices[s:e] for s, e in zip(starts, ends)])
            vals = np.concatenate([self._data[s:e] for s, e in zip(starts, ends)])
            candidates, inverse = np.unique(rows, return_inverse=True)
            scores = np.bincount(inverse, weights=vals.astype(np.float64), minlength=len(candidates))
            positive = scores > 0
            candidates, scores = candidates[positive], scores[positive]
        if len(candidates) > k:
            # Everything tied with the k-th best stays in, so that ties are cut in corpus order.
            kth = np.partition(scores, len(scores) - k)[len(scores) - k]
            best = scores >= kth
            candidates, scores = candidates[best], scores[best]
        # Best score first; equal scores in corpus order, so results are deterministic.
        order = np.lexsort((candidates, -scores))[:k]
        return [(int(candidates[i]), float(scores[i])) for i in order]

    def _sum_dense(self, starts: np.ndarray, ends: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Passages (ascending) that may be among the `k` best, with their scores: summed into a dense
        per-thread buffer, then cut at a bound that no scan of the whole corpus has to sort."""
        buffer = getattr(self._buffers, "scores", None)
        if buffer is None:
            blocks = -(-self._num_docs // _BLOCK)
            buffer = np.zeros(blocks * _BLOCK, dtype=np.float64)
        # Taken off the thread while in use: an exception half-way leaves no dirty buffer behind.
        self._buffers.scores = None
        for s, e in zip(starts, ends):
            # In float64 on both sides: ufunc.at takes its fast path only without casting.
            np.add.at(buffer, self._indices[s:e], self._data[s:e].astype(np.float64))
        # k blocks each hold a score at least their maximum, so the k-th largest block maximum is
        # a lower bound on the k-th best score: only scores above it need sorting.
        maxima = buffer.reshape(-1, _BLOCK).max(axis=1)
        bound = np.partition(maxima, len(maxima) - k)[len(maxima) - k] if len(maxima) > k else 0.0
        candidates = np.flatnonzero(buffer >= bound) if bound > 0 else np.flatnonzero(buffer > 0)
        scores = buffer[candidates]
        buffer.fill(0.0)
        self._buffers.scores = buffer
        return candidates, scores

    @property
    def vocabulary_size(self) -> int:
        """Distinct terms in the index."""
        return len(self._vocab)

    @property
    def postings(self) -> int:
        """Stored (term, passage) scores: the size of the BM25 matrix."""
        return int(len(self._data))

    def passages_of(self, doc_id: str) -> list[Passage]:
        """A document's passages, in order. The first call reads every passage once to map documents to
        their rows (passages are parsed from disk on access); later calls parse only that document's."""
        with self._rows_lock:
            if self._rows_of is None:
                rows: dict[str, list[int]] = {}
                for row, passage in enumerate(self.passages):
                    rows.setdefault(passage.doc_id, []).append(row)
                self._rows_of = rows
        return [self.passages[row] for row in self._rows_of.get(doc_id, [])]

    # -- persistence ----------------------------------------------------------------------------

    def save(self, folder: str | Path) -> None:
        """Write the index to `folder` atomically: a crash leaves the previous index (or none) in place.

        Only a missing or empty folder, or one holding a Sanad index, is replaced (LocationError
        otherwise); staging folders that killed builds left beside it are removed afterwards.
        """
        target = Path(folder)
        if target.is_symlink():  # replace the index the link points to, not the link
            target = target.resolve()
        check_index_location(target)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.{STAGING}-{os.getpid()}-", dir=target.parent))
        try:
            self._retriever.save(staging, show_progress=False)
            np.save(staging / PASSAGE_OFFSETS, write_jsonl(staging / PASSAGES, (p.to_dict() for p in self.passages)))
            documents = list(self.documents.values())
            np.save(staging / DOCUMENT_OFFSETS, write_jsonl(staging / DOCUMENTS, (d.to_dict() for d in documents)))
            (staging / DOCUMENT_IDS).write_text(json.dumps([d.id for d in documents], ensure_ascii=False), "utf-8")
            if self.vectors is not None:
                np.save(staging / VECTORS, self.vectors)
                keys = b"".join(passage_key(text) for text in self.embedding_texts())
                np.save(staging / VECTOR_KEYS, np.frombuffer(keys, dtype=np.uint8).reshape(-1, KEY_BYTES))
            # The manifest goes last: a folder without one is never taken for an index.
            (staging / MANIFEST).write_text(json.dumps(self.manifest, ensure_ascii=False, indent=2), "utf-8")
            _fsync_tree(staging)
            swap_folder(staging, target, retired_tag=RETIRED)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        remove_stale_staging(target)

    @classmethod
    def load(cls, folder: str | Path, settings: BuildSettings | None = None, vectors: bool = True) -> BM25Index:
        """Load an index; with `settings`, refuse one built with different settings.

        Passages and documents stay on disk (memory-mapped) and are parsed when a search returns them;
        the score matrix is read into memory. Dense vectors
        (memory-mapped) come too unless `vectors` is False; ones made by another embedding model,
        engine version, dimension or dtype are refused.
        """
        folder = Path(folder)
        manifest = read_manifest(folder)
        if manifest.get("format") != INDEX_FORMAT:
            raise IndexMismatch(
                f"The index in {folder} has format {manifest.get('format')}, this version reads {INDEX_FORMAT}."
            )
        built_with, installed = manifest.get("bm25s_version"), getattr(bm25s, "__version__", "unknown")
        if _minor(built_with) != _minor(installed):
            # The index sets bm25s's score matrix by hand (_score_matrix): its layout is that version's.
            raise IndexMismatch(f"The index in {folder} was saved by bm25s {built_with}; this is bm25s {installed}.")
        recorded = manifest.get("settings", {})
        stored = _settings_from_signature(recorded, folder)
        if settings is not None and settings.signature() != recorded:
            diff = {k: (recorded.get(k), v) for k, v in settings.signature().items() if recorded.get(k) != v}
            details = ", ".join(f"{k}: index has {old!r}, wanted {new!r}" for k, (old, new) in diff.items())
            raise IndexMismatch(f"The index in {folder} was built differently ({details}).")
        try:
            retriever = bm25s.BM25.load(folder, show_progress=False)
            passages = StoredPassages(JsonlRecords(folder / PASSAGES, np.load(folder / PASSAGE_OFFSETS)))
            document_ids = json.loads((folder / DOCUMENT_IDS).read_text("utf-8"))
            document_records = JsonlRecords(folder / DOCUMENTS, np.load(folder / DOCUMENT_OFFSETS))
            documents = StoredDocuments(document_records, document_ids)
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise IndexDamaged(f"The index in {folder} is damaged ({err}).") from err
        if len(passages) != manifest.get("passages") or retriever.scores["num_docs"] != len(passages):
            raise IndexDamaged(f"The index in {folder} is damaged (passage count does not match).")
        matrix = _load_vectors(folder, manifest, len(passages)) if vectors and "dense" in manifest else None
        return cls(retriever, passages, documents, stored, manifest, matrix)


def _minor(version: object) -> str:
    """"0.2.13" -> "0.2": releases within one minor version keep the saved format."""
    return ".".join(str(version).split(".")[:2])


def coverage(
    analyzer: Analyzer, terms: Sequence[str], frequencies: Sequence[int], n_passages: int, passages: Sequence[Passage]
) -> list[float]:
    """For each passage, the share of the query's idf mass that its terms cover, in [0, 1].

    `terms` are the query's, `frequencies` their document frequencies in a corpus of `n_passages`. A
    query term the corpus lacks weighs most (the idf of a term in half a passage), so a question about
    something the corpus never mentions covers little of any passage: the no-answer signal.
    """
    weights: dict[str, float] = {}
    for term, df in zip(terms, frequencies):
        weights[term] = float(np.log((n_passages + 1) / max(float(df), 0.5)))
    total = sum(weights.values())
    if total <= 0:
        return [0.0 for _ in passages]
    covered = []
    for passage in passages:
        present = set(analyzer.terms(passage.text))
        covered.append(sum(w for t, w in weights.items() if t in present) / total)
    return covered


def _load_vectors(folder: Path, manifest: dict[str, Any], n_passages: int) -> np.ndarray:
    recorded = {k: manifest["dense"].get(k) for k in dense_signature()} if isinstance(manifest["dense"], dict) else {}
    if recorded != dense_signature():
        diff = ", ".join(f"{k}: index has {recorded.get(k)!r}, this version uses {v!r}" for k, v in dense_signature().items() if recorded.get(k) != v)
        raise IndexMismatch(f"The dense vectors in {folder} were made differently ({diff}).")
    try:
        matrix = np.load(folder / VECTORS, mmap_mode="r")
    except (OSError, ValueError) as err:
        raise IndexDamaged(f"The index in {folder} is damaged ({err}).") from err
    if matrix.shape != (n_passages, recorded["dim"]) or matrix.dtype != np.dtype(recorded["dtype"]):
        raise IndexDamaged(f"The index in {folder} is damaged (its vectors do not match its passages).")
    return matrix


def stored_vectors(folder: Path) -> dict[bytes, np.ndarray]:
    """The dense vectors of the index in `folder` by passage-text key, if it has usable ones; else {}.

    What a rebuild reuses: only passages whose text changed (or is new) need embedding again.
    """
    try:
        manifest = read_manifest(folder)
        if "dense" not in manifest:
            return {}
        matrix = _load_vectors(folder, manifest, int(manifest["dense"].get("passages", -1)))
        keys = np.load(folder / VECTOR_KEYS)
    except (IndexUnusable, OSError, ValueError, TypeError) as err:
        log.info("no reusable vectors in %s: %s", folder, err)
        return {}
    if len(keys) != len(matrix):
        return {}
    return dict(zip((row.tobytes() for row in keys), matrix))


def _analyze(
    passages: Sequence[Passage], analyzer: Analyzer, vocab: dict[str, int], show: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Every passage's term ids, flattened in passage order, and the passage number of each."""
    term_chunks, passage_chunks = [], []
    with tqdm(total=len(passages), desc="Indexing passages", unit="passage", disable=not show) as bar:
        for first in range(0, len(passages), _ANALYZE_CHUNK):
            chunk = passages[first : first + _ANALYZE_CHUNK]
            flat, counts = analyzer.term_ids((p.text for p in chunk), vocab)
            term_chunks.append(np.fromiter(flat, dtype=np.int32, count=len(flat)))
            passage_chunks.append(np.repeat(np.arange(first, first + len(chunk), dtype=np.int32), counts))
            bar.update(len(chunk))
    return np.concatenate(term_chunks), np.concatenate(passage_chunks)


def _score_matrix(
    term_ids: np.ndarray, passage_ids: np.ndarray, n_passages: int, n_terms: int, k1: float, b: float,
    corpus: tuple[int, int, list[int]] | None = None,
) -> dict[str, Any]:
    """The passages × terms BM25 score matrix in bm25s's CSC layout, with its zero entries dropped.

    Per (term, passage): idf · tf·(k1+1) / (tf + k1·(1 − b + b·len/avg_len)) with idf
    log((N + 1) / df), computed in float64 and stored as float32. N, df and the average length are
    these passages' own, or with `corpus` (N, total length, df by term id) those of a whole corpus.
    """
    # One sort of (term, passage) pairs gives the term frequencies and the CSC order at once.
    keys = (term_ids.astype(np.int64) << 32) | passage_ids.astype(np.int64)
    keys.sort()
    lengths = np.bincount(passage_ids, minlength=n_passages).astype(np.float64)
    firsts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    tf = np.diff(np.append(firsts, len(keys))).astype(np.float64)
    pairs = keys[firsts]
    del keys
    terms = (pairs >> 32).astype(np.int64)
    rows = (pairs & 0xFFFFFFFF).astype(np.int32)
    if corpus is None:
        df = np.bincount(terms, minlength=n_terms).astype(np.float64)
        idf = np.log((n_passages + 1) / df)
        avg_length = lengths.sum() / n_passages
    else:
        corpus_passages, corpus_length, corpus_df = corpus
        idf = np.log((corpus_passages + 1) / np.asarray(corpus_df, dtype=np.float64))
        avg_length = float(corpus_length) / corpus_passages
    scores = idf[terms] * tf * (k1 + 1) / (tf + k1 * (1 - b + b * lengths[rows] / avg_length))
    scores = scores.astype(np.float32)
    indptr = np.zeros(n_terms + 1, dtype=np.int64)
    np.cumsum(np.bincount(terms, minlength=n_terms), out=indptr[1:])
    return {"data": scores, "indices": rows, "indptr": indptr, "num_docs": n_passages}


def _trigrams(text: str) -> frozenset[str]:
    return frozenset(text[i : i + 3] for i in range(len(text) - 2) if " " not in text[i : i + 3])


def read_manifest(folder: Path) -> dict[str, Any]:
    path = folder / MANIFEST
    if not path.exists():
        raise IndexDamaged(f"No index in {folder} (no {MANIFEST}).", advice="Build one with `sanad index`.")
    try:
        manifest = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as err:
        raise IndexDamaged(f"The index manifest {path} is unreadable ({err}).") from err
    if not isinstance(manifest, dict):
        raise IndexDamaged(f"The index manifest {path} is not an object.")
    return manifest


def _settings_from_signature(signature: dict[str, Any], folder: Path) -> BuildSettings:
    if signature.get("normalizer_version") != NORMALIZER_VERSION:
        raise IndexMismatch(
            f"The index in {folder} was built with normalizer version {signature.get('normalizer_version')!r}, "
            f"this version uses {NORMALIZER_VERSION!r}."
        )
    if signature.get("bm25") != f"{_BM25_METHOD}/{_BM25_IDF}":
        raise IndexMismatch(f"The index in {folder} uses another BM25 variant.")
    try:
        return BuildSettings(
            analyzer=Analyzer(stemmer=signature["stemmer"], remove_stopwords=signature["remove_stopwords"]),
            k1=float(signature["k1"]),
            b=float(signature["b"]),
            max_sentences=int(signature["max_sentences"]),
            max_chars=int(signature["max_chars"]),
        )
    except (KeyError, ValueError, TypeError) as err:
        raise IndexDamaged(f"The index manifest in {folder} is incomplete ({err}).") from err


def _fsync_tree(folder: Path) -> None:
    for path in folder.iterdir():
        with path.open("rb") as handle:
            os.fsync(handle.fileno())
