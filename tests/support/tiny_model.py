"""A tiny BERT extractive-QA model and fast tokenizer, built locally for tests (no download)."""

from __future__ import annotations

from pathlib import Path

from qa.bench.bert import wordpiece_bert_qa


def build_tiny_qa_model(folder: Path, texts: list[str], seed: int = 0) -> Path:
    """Train a WordPiece vocabulary on `texts`, make a 2-layer BERT QA model, save both to `folder`."""
    _, model = wordpiece_bert_qa(
        folder, texts, vocabulary=800, min_frequency=1, layers=2, hidden=32, heads=2, intermediate=64, seed=seed
    )
    model.save_pretrained(folder)
    return folder
