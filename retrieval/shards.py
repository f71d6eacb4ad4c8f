"""A corpus split by document into shards, each an ordinary Sanad index, searched as one: same top-k, same scores.

Each shard is built with the whole corpus's BM25 statistics (passage count, average length, document
frequency of every term), so a passage scores the same in its shard as in one index over the corpus.
Shards are contiguous runs of documents in corpus order, so (shard, row in shard) orders passages as
one index's rows do, and ties are cut in the same order. Dense vectors are per passage and need no
global statistics: each shard holds its passages' vectors, and the fused ranking is made after the
merge, from the merged BM25 and dense lists, as one index makes it.

A sharded index is a folder holding `shards.json` and one ordinary index folder per shard
(`shard-0`, `shard-1`, …); `Shard` is what the merge needs of each, in this process (`LocalShard`) or
behind a Ray Serve deployment (web/ray_serve.py).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from retrieval.analyze import Analyzer
from retrieval.chunk import chunk_document
from retrieval.corpus import load_corpus
from retrieval.dense import DenseVectors, Embedder
from retrieval.fusion import Fusion
from retrieval.hybrid import RETRIEVAL_MODES, RetrievalMode
from retrieval.index import (
    CLOSEST_K,
    FUZZY_LIMIT,
    BM25Index,
    BuildSettings,
    CorpusStatistics,
    IndexDamaged,
    IndexUnusable,
    _settings_from_signature,
    corpus_fingerprint,
    coverage,
    read_manifest,
)
from retrieval.locations import LocationError, ensure_writable_folder
from retrieval.store import VectorBuild, add_vectors, corpus_files_fingerprint
from retrieval.types import Document, Hit, Passage

SHARD_MANIFEST = "shards.json"
SHARDS_FORMAT = 1
# Documents, and questions' term frequencies, that the searcher keeps from recent searches.
_REMEMBERED = 4096
# Calls to one shard that may be under way at once (from concurrent questions).
_FAN_OUT_PER_SHARD = 8


class ShardingError(ValueError):
    """A corpus cannot be cut as asked (fewer documents than shards, fewer than one shard)."""


class ShardUnavailable(Exception):
    """A shard did not answer (its replica is down or too slow); `shards` names the ones that did not."""

    def __init__(self, shards: Sequence[int], answered: Sequence[int]) -> None:
        super().__init__(f"shard(s) {', '.join(map(str, shards))} did not answer; shards that did: {list(answered)}")
        self.shards = list(shards)
        self.answered = list(answered)


@dataclass(frozen=True)
class ShardRanking:
    """One shard's answer to a query: its BM25 and dense (row, score) lists, best first, their passages and
    documents, and the shard's document frequency of each query term (for `coverage`, with no second call)."""

    bm25: list[tuple[int, float]]
    dense: list[tuple[int, float]] = field(default_factory=list)
    passages: dict[int, Passage] = field(default_factory=dict)
    documents: dict[str, Document] = field(default_factory=dict)
    frequencies: list[int] = field(default_factory=list)
    # The query's dense similarity to each of `passages` (BM25's rows too), when a vector was given.
    similarities: dict[int, float] = field(default_factory=dict)


class Shard(Protocol):
    """What searching a sharded index needs of one shard."""

    def rank(self, query: str, k: int, vector: np.ndarray | None = None) -> ShardRanking: ...

    def document_frequencies(self, terms: Sequence[str]) -> list[int]: ...

    def closest(self, query: str, k: int) -> list[Hit]: ...

    def document(self, doc_id: str) -> Document | None: ...

    def document_ids(self) -> list[str]: ...

    def passage(self, row: int) -> Passage: ...

    def passages_of(self, doc_id: str) -> list[Passage]: ...


