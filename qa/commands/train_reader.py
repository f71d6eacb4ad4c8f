"""`sanad train-reader`: rebuild the embedded reader's model from ARCD train (fixed seed)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from qa.commands.common import UsageError
from qa.config import PROJECT_ROOT

DEFAULT_TRAIN = PROJECT_ROOT.parent / "shared" / "data" / "arcd" / "arcd-train.json"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("train-reader", help="train the embedded reader | درّب القارئ المدمج")
    parser.add_argument("--train", type=Path, default=DEFAULT_TRAIN, help="SQuAD-format training file (ARCD train)")
    parser.add_argument("--out", type=Path, help="where to write the model (default: the one shipped in the package)")
    parser.add_argument("--seed", type=int, help="random seed (default: the shipped model's)")
    parser.add_argument("--json", action="store_true", help="print a JSON summary")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from qa.extras import require
    from qa.readers.span_model import shipped_artifact

    for module in ("scipy", "sklearn", "threadpoolctl"):
        require(module, "train")
    from qa.readers.train import SEED, evaluate, fit, load_squad

    if not args.train.is_file():
        raise UsageError(f"training file {args.train} not found; pass --train PATH (ARCD train, SQuAD format)")
    examples = load_squad(args.train)
    model = fit(examples, seed=SEED if args.seed is None else args.seed)
    out = args.out or shipped_artifact()
    model.save(out)
    summary = {"out": str(out), "train": evaluate(model, examples), **model.meta}
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
    else:
        print(f"wrote {out} ({out.stat().st_size // 1024} KB) in {model.meta['seconds']} s; "
              f"train EM {summary['train']['em']:.1f} F1 {summary['train']['f1']:.1f}")
    return 0
