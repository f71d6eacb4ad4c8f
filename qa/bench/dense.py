"""Dense vectors for the benchmarks: the engine's measured throughput, and stand-in vectors for the rest.

Embedding a synthetic 100k or 1M passage corpus would take hours here, so a sample is embedded to
measure passages/s (and the build time is projected from it, said so in the output), and the index
gets random unit vectors: search cost, disk and memory depend on the count and shape, not the values.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from retrieval.dense import DIMENSION, DTYPE, Embedder
from retrieval.types import Passage

# Passages actually embedded to measure throughput.
EMBED_SAMPLE = 32
SEED = 20240602


def embedding_throughput(passages: Sequence[Passage], embedder: Embedder, sample: int = EMBED_SAMPLE) -> dict[str, Any]:
    """Passages/s of the real engine over the first `sample` passages, and the projection for all."""
    texts = [p.text for p in passages[:sample]]
    embedder.passages(texts[:2])  # load the engine outside the timing
    started = time.perf_counter()
    embedder.passages(texts)
    rate = len(texts) / max(time.perf_counter() - started, 1e-9)
    return {
        "embedded_sample": len(texts),
        "engine_threads": embedder.threads,
        "passages_per_second": round(rate, 2),
        "embedding_seconds_projected": round(len(passages) / rate, 1),
        "note": f"embedding measured on {len(texts)} passages and projected to {len(passages)}; "
        "the index holds random unit vectors of the same shape",
    }


def random_vectors(n: int, seed: int = SEED) -> np.ndarray:
    """`n` random unit vectors (DTYPE), made in blocks to bound the float32 memory held at once."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, DIMENSION), dtype=DTYPE)
    for first in range(0, n, 100_000):
        block = rng.standard_normal((min(100_000, n - first), DIMENSION), dtype=np.float32)
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        out[first : first + len(block)] = block
    return out