class LocalShard:
    """A shard's index in this process."""

    def __init__(self, index: BM25Index) -> None:
        self.index = index
        self.dense = DenseVectors(index.vectors) if index.vectors is not None else None

    @classmethod
    def load(cls, folder: Path, vectors: bool = True) -> LocalShard:
        return cls(BM25Index.load(folder, vectors=vectors))

    def rank(self, query: str, k: int, vector: np.ndarray | None = None) -> ShardRanking:
        bm25 = self.index.ranked(query, k)
        dense: list[tuple[int, float]] = []
        if vector is not None and self.dense is not None:
            rows, similarities = self.dense.search(vector, k)
            dense = list(zip(rows.tolist(), similarities.tolist()))
        passages = {row: self.index.passages[row] for row in {row for row, _ in bm25} | {row for row, _ in dense}}
        similarities: dict[int, float] = {}
        if vector is not None and self.dense is not None:
            rows = sorted(passages)
            similarities = dict(zip(rows, self.dense.similarity(vector, rows).tolist()))
        documents = {p.doc_id: self.index.documents[p.doc_id] for p in passages.values()}
        frequencies = self.index.document_frequencies(self.index.settings.analyzer.terms(query))
        return ShardRanking(bm25, dense, passages, documents, frequencies, similarities)

    def document_frequencies(self, terms: Sequence[str]) -> list[int]:
        return self.index.document_frequencies(terms)

    def closest(self, query: str, k: int) -> list[Hit]:
        return self.index.closest(query, k)

    def document(self, doc_id: str) -> Document | None:
        return self.index.documents.get(doc_id)

    def document_ids(self) -> list[str]:
        return list(self.index.documents)

    def passage(self, row: int) -> Passage:
        return self.index.passages[row]

    def passages_of(self, doc_id: str) -> list[Passage]:
        return self.index.passages_of(doc_id) if doc_id in self.index.documents else []


# -- building ------------------------------------------------------------------------------------


def partition(documents: Sequence[Document], passages: Sequence[Passage], n_shards: int) -> list[list[Document]]:
    """`documents` in corpus order cut into `n_shards` contiguous, non-empty runs of about equal passage counts."""
    if n_shards < 1:
        raise ShardingError(f"a sharded index needs at least one shard, not {n_shards}")
    if n_shards > len(documents):
        raise ShardingError(f"{n_shards} shards for {len(documents)} documents: use at most one shard per document")
    counts: dict[str, int] = {}
    for passage in passages:
        counts[passage.doc_id] = counts.get(passage.doc_id, 0) + 1
    ends = np.cumsum([counts.get(doc.id, 0) for doc in documents])  # passages up to each document
    cuts, previous = [], 0
    for j in range(1, n_shards):
        cut = int(np.searchsorted(ends, j * int(ends[-1]) / n_shards)) + 1
        previous = min(max(cut, previous + 1), len(documents) - (n_shards - j))
        cuts.append(previous)
    return [list(documents[a:b]) for a, b in zip([0, *cuts], [*cuts, len(documents)])]


def corpus_statistics(passages: Sequence[Passage], analyzer: Analyzer) -> CorpusStatistics:
    """The whole corpus's BM25 statistics: passages, total length in terms, document frequency of each term."""
    vocab: dict[str, int] = {}
    flat, counts = analyzer.term_ids((p.text for p in passages), vocab)
    term_ids = np.fromiter(flat, dtype=np.int64, count=len(flat))
    passage_ids = np.repeat(np.arange(len(passages), dtype=np.int64), counts)
    pairs = np.unique((term_ids << 32) | passage_ids)
    df = np.bincount(pairs >> 32, minlength=len(vocab))
    return CorpusStatistics(len(passages), len(flat), dict(zip(vocab, df.tolist())))


def build_sharded(
    documents: Sequence[Document], n_shards: int, settings: BuildSettings | None = None,
    passages: Sequence[Passage] | None = None,
) -> tuple[list[BM25Index], dict[str, Any]]:
    """The shards' indexes (in memory) and the shard manifest for `documents` cut into `n_shards`.

    `passages`, when given, are the documents' passages in corpus order (else they are chunked here).
    """  # fmt: skip
    settings = settings or BuildSettings()
    if passages is None:
        passages = [p for doc in documents for p in chunk_document(doc, settings.max_sentences, settings.max_chars)]
    chunked: dict[str, list[Passage]] = {}
    for passage in passages:
        chunked.setdefault(passage.doc_id, []).append(passage)
    if not passages:
        raise IndexUnusable("The corpus has no text to index.", advice="")
    statistics = corpus_statistics(passages, settings.analyzer)
    shards = []
    for run in partition(documents, passages, n_shards):
        own = [p for doc in run for p in chunked.get(doc.id, [])]
        shards.append(BM25Index.build(run, settings, passages=own, statistics=statistics))
    manifest = {
        "format": SHARDS_FORMAT,
        "shards": [f"shard-{i}" for i in range(len(shards))],
        "passages_per_shard": [len(s.passages) for s in shards],
        "documents_per_shard": [len(s.documents) for s in shards],
        "settings": settings.signature(),
        "corpus_statistics": statistics.signature(),
        "corpus_fingerprint": corpus_fingerprint(documents),
        "documents": len(documents),
        "passages": len(passages),
    }
    return shards, manifest


