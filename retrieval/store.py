"""Open the index for a corpus, building it when it is missing, damaged, mismatched or stale.

An index is only ever rebuilt from the corpus the user named, or else from the one it was built from.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from retrieval.corpus import CorpusError, load_corpus
from retrieval.index import (
    MANIFEST,
    BM25Index,
    BuildSettings,
    IndexError_,
    check_index_location,
    holds_index,
    read_manifest,
)

log = logging.getLogger(__name__)


def corpus_files_fingerprint(corpus: Path) -> str:
    """A hash of the corpus files' names and bytes: cheap enough to check before every question."""
    digest = hashlib.sha256()
    files = [corpus] if corpus.is_file() else sorted(p for p in corpus.rglob("*") if p.suffix in {".txt", ".jsonl"})
    for path in files:
        digest.update(str(path.relative_to(corpus) if path != corpus else path.name).encode("utf-8"))
        digest.update(b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def build_index(
    corpus: Path, folder: Path, settings: BuildSettings, notices: list[str] | None = None, corpus_named: bool = True
) -> BM25Index:
    """Load and clean the corpus, index it and save the index atomically.

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
    index.save(folder)
    return index


def open_index(
    corpus: Path, folder: Path, settings: BuildSettings, notices: list[str] | None = None, corpus_named: bool = True
) -> BM25Index:
    """The saved index if it matches `settings` and its corpus as it is now; else a fresh one.

    With `corpus_named` False (an index was named, a corpus was not), the index's own corpus of record
    is the one checked and rebuilt from, and `corpus` (the default) only builds an index where there is
    none; if the corpus of record is gone, the index is used as it is, with a notice.
    """
    if not (folder / MANIFEST).exists():
        log.info("building the index for %s in %s (no index yet)", corpus, folder)
        return build_index(corpus, folder, settings, notices)
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
            return BM25Index.load(folder, settings)
        problem = f"The corpus {corpus} changed since the index in {folder} was built."
    except IndexError_ as err:
        problem = err.problem
    log.info("rebuilding the index in %s: %s", folder, problem)
    _tell(notices, f"{problem} Rebuilding it from {corpus}.")
    return build_index(corpus, folder, settings, notices)


def recorded_corpus(folder: Path) -> Path | None:
    """The corpus the index in `folder` was built from, as its manifest records it (None if it does not)."""
    try:
        path = read_manifest(folder).get("corpus_path")
    except IndexError_:
        return None
    return Path(path) if isinstance(path, str) and path else None


def _tell(notices: list[str] | None, message: str) -> None:
    """Each message once: into `notices` for the caller to show, or else to the log."""
    if notices is None:
        log.warning(message)
    else:
        notices.append(message)
