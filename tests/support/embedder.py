"""A deterministic stand-in for the e5 engine, for tests of dense vectors (no engine, no threads)."""

from __future__ import annotations

import hashlib

import numpy as np

from retrieval.dense import DIMENSION

ENGLISH = "Who is the spokesman of the US State Department?"


class CountingEmbedder:
    """Deterministic stand-in for the engine: a vector from each text's hash; counts what it embeds."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.embedded: list[str] = []
        self.stop_after = stop_after

    def passages(self, texts: list[str]) -> np.ndarray:
        if self.stop_after is not None and len(self.embedded) >= self.stop_after:
            raise KeyboardInterrupt
        self.embedded.extend(texts)
        return np.stack([self.query(t) for t in texts])

    def query(self, text: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little")
        vector = np.random.default_rng(seed).standard_normal(DIMENSION).astype(np.float32)
        return vector / np.linalg.norm(vector)