def save_sharded(shards: Sequence[BM25Index], manifest: dict[str, Any], folder: Path) -> None:
    """Write the shards and the shard manifest to `folder` atomically (a staging folder swapped into place).

    Only a missing or empty folder, or one that holds a sharded index, is replaced.
    """
    folder = Path(folder)
    check_sharded_location(folder)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.build-{os.getpid()}-", dir=folder.parent))
    try:
        for name, shard in zip(manifest["shards"], shards):
            shard.save(staging / name)
        # The shard manifest goes last: a folder without one is never taken for a sharded index.
        (staging / SHARD_MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), "utf-8")
        retired = folder.with_name(f".{folder.name}.old-{os.getpid()}")
        if folder.exists():
            os.replace(folder, retired)
        os.replace(staging, folder)
        shutil.rmtree(retired, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def check_sharded_location(folder: Path) -> None:
    """LocationError unless a sharded index may be saved at `folder`: nothing there, empty, or a sharded index."""
    advice = "it was left untouched. Pass --index with a new folder or an existing sharded Sanad index."
    if folder.exists():
        if not folder.is_dir():
            raise LocationError(f"{folder} is a file, not an index folder; {advice}")
        if next(folder.iterdir(), None) is not None and not (folder / SHARD_MANIFEST).is_file():
            raise LocationError(f"{folder} is not empty and holds no sharded Sanad index (no {SHARD_MANIFEST}); {advice}")
    ensure_writable_folder(folder.parent, f"the sharded index {folder}", "--index")


def read_shard_manifest(folder: Path) -> dict[str, Any]:
    path = Path(folder) / SHARD_MANIFEST
    try:
        manifest = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise IndexDamaged(f"No sharded index in {folder} (no {SHARD_MANIFEST}).",
                           advice="Build one with `sanad index --shards N`.") from None  # fmt: skip
    except (OSError, ValueError) as err:
        raise IndexDamaged(f"The shard manifest {path} is unreadable ({err}).") from err
    if not isinstance(manifest, dict) or manifest.get("format") != SHARDS_FORMAT or not manifest.get("shards"):
        raise IndexDamaged(f"The shard manifest {path} is not one this version reads.")
    return manifest


# -- searching -----------------------------------------------------------------------------------


class ShardedIndex:
    """Shards searched as one index: each query goes to every shard at once and the answers are merged."""

    def __init__(
        self,
        manifest: dict[str, Any],
        shards: Sequence[Shard],
        mode: RetrievalMode = "bm25",
        embedder: Embedder | None = None,
        fusion: Fusion | None = None,
    ) -> None:
        if mode not in RETRIEVAL_MODES:
            raise ValueError(f"unknown retrieval mode {mode!r}; use one of {', '.join(RETRIEVAL_MODES)}")
        if len(shards) != len(manifest["shards"]):
            raise ValueError(f"the manifest names {len(manifest['shards'])} shards, {len(shards)} were given")
        self.manifest = manifest
        self.shards = list(shards)
        self.requested_mode = mode
        self.mode: RetrievalMode = mode if mode == "bm25" or embedder is not None else "bm25"
        self.embedder = embedder if self.mode != "bm25" else None
        self.fusion = fusion or Fusion()
        sizes = [int(n) for n in manifest["passages_per_shard"]]
        self._offsets = np.cumsum([0, *sizes])
        self.settings = _settings_from_signature(manifest.get("settings", {}), Path(SHARD_MANIFEST))
        self.documents = ShardDocuments(self)
        self.passages = ShardPassages(self)
        # What the last searches learnt: the query terms' document frequencies, for `coverage` of the
        # same question without asking every shard again.
        self._frequencies: OrderedDict[tuple[str, ...], list[int]] = OrderedDict()
        self._lock = threading.Lock()
        # Threads enough for several questions' fan-outs at once: remote shards' calls mostly wait.
        self._pool = ThreadPoolExecutor(len(self.shards) * _FAN_OUT_PER_SHARD, thread_name_prefix="sanad-shard")

    @classmethod
    def load(cls, folder: Path, mode: RetrievalMode = "bm25", embedder: Embedder | None = None) -> ShardedIndex:
        """The sharded index in `folder`, its shards loaded in this process."""
        manifest = read_shard_manifest(folder)
        shards = [LocalShard.load(Path(folder) / name, vectors=mode != "bm25") for name in manifest["shards"]]
        if mode != "bm25" and any(s.dense is None for s in shards):
            mode, embedder = "bm25", None  # like one index without vectors: BM25 alone
        elif mode != "bm25":
            embedder = embedder or Embedder()
        return cls(manifest, shards, mode, embedder)

    @property
    def modes(self) -> tuple[RetrievalMode, ...]:
        return ("bm25", "dense", "hybrid") if self.embedder is not None else ("bm25",)

    def search(self, query: str, k: int = 5, mode: RetrievalMode | None = None) -> list[Hit]:
        """The `k` best passages of the whole corpus for `query`, best first, as one index ranks them."""
        mode = mode or self.mode
        if k <= 0:
            return []
        vector = None
        depth = k
        if mode != "bm25" and self.embedder is not None:
            vector = self.embedder.query(query)
            depth = max(k, self.fusion.depth)
        rankings = self.fan_out(lambda shard: shard.rank(query, depth, vector))
        passages: dict[int, Passage] = {}
        similarities: dict[int, float] = {}
        bm25: list[tuple[int, float]] = []
        dense: list[tuple[int, float]] = []
        terms = tuple(self.settings.analyzer.terms(query))
        self._remember(terms, [int(sum(column)) for column in zip(*(r.frequencies for r in rankings))])
        for number, ranking in enumerate(rankings):
            self.documents.remember(ranking.documents)
            offset = int(self._offsets[number])
            bm25 += [(offset + row, score) for row, score in ranking.bm25]
            dense += [(offset + row, score) for row, score in ranking.dense]
            passages.update((offset + row, p) for row, p in ranking.passages.items())
            similarities.update((offset + row, s) for row, s in ranking.similarities.items())
        # Best score first, ties in corpus order: the order one index gives.
        bm25.sort(key=lambda item: (-item[1], item[0]))
        dense.sort(key=lambda item: (-item[1], item[0]))
        if vector is None:
            ranked = bm25[:k]
        elif mode == "dense":
            ranked = dense[:k]
        else:
            ranked = self.fusion.fuse(bm25[: self.fusion.depth], dense, k)
        return [
            Hit(passages[row], float(score), rank, similarities.get(row))
            for rank, (row, score) in enumerate(ranked, start=1)
        ]

    def coverage(self, query: str, passages: Sequence[Passage]) -> list[float]:
        terms = tuple(self.settings.analyzer.terms(query))
        with self._lock:
            frequencies = self._frequencies.get(terms)
        if frequencies is None:
            per_shard = self.fan_out(lambda shard: shard.document_frequencies(list(terms)))
            frequencies = [int(sum(column)) for column in zip(*per_shard)]
        return coverage(self.settings.analyzer, terms, frequencies, int(self._offsets[-1]), passages)

    def _remember(self, terms: tuple[str, ...], frequencies: list[int]) -> None:
        if len(frequencies) != len(terms):
            return
        with self._lock:
            self._frequencies[terms] = frequencies
            self._frequencies.move_to_end(terms)
            while len(self._frequencies) > _REMEMBERED:
                self._frequencies.popitem(last=False)

    def closest(self, query: str, k: int = CLOSEST_K) -> list[Hit]:
        """As one index's `closest`: trigram similarity, only for corpora up to FUZZY_LIMIT passages."""
        if int(self._offsets[-1]) > FUZZY_LIMIT or k <= 0:
            return []
        found = [
            (hit.score, number, hit.rank, hit.passage)
            for number, hits in enumerate(self.fan_out(lambda shard: shard.closest(query, k)))
            for hit in hits
        ]
        found.sort(key=lambda item: (-item[0], item[1], item[2]))  # ties in corpus order
        return [Hit(p, score, rank) for rank, (score, _, _, p) in enumerate(found[:k], start=1)]

    def passages_of(self, doc_id: str) -> list[Passage]:
        return [p for found in self.fan_out(lambda shard: shard.passages_of(doc_id)) for p in found]

    def fan_out(self, call: Callable[[Shard], Any]) -> list[Any]:
        """`call` on every shard at once, answers in shard order; ShardUnavailable if any shard fails."""
        futures = [self._pool.submit(call, shard) for shard in self.shards]
        answers, failed = [], []
        for number, future in enumerate(futures):
            try:
                answers.append(future.result())
            except ShardUnavailable:
                failed.append(number)
        if failed:
            raise ShardUnavailable(failed, [n for n in range(len(self.shards)) if n not in failed])
        return answers

    def locate(self, row: int) -> tuple[int, int]:
        """(shard, row in shard) of a row of the whole corpus."""
        if not 0 <= row < int(self._offsets[-1]):
            raise IndexError(row)
        shard = int(np.searchsorted(self._offsets, row, side="right")) - 1
        return shard, row - int(self._offsets[shard])


class ShardDocuments(Mapping[str, Document]):
    """The documents of every shard, looked up where they are; those of recent hits are kept at hand."""

    def __init__(self, index: ShardedIndex) -> None:
        self._index = index
        self._recent: OrderedDict[str, Document] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, documents: Mapping[str, Document]) -> None:
        with self._lock:
            for doc_id, document in documents.items():
                self._recent[doc_id] = document
                self._recent.move_to_end(doc_id)
            while len(self._recent) > _REMEMBERED:
                self._recent.popitem(last=False)

    def __getitem__(self, doc_id: str) -> Document:
        with self._lock:
            known = self._recent.get(doc_id)
        if known is not None:
            return known
        for found in self._index.fan_out(lambda shard: shard.document(doc_id)):
            if found is not None:
                return found
        raise KeyError(doc_id)

    def __iter__(self) -> Iterator[str]:
        for ids in self._index.fan_out(lambda shard: shard.document_ids()):
            yield from ids

    def __len__(self) -> int:
        return int(self._index.manifest["documents"])


