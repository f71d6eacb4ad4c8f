"""PNG plots of a run: a reliability diagram (score against correctness) and a latency histogram.

matplotlib is imported only here and only when a plot is drawn, with the headless Agg backend.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from qa.evaluation.run import Prediction

BINS = 10


def reliability_png(predictions: Sequence[Prediction]) -> bytes:
    """Mean correctness (candidate F1 / 100; 0 for any answer to an unanswerable question) per score bin."""
    plt = _pyplot()
    scored = [(p.score, p.candidate_f1 / 100 if p.answerable else 0.0) for p in predictions if p.candidate is not None]
    centers, means, counts = [], [], []
    for b in range(BINS):
        low, high = b / BINS, (b + 1) / BINS
        inside = [c for s, c in scored if low <= s < high or (b == BINS - 1 and s >= high)]
        if inside:
            centers.append((low + high) / 2)
            means.append(sum(inside) / len(inside))
            counts.append(len(inside))
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(6, 6.5), height_ratios=(3, 1), sharex=True)
    top.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
    top.bar(centers, means, width=1 / BINS * 0.9, alpha=0.75, label="mean F1 of the best candidate")
    if predictions:
        threshold = predictions[0].threshold
        top.axvline(threshold, color="crimson", linewidth=1, label=f"no-answer threshold {threshold:g}")
        bottom.axvline(threshold, color="crimson", linewidth=1)
    top.set_ylabel("correctness (F1 / 100)")
    top.set_ylim(0, 1)
    top.set_title("Reliability: answer score against correctness")
    top.legend(loc="upper left", fontsize=8)
    bottom.bar(centers, counts, width=1 / BINS * 0.9, color="slategray")
    bottom.set_xlabel("answer score")
    bottom.set_ylabel("questions")
    bottom.set_xlim(0, 1)
    return _png(fig)


def latency_png(predictions: Sequence[Prediction]) -> bytes:
    """Histogram of per-question latency in milliseconds."""
    plt = _pyplot()
    latencies = [p.latency_ms for p in predictions]
    fig, axes = plt.subplots(figsize=(6, 4))
    axes.hist(latencies, bins=min(30, max(5, len(latencies) // 3)), color="steelblue")
    axes.set_xlabel("latency per question (ms)")
    axes.set_ylabel("questions")
    axes.set_title(f"Latency ({len(latencies)} questions)")
    return _png(fig)


def _pyplot():
    from qa.extras import require

    matplotlib = require("matplotlib", "eval-plots")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=100)
    _pyplot().close(fig)
    return buffer.getvalue()
