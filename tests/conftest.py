"""Shared fixtures: the seed corpus, its index, and the ARCD files beside the checkout."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.corpus import Corpus, load_corpus
from retrieval.index import BM25Index

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SHARED = ROOT.parent / "shared"
ARCD_TRAIN = SHARED / "data" / "arcd" / "arcd-train.json"


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    return SEEDS


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
