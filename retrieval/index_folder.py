"""An index's folder: the files in it, what counts as a Sanad index, where one may be saved, and the
leftovers of builds that were killed (removed only when they hold nothing but index files)."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from pathlib import Path

from retrieval.locations import LocationError, ensure_writable_folder

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
PASSAGES = "passages.jsonl"
PASSAGE_OFFSETS = "passages.offsets.npy"
DOCUMENTS = "documents.jsonl"
DOCUMENT_OFFSETS = "documents.offsets.npy"
DOCUMENT_IDS = "documents.ids.json"
# Dense passage vectors (retrieval/dense.py), in passage order, and the hashes of the texts they embed.
VECTORS = "vectors.npy"
VECTOR_KEYS = "vectors.keys.npy"


def holds_index(folder: Path) -> bool:
    """Whether `folder` holds a Sanad index: a manifest as `save` writes it (the index may be damaged)."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text("utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and "format" in manifest and "corpus_fingerprint" in manifest


def check_index_location(target: Path) -> None:
    """LocationError unless an index may be saved at `target`, checked before any work is done.

    Allowed: nothing there, an empty folder, or a folder holding a Sanad index; and the folder
    around it must take new files (the index is staged there).
    """
    advice = "it was left untouched. Pass --index with a new folder or an existing Sanad index."
    if target.exists() or target.is_symlink():
        if not target.is_dir():
            raise LocationError(f"{target} is a file, not an index folder; {advice}")
        try:
            empty = next(target.iterdir(), None) is None
        except OSError as err:
            raise LocationError(f"Cannot read {target} ({err.strerror or err}); {advice}") from None
        if not empty and not holds_index(target):
            raise LocationError(f"{target} is not empty and holds no Sanad index (no {MANIFEST} as Sanad writes it); {advice}")
    ensure_writable_folder(target.parent, f"the index {target}", "--index")


def remove_stale_staging(target: Path) -> list[Path]:
    """Remove the staging and retired folders that killed builds of `target` left beside it.

    Such a folder is named `.<target>.build-<pid>-…` or `.<target>.old-<pid>-…` (or, from older
    versions, `.<target>.<8 characters>` and `.<target>.old-<pid>`); it is removed only if the process
    that made it is gone and it holds nothing but index files.
    """
    removed = []
    prefix = f".{target.name}."
    try:
        siblings = [p for p in target.parent.iterdir() if p.name.startswith(prefix)]
    except OSError:
        return removed
    for path in siblings:
        match = _LEFTOVER.fullmatch(path.name[len(prefix) :])
        if match is None or path.is_symlink() or not path.is_dir():
            continue
        pid = match.group("pid")
        if pid is not None and (int(pid) == os.getpid() or _process_alive(int(pid))):
            continue
        try:
            if not all(entry.is_file() and _is_index_file(entry.name) for entry in path.iterdir()):
                continue
            shutil.rmtree(path)
        except OSError as err:
            log.warning("could not remove the leftover staging folder %s: %s", path, err)
            continue
        log.info("removed %s, left by an interrupted build", path)
        removed.append(path)
    return removed


STAGING = "build"  # .<index>.build-<pid>-…: a build in progress
RETIRED = "old"  # .<index>.old-<pid>-…: the index a build replaced, until it is removed
_LEFTOVER = re.compile(rf"(?:{STAGING}|{RETIRED})-(?P<pid>\d+)(?:-\w+)?|[a-z0-9_]{{8}}")
_OWN_FILES = frozenset(
    {MANIFEST, PASSAGES, PASSAGE_OFFSETS, DOCUMENTS, DOCUMENT_OFFSETS, DOCUMENT_IDS, VECTORS, VECTOR_KEYS}
)


def _is_index_file(name: str) -> bool:
    # bm25s names its files <part>.index.npy / <part>.index.json.
    return name in _OWN_FILES or name.endswith((".index.npy", ".index.json"))


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists but belongs to someone else
        return True
    return True
