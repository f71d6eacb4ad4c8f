"""A BERT extractive-QA model with random weights and a WordPiece tokenizer trained on given texts,
built locally (no download): the one builder behind the bench's AraBERT-shaped model, the probe and
the tests' tiny model."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

# Attention heads of BERT-base are 64 wide; smaller models keep that width where they can.
HEAD_SIZE = 64


def wordpiece_bert_qa(
    folder: Path,
    texts: Iterable[str],
    *,
    vocabulary: int,
    layers: int,
    hidden: int,
    min_frequency: int = 2,
    heads: int | None = None,
    intermediate: int | None = None,
    max_length: int | None = None,
    full_vocabulary: bool = False,
    seed: int = 0,
) -> tuple[Any, Any]:
    """Train a WordPiece vocabulary on `texts` and save its fast tokenizer to `folder`; return it with a
    freshly initialized (seeded) `BertForQuestionAnswering`, which the caller trains or saves.

    `heads` defaults to hidden / HEAD_SIZE, `intermediate` to 4 × hidden (BERT's ratios); `max_length`,
    when given, is the tokenizer's model_max_length and the least number of positions. With
    `full_vocabulary`, the embeddings have `vocabulary` rows even when the texts yield fewer pieces (a
    model measured for speed should have the real one's size).
    """
    import torch
    from tokenizers import BertWordPieceTokenizer
    from transformers import BertConfig, BertForQuestionAnswering, BertTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    wordpiece = BertWordPieceTokenizer(lowercase=False, strip_accents=False)
    wordpiece.train_from_iterator(texts, vocab_size=vocabulary, min_frequency=min_frequency, show_progress=False)
    wordpiece.save_model(str(folder))
    # `vocab=`: transformers 5 ignores `vocab_file=` here and leaves a five-token vocabulary.
    tokenizer = BertTokenizerFast(vocab=str(folder / "vocab.txt"), do_lower_case=False, strip_accents=False)
    if max_length is not None:
        tokenizer.model_max_length = max_length
    tokenizer.save_pretrained(folder)
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=max(vocabulary, tokenizer.vocab_size) if full_vocabulary else tokenizer.vocab_size,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads or max(1, hidden // HEAD_SIZE),
        intermediate_size=intermediate or 4 * hidden,
        max_position_embeddings=max(512, max_length or 0),
    )
    return tokenizer, BertForQuestionAnswering(config)
