"""Open the index for a corpus, building it when it is missing, damaged, mismatched or stale.

An index is only ever rebuilt from the corpus the user named, or else from the one it was built from.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from retrieval.corpus import CorpusError, load_corpus
from retrieval.dense import EMBED_PROGRESS_FROM, Embedder, VectorCache, count_missing, embed_passages
from retrieval.index import BM25Index, BuildSettings, IndexUnusable, read_manifest, stored_vectors
from retrieval.index_folder import MANIFEST, check_index_location, holds_index

log = logging.getLogger(__name__)

# Passages that opening an index (for `ask`, the bot, …) embeds by itself; more wait for `sanad index`.
AUTO_EMBED_LIMIT = 500


@dataclass(frozen=True)
class VectorBuild:
    """How an index gets its dense vectors: the embedder, the cache of vectors already made, and at
    most how many passages to embed now (None: all of them)."""

    embedder: Embedder
    cache: VectorCache | None = None
    limit: int | None = None


def corpus_files_fingerprint(corpus: Path) -> str:
    """A hash of the corpus files' names, sizes and modification times, checked at every start.

    Not their bytes: hashing every byte made each start cost as much as reading the whole corpus. A file
    that is edited gets a new modification time (editors, cp, rsync without -t and git all set it), so
    the index is still rebuilt when a file changes, is added or is removed.
    """
    digest = hashlib.sha256(b"stat-1\0")
    files = [corpus] if corpus.is_file() else sorted(p for p in corpus.rglob("*") if p.suffix in {".txt", ".jsonl"})
    for path in files:
        stat = path.stat()
        name = str(path.relative_to(corpus) if path != corpus else path.name)
        digest.update(f"{name}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode("utf-8"))
    return digest.hexdigest()


def build_index(
    corpus: Path,
    folder: Path,
    settings: BuildSettings,
    notices: list[str] | None = None,
    corpus_named: bool = True,
    vectors: VectorBuild | None = None,
) -> BM25Index:
    """Load and clean the corpus, index it and save the index atomically; with `vectors`, embed it too.

    With `corpus_named` False (an index was named, a corpus was not), an index already at `folder`
    is rebuilt from the corpus it records, never from `corpus`, the default one.
    """
    if not corpus_named and holds_index(folder):
        recorded = recorded_corpus(folder)
        if recorded is None or not recorded.exists():
            raise CorpusError(
                f"The index in {folder} was built from {recorded or 'a corpus it does not record'}, which is gone. "
                "Pass --corpus to rebuild it from another corpus."
            )
        corpus = recorded
    check_index_location(folder)
    loaded = load_corpus(corpus)
    for problem in loaded.problems:
        _tell(notices, problem)
    index = BM25Index.build(loaded.documents, settings)
    index.manifest["corpus_files"] = corpus_files_fingerprint(corpus)
    index.manifest["corpus_path"] = str(corpus.resolve())
    previous = stored_vectors(folder) if vectors is not None else {}
    index.save(folder)  # BM25 serves from here on, while the vectors are made
    if vectors is not None:
        add_vectors(index, folder, vectors, [previous])
    return index


def add_vectors(
    index: BM25Index, folder: Path, vectors: VectorBuild, known: list[dict[bytes, np.ndarray]] | None = None
) -> None:
    """Embed the passages of `index` that no known vector covers and save it with its vectors.

    More than `vectors.limit` passages to embed: nothing is embedded (the index answers with BM25).
    Interrupted (Ctrl-C), the index stays as saved, without vectors, and what was embedded is in
    the cache for the next run.
    """
    sources = [*(known or []), *([vectors.cache.lookup()] if vectors.cache is not None else [])]
    texts = index.embedding_texts()
    missing = count_missing(texts, sources)
    if vectors.limit is not None and missing > vectors.limit:
        # The index then answers with BM25, and the one who opened it says how to add the vectors.
        log.info("%d passages to embed, more than %d: left to `sanad index`", missing, vectors.limit)
        return
    if missing >= EMBED_PROGRESS_FROM:
        log.warning("embedding %d passages; Ctrl-C stops, and `sanad index` resumes where it stopped", missing)
    index.attach_vectors(embed_passages(texts, vectors.embedder, known or [], vectors.cache))
    index.save(folder)


def open_index(
    corpus: Path,
    folder: Path,
    settings: BuildSettings,
    notices: list[str] | None = None,
    corpus_named: bool = True,
    vectors: VectorBuild | None = None,
) -> BM25Index:
    """The saved index if it matches `settings` and its corpus as it is now; else a fresh one.

    With `corpus_named` False (an index was named, a corpus was not), the index's own corpus of record
    is the one checked and rebuilt from, and `corpus` (the default) only builds an index where there is
    none; if the corpus of record is gone, the index is used as it is, with a notice. With `vectors`,
    an index without dense vectors gets them if few passages need embedding (`vectors.limit`).
    """
    if not (folder / MANIFEST).exists():
        log.info("building the index for %s in %s (no index yet)", corpus, folder)
        return build_index(corpus, folder, settings, notices, vectors=vectors)
    if not corpus_named:
        recorded = recorded_corpus(folder)
        if recorded is None or not recorded.exists():
            index = BM25Index.load(folder)  # with the settings it was built with, since it cannot be rebuilt
            _tell(
                notices,
                f"The corpus the index in {folder} was built from ({recorded or 'not recorded'}) is gone; "
                "using the index as it is. Pass --corpus to rebuild it from another corpus.",
            )
            return index
        corpus = recorded
    try:
        manifest = read_manifest(folder)
        if manifest.get("corpus_files") == corpus_files_fingerprint(corpus):
            index = BM25Index.load(folder, settings, vectors=vectors is not None)
            if vectors is not None and index.vectors is None:
                add_vectors(index, folder, vectors)
            return index
        problem = f"The corpus {corpus} changed since the index in {folder} was built."
    except IndexUnusable as err:
        problem = err.problem
    log.info("rebuilding the index in %s: %s", folder, problem)
    _tell(notices, f"{problem} Rebuilding it from {corpus}.")
    return build_index(corpus, folder, settings, notices, vectors=vectors)


def recorded_corpus(folder: Path) -> Path | None:
    """The corpus the index in `folder` was built from, as its manifest records it (None if it does not)."""
    try:
        path = read_manifest(folder).get("corpus_path")
    except IndexUnusable:
        return None
    return Path(path) if isinstance(path, str) and path else None


def _tell(notices: list[str] | None, message: str) -> None:
    """Each message once: into `notices` for the caller to show, or else to the log."""
    if notices is None:
        log.warning(message)
    else:
        notices.append(message)
