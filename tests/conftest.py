"""Shared fixtures: the seed corpus, its index, and ARCD train (from the datasets setting)."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.config import default_datasets
from retrieval.corpus import Corpus, load_corpus
from retrieval.index import BM25Index

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    return SEEDS


@pytest.fixture(scope="session")
def arcd_train() -> Path:
    """ARCD train where the datasets setting's default puts it; absent on a bare clone."""
    return default_datasets() / "arcd" / "arcd-train.json"


@pytest.fixture(scope="session")
def seed_corpus() -> Corpus:
    return load_corpus(SEEDS)


@pytest.fixture(scope="session")
def seed_index(seed_corpus: Corpus) -> BM25Index:
    return BM25Index.build(seed_corpus.documents)


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Indexes and model caches go to a temporary home, never the developer's."""
    home = tmp_path_factory.getbasetemp() / "home"
    home.mkdir(exist_ok=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("HF_HOME", str(home / "hf"))


@pytest.fixture
def read_only_dir(tmp_path: Path):
    """A folder on a read-only file system: a tmpfs mounted read-only (needs root and mount rights)."""
    import os
    import subprocess

    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("mounting a read-only tmpfs needs root")
    folder = tmp_path / "ro"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro", "tmpfs", str(folder)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a read-only tmpfs here: {mounted.stderr.strip() or mounted.returncode}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=False)
