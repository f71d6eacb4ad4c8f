"""The embedded reader's model: linear span scores, Platt-calibrated to a probability, stored as JSON.

JSON rather than pickle: the artifact ships inside the package and loading it runs no code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from qa.readers.features import Candidates, feature_names
from retrieval.atomic import write_atomic

ARTIFACT_NAME = "embedded_reader.json"
FORMAT_VERSION = 1


class ModelError(RuntimeError):
    """The artifact is missing or was built for other features: rerun `sanad train-reader`."""


@dataclass(frozen=True)
class SpanModel:
    """Weights over `feature_names()`; `probability` maps a span's linear score to P(span is right)."""

    weights: np.ndarray
    bias: float
    calibration: tuple[float, float]  # (slope, intercept) applied to the linear score
    meta: dict

    def linear_scores(self, cands: Candidates, kind: str) -> np.ndarray:
        """Linear scores of candidates for a question of `kind` (higher is better)."""
        return cands.linear_scores(kind, self.weights, self.bias)

    def probability(self, linear: np.ndarray) -> np.ndarray:
        slope, intercept = self.calibration
        return 1.0 / (1.0 + np.exp(-(slope * linear + intercept)))

    def to_json(self) -> dict:
        return {
            "format": FORMAT_VERSION,
            "features": feature_names(),
            "weights": [round(float(w), 6) for w in self.weights],
            "bias": float(self.bias),
            "calibration": list(self.calibration),
            "meta": self.meta,
        }

    def save(self, path: Path) -> None:
        """Write atomically: a reader loading concurrently sees the old file or the new one, never half."""
        write_atomic(path, json.dumps(self.to_json(), ensure_ascii=False, indent=0))


def load_model(path: Path | None = None) -> SpanModel:
    """The model at `path`, or the one shipped in the package (cached after the first load)."""
    if path is None:
        return _shipped_model()
    return _parse(Path(path).read_text(encoding="utf-8"), str(path))


def shipped_artifact() -> Path:
    return Path(str(resources.files("qa").joinpath("data", ARTIFACT_NAME)))


@lru_cache(maxsize=1)
def _shipped_model() -> SpanModel:
    path = shipped_artifact()
    if not path.is_file():
        raise ModelError(f"the embedded reader's model {path} is missing; run `sanad train-reader` to build it")
    return _parse(path.read_text(encoding="utf-8"), str(path))


def _parse(text: str, where: str) -> SpanModel:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ModelError(f"{where} is not valid JSON ({err}); run `sanad train-reader` to rebuild it") from err
    if not isinstance(data, dict) or data.get("format") != FORMAT_VERSION or data.get("features") != feature_names():
        raise ModelError(f"{where} was built for other reader features; run `sanad train-reader` to rebuild it")
    try:
        slope, intercept = data["calibration"]
        return SpanModel(
            weights=np.asarray(data["weights"], dtype=np.float32),
            bias=float(data["bias"]),
            calibration=(float(slope), float(intercept)),
            meta=data.get("meta", {}),
        )
    except (KeyError, TypeError, ValueError) as err:
        raise ModelError(f"{where} is incomplete ({err!r}); run `sanad train-reader` to rebuild it") from err
