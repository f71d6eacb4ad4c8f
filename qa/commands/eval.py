"""`sanad eval --gold FILE`: score the pipeline or the reader against a gold question set."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from qa.commands.common import add_corpus_options, add_reader_options, print_notices, settings_from
from qa.evaluation.evaluate import EVAL_MODES, evaluate
from qa.evaluation.gold import GOLD_FORMATS, load_gold
from qa.evaluation.summary import Summary
from qa.evaluation.sweep import sweep_threshold
from qa.extras import require
from retrieval.locations import ensure_writable_folder

# Exit code when a quality floor (--min-*) is not met; a gold file to fix (GoldError) exits 2, through the CLI.
EXIT_BELOW_FLOOR = 3


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("eval", help="score against a gold question set | قيّم على مجموعة أسئلة مرجعية")
    parser.add_argument("--gold", type=Path, required=True, help="gold questions (JSON Lines, or SQuAD with --format squad)")
    parser.add_argument("--format", choices=GOLD_FORMATS, default="jsonl", help="gold file format (default: jsonl)")
    parser.add_argument("--mode", choices=EVAL_MODES, default="pipeline",
                        help="pipeline: retrieve then read; reader: read the gold document only")  # fmt: skip
    add_corpus_options(parser)
    add_reader_options(parser)
    parser.add_argument("--threshold", type=float, help="no-answer threshold (default: SANAD_NO_ANSWER_THRESHOLD; 0 for a gold set with no unanswerable question)")
    parser.add_argument("--out", type=Path, help="write predictions.jsonl, report.md and PNG plots here")
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    parser.add_argument("--sweep-threshold", action="store_true", help="find the no-answer threshold with the best F1")
    parser.add_argument("--min-f1", type=float, help="exit 3 if F1 (0-100) is below this (a CI floor)")
    parser.add_argument("--min-recall-at-5", type=float, dest="min_recall_at_5",
                        help="exit 3 if recall@5 (0-1) is below this (a CI floor)")  # fmt: skip
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.out is not None:  # before the evaluation, which may take long, not after it
        require("matplotlib", "eval-plots")
        ensure_writable_folder(args.out, "the evaluation outputs", "--out")
    gold = load_gold(args.gold, args.format)
    threshold = args.threshold
    if threshold is None and not gold.has_unanswerable:
        # SQuAD v1.1 (ARCD, XQuAD) has no unanswerable question: abstaining can only lose points there,
        # so such a set is scored as such sets are everywhere, always answering.
        threshold = 0.0
    settings = settings_from(args, {"no_answer_threshold": ("--threshold", threshold)})
    notices: list[str] = list(gold.problems)
    try:
        result = evaluate(gold, settings, args.mode, notices)
    finally:
        print_notices(notices)
    sweep = sweep_threshold(result.predictions) if args.sweep_threshold else None
    summary = result.summary.to_dict()
    if sweep is not None:
        summary["threshold_sweep"] = sweep.to_dict()
    if args.out is not None:
        from qa.evaluation.report import write_outputs

        written = write_outputs(args.out, result.predictions, result.summary, args.gold.name, sweep)
        print(f"sanad eval: wrote {', '.join(str(p) for p in written)}", file=sys.stderr)
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
    else:
        print(_table(result.summary))
        if sweep is not None:
            print(
                f"best no-answer threshold: {sweep.best.threshold:.4f} → F1 {sweep.best.f1:.2f} "
                f"(current {sweep.current.threshold:g} → F1 {sweep.current.f1:.2f})"
            )
    return _check_floors(args, summary)


def _check_floors(args: argparse.Namespace, summary: dict) -> int:
    failures = []
    if args.min_f1 is not None and summary["f1"] < args.min_f1:
        failures.append(f"F1 {summary['f1']:.2f} is below the floor {args.min_f1:g}")
    if args.min_recall_at_5 is not None:
        recall = summary["recall_at_k"]["5"]
        if recall is None:
            failures.append("recall@5 is not measured in reader mode; use --mode pipeline with --min-recall-at-5")
        elif recall < args.min_recall_at_5:
            failures.append(f"recall@5 {recall:.4f} is below the floor {args.min_recall_at_5:g}")
    for failure in failures:
        print(f"sanad eval: {failure}", file=sys.stderr)
    return EXIT_BELOW_FLOOR if failures else 0



def _table(summary: Summary) -> str:
    rows = summary.rows()
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name.ljust(width)}  {value}" for name, value in rows)
