"""Write a run's files: predictions.jsonl, report.md and the two plots, each one atomically."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from qa.evaluation.plots import latency_png, reliability_png
from qa.evaluation.run import Prediction
from qa.evaluation.summary import Summary
from qa.evaluation.sweep import ThresholdSweep
from retrieval.atomic import write_atomic

PREDICTIONS = "predictions.jsonl"
REPORT = "report.md"
RELIABILITY = "reliability.png"
LATENCY = "latency.png"
WORST = 10


def write_outputs(
    folder: str | Path,
    predictions: Sequence[Prediction],
    summary: Summary,
    gold_name: str,
    sweep: ThresholdSweep | None = None,
) -> list[Path]:
    """Every output file of a run in `folder` (created if missing); returns their paths."""
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    lines = "".join(json.dumps(p.to_dict(), ensure_ascii=False) + "\n" for p in predictions)
    files = {
        PREDICTIONS: lines.encode("utf-8"),
        REPORT: render_report(predictions, summary, gold_name, sweep).encode("utf-8"),
        RELIABILITY: reliability_png(predictions),
        LATENCY: latency_png(predictions),
    }
    for name, data in files.items():
        write_atomic(target / name, data)
    return [target / name for name in files]


def worst_failures(predictions: Sequence[Prediction], n: int = WORST) -> list[Prediction]:
    """Lowest F1 first; among equals, the most confident first (a confident wrong answer hurts most)."""
    failed = [p for p in predictions if p.f1 < 100]
    failed.sort(key=lambda p: (p.f1, -p.score if p.prediction is not None else 0.0, p.id))
    return failed[:n]


def render_report(
    predictions: Sequence[Prediction], summary: Summary, gold_name: str, sweep: ThresholdSweep | None = None
) -> str:
    out = [f"# Evaluation: {gold_name}", "", "| metric | value |", "| --- | --- |"]
    out += [f"| {name} | {value} |" for name, value in summary.rows()]
    if sweep is not None:
        out += ["", f"Threshold sweep: best {sweep.best.threshold:.4f} gives F1 {sweep.best.f1:.2f} "
                f"(current {sweep.current.threshold:g}: F1 {sweep.current.f1:.2f})."]  # fmt: skip
    out += ["", "Plots: `reliability.png` (score against correctness), `latency.png`.", "", f"## {WORST} worst failures", ""]
    failures = worst_failures(predictions)
    if not failures:
        out.append("None: every question scored F1 100.")
    for p in failures:
        out += [
            f"### {p.id}: F1 {p.f1:.1f}, score {p.score:.3f}, gold document rank {p.gold_rank or '-'}",
            "",
            f"- question: {p.question}",
            f"- gold: {' | '.join(p.gold) if p.gold else '(no answer in the corpus)'}",
            f"- predicted: {p.prediction if p.prediction is not None else '(no answer)'}"
            + (f" (best candidate below threshold: {p.candidate})" if p.prediction is None and p.candidate else ""),
            f"- predicted from: {p.predicted_doc_id or '-'}; gold document: {p.doc_id or '-'}",
        ]
        if p.error:
            out.append(f"- error: {p.error}")
        if p.passage:
            out += ["", "  passage read:", "", _quote(p.passage)]
        if p.gold_passage and p.gold_passage != p.passage:
            out += ["", "  passage with the gold answer:", "", _quote(p.gold_passage)]
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _quote(text: str) -> str:
    return "\n".join(f"  > {line}" for line in text.splitlines() if line.strip())