class ShardPassages(Sequence[Passage]):
    """The passages of every shard in corpus order, fetched from their shard."""

    def __init__(self, index: ShardedIndex) -> None:
        self._index = index

    def __getitem__(self, row: int) -> Passage:  # type: ignore[override]
        shard, own = self._index.locate(row)
        return self._index.shards[shard].passage(own)

    def __len__(self) -> int:
        return int(self._index.manifest["passages"])


# -- from a corpus folder ------------------------------------------------------------------------


def build_sharded_index(
    corpus: Path, folder: Path, settings: BuildSettings, n_shards: int, notices: list[str] | None = None,
    vectors: VectorBuild | None = None,
) -> dict[str, Any]:
    """Load and clean the corpus, cut it into `n_shards`, save the shards; with `vectors`, embed each shard.

    Returns the shard manifest. Each shard's vectors are saved with it as they are made.
    """  # fmt: skip
    check_sharded_location(folder)
    loaded = load_corpus(corpus)
    if notices is not None:
        notices.extend(loaded.problems)
    shards, manifest = build_sharded(loaded.documents, n_shards, settings)
    manifest["corpus_files"] = corpus_files_fingerprint(corpus)
    manifest["corpus_path"] = str(Path(corpus).resolve())
    save_sharded(shards, manifest, folder)
    if vectors is not None:
        for name, shard in zip(manifest["shards"], shards):
            add_vectors(shard, folder / name, vectors)
    return manifest


