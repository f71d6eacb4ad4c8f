"""Open the index for a corpus, building it when it is missing, damaged, mismatched or stale."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from retrieval.corpus import load_corpus
from retrieval.index import BM25Index, BuildSettings, IndexError_, read_manifest

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


def build_index(corpus: Path, folder: Path, settings: BuildSettings, notices: list[str] | None = None) -> BM25Index:
    """Load and clean the corpus, index it and save the index atomically."""
    loaded = load_corpus(corpus)
    for problem in loaded.problems:
        log.warning(problem)
        if notices is not None:
            notices.append(problem)
    index = BM25Index.build(loaded.documents, settings)
    index.manifest["corpus_files"] = corpus_files_fingerprint(corpus)
    index.manifest["corpus_path"] = str(corpus.resolve())
    index.save(folder)
    return index


def open_index(corpus: Path, folder: Path, settings: BuildSettings, notices: list[str] | None = None) -> BM25Index:
    """The saved index if it matches `settings` and the corpus as it is now; else a fresh one."""
    reason = ""
    if not (folder / "manifest.json").exists():
        reason = "no index yet"
    else:
        try:
            manifest = read_manifest(folder)
            if manifest.get("corpus_files") != corpus_files_fingerprint(corpus):
                reason = "the corpus changed"
            else:
                return BM25Index.load(folder, settings)
        except IndexError_ as err:
            reason = str(err)
    log.info("building the index for %s (%s)", corpus, reason)
    if notices is not None and reason != "no index yet":
        notices.append(f"Rebuilding the index: {reason}")
    return build_index(corpus, folder, settings, notices)
