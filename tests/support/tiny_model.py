"""A tiny BERT extractive-QA model and fast tokenizer, built locally for tests (no download)."""

from __future__ import annotations

from pathlib import Path


def build_tiny_qa_model(folder: Path, texts: list[str], seed: int = 0) -> Path:
    """Train a WordPiece vocabulary on `texts`, make a 2-layer BERT QA model, save both to `folder`."""
    import torch
    from tokenizers import BertWordPieceTokenizer
    from transformers import BertConfig, BertForQuestionAnswering, BertTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    wordpiece = BertWordPieceTokenizer(lowercase=False, strip_accents=False)
    wordpiece.train_from_iterator(texts, vocab_size=800, min_frequency=1, show_progress=False)
    wordpiece.save_model(str(folder))
    # `vocab=`: transformers 5 ignores `vocab_file=` here and leaves a five-token vocabulary.
    tokenizer = BertTokenizerFast(vocab=str(folder / "vocab.txt"), do_lower_case=False, strip_accents=False)
    tokenizer.save_pretrained(folder)

    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
    )
    BertForQuestionAnswering(config).save_pretrained(folder)
    return folder