def open_sharded_index(
    corpus: Path, folder: Path, settings: BuildSettings, n_shards: int, notices: list[str] | None = None,
    vectors: VectorBuild | None = None,
) -> dict[str, Any]:
    """The shard manifest of the sharded index in `folder`, rebuilt first unless it has `n_shards` shards
    built with `settings` from `corpus` as it is now (and, with `vectors`, dense vectors in every shard)."""  # fmt: skip
    problem = None
    try:
        manifest = read_shard_manifest(folder)
        if len(manifest["shards"]) != n_shards:
            problem = f"The sharded index in {folder} has {len(manifest['shards'])} shards, not {n_shards}."
        elif manifest.get("settings") != settings.signature():
            problem = f"The sharded index in {folder} was built with other settings."
        elif manifest.get("corpus_files") != corpus_files_fingerprint(corpus):
            problem = f"The corpus {corpus} changed since the sharded index in {folder} was built."
        elif vectors is not None and not all("dense" in read_manifest(folder / n) for n in manifest["shards"]):
            problem = f"The sharded index in {folder} has no dense vectors yet."
        else:
            return manifest
    except IndexUnusable as err:
        problem = err.problem
    if notices is not None and (folder / SHARD_MANIFEST).exists():
        notices.append(f"{problem} Rebuilding it from {corpus}.")
    return build_sharded_index(corpus, folder, settings, n_shards, notices, vectors)


def sharded_index_dir(index_dir: Path, named: bool) -> Path:
    """Where a sharded index goes: the folder named with --index, else beside the default index."""
    return index_dir if named else index_dir.with_name(f"{index_dir.name}-shards")
