"""`sanad train-reader`: rebuild the embedded reader's model from ARCD train (fixed seed)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from qa.commands.common import UsageError
from qa.config import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("train-reader", help="train the embedded reader | درّب القارئ المدمج")
    parser.add_argument("--train", type=Path,
                        help="SQuAD-format training file (default: arcd/arcd-train.json in SANAD_DATASETS)")
    # Required: the model inside the installed package is replaced only by asking for it by path.
    parser.add_argument("--out", type=Path, required=True,
                        help="where to write the model (the shipped one: qa/data/ in a checkout)")
    parser.add_argument("--seed", type=int, help="random seed (default: the shipped model's)")
    parser.add_argument("--json", action="store_true", help="print a JSON summary")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from qa.extras import require

    for module in ("scipy", "sklearn", "threadpoolctl"):
        require(module, "train")
    from qa.readers.train import SEED, evaluate, fit, load_squad

    train_file = args.train or Settings().datasets / "arcd" / "arcd-train.json"
    if not train_file.is_file():
        raise UsageError(f"training file {train_file} not found; pass --train PATH (ARCD train, SQuAD format)")
    examples = load_squad(train_file)
    model = fit(examples, seed=SEED if args.seed is None else args.seed)
    out = args.out
    model.save(out)
    summary = {"out": str(out), "train": evaluate(model, examples), **model.meta}
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
    else:
        print(f"wrote {out} ({out.stat().st_size // 1024} KB) in {model.meta['seconds']} s; "
              f"train EM {summary['train']['em']:.1f} F1 {summary['train']['f1']:.1f}")
    return 0
