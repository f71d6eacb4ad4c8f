"""`sanad bench retrieval|reader|e2e|serve|scale`: speed figures on a synthetic Arabic corpus and locally built models."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from qa.commands.common import UsageError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("bench", help="speed benchmarks | قياس السرعة")
    benches = parser.add_subparsers(dest="bench", metavar="BENCH", required=True)

    retrieval = _bench(benches, "retrieval", "BM25 index build, load and query, beside rank_bm25", _run_retrieval)
    retrieval.add_argument(
        "--passages", type=_sizes, default=[10_000, 100_000], help="corpus sizes, e.g. 100000,1000000"
    )
    retrieval.add_argument("--queries", type=int, default=200, help="questions per size (default: 200)")

    reader = _bench(benches, "reader", "AraBERT-base-shaped reader: torch fp32 vs the optimized path", _run_reader)
    reader.add_argument("--questions", type=int, default=30, help="questions per passage count (default: 30)")
    reader.add_argument("--passages", type=_sizes, default=[3, 5], help="passages per question (default: 3,5)")
    reader.add_argument("--layers", type=int, default=12, help="transformer layers (default: 12, as AraBERT-base)")
    reader.add_argument("--hidden", type=int, default=768, help="hidden size (default: 768, as AraBERT-base)")
    reader.add_argument("--vocabulary", type=int, default=64_000, help="vocabulary (default: 64000, as AraBERT)")
    reader.add_argument(
        "--trained-model", type=Path, metavar="PATH",
        help="also measure span agreement and speed on this local QA checkpoint over ARCD test questions "
        "(gold paragraph given), e.g. one made by `sanad bench train-probe-model`",
    )
    reader.add_argument("--trained-questions", type=int, help="ARCD test questions for --trained-model and --neural-model (default: all)")
    reader.add_argument(
        "--neural-model", type=Path, metavar="PATH",
        help="the neural reader's fp32 model (the `model` folder `sanad train-neural` writes): measured beside "
        "the shipped int8 reader over ARCD test questions (gold paragraph given)",
    )
    reader.add_argument("--neural-reader", type=Path, metavar="DIR",
                        help="the int8 neural reader folder to compare (default: the shipped one)")
    reader.add_argument(
        "--only-trained", action="store_true",
        help="measure --trained-model / --neural-model only (skip the base-size random model)",
    )

    probe = _bench(
        benches, "train-probe-model", "train a small BERT QA model on ARCD from scratch (for bench reader)", _run_probe
    )
    probe.add_argument("--out", type=Path, required=True, help="folder for the checkpoint (outside the repository)")
    probe.add_argument("--minutes", type=float, default=11.0, help="training time budget (default: 11)")
    probe.add_argument("--layers", type=int, default=4, help="transformer layers (default: 4)")
    probe.add_argument("--hidden", type=int, default=256, help="hidden size (default: 256)")
    probe.add_argument("--max-length", type=int, default=256, help="window length in tokens (default: 256)")
    probe.add_argument("--vocabulary", type=int, default=16_000, help="WordPiece vocabulary (default: 16000)")
    probe.add_argument("--epochs", type=int, default=60, help="at most this many epochs (default: 60)")
    probe.add_argument("--train-limit", type=int, help="first N training questions only (smoke tests)")
    probe.add_argument("--test-limit", type=int, help="first N test questions only (smoke tests)")

    e2e = _bench(benches, "e2e", "the whole pipeline with the embedded reader", _run_e2e)
    e2e.add_argument("--passages", type=int, default=100_000, help="corpus size (default: 100000)")
    e2e.add_argument("--queries", type=int, default=200, help="questions (default: 200)")

    serve = _bench(benches, "serve", "concurrent HTTP clients against `sanad serve` on loopback", _run_serve)
    serve.add_argument("--clients", type=_sizes, default=[1, 8, 32], help="client counts (default: 1,8,32)")
    serve.add_argument("--seconds", type=float, default=30.0, help="seconds per client count (default: 30)")
    serve.add_argument("--readers", type=_readers, default=["embedded", "neural"],
                       help="readers, one server each (default: embedded,neural)")  # fmt: skip
    serve.add_argument("--corpus", type=Path, help="folder of articles (default: seeds/)")
    serve.add_argument("--gold", type=Path, help="the questions to ask, JSON Lines gold (default: seeds/gold.jsonl)")

    scale = _bench(benches, "scale", "`sanad serve` beside `sanad serve --ray` with 1-2 shards and readers", _run_scale)
    scale.add_argument("--passages", type=int, default=1_000_000, help="synthetic passages (default: 1000000)")
    scale.add_argument("--seconds", type=float, default=30.0, help="seconds per layout (default: 30)")
    scale.add_argument("--clients", type=int, default=8, help="concurrent clients (default: 8)")
    scale.add_argument("--reader", type=_readers, default=["embedded"], help="the reader (default: embedded)")
    scale.add_argument("--layouts", type=_layouts, default=["single", "1x1", "2x1", "1x2", "2x2"],
                       help="single (`sanad serve`) or SHARDSxREADERS, comma-separated (default: single,1x1,2x1,1x2,2x2)")  # fmt: skip


def _bench(benches: argparse._SubParsersAction, name: str, help: str, run: Any) -> argparse.ArgumentParser:
    parser = benches.add_parser(name, help=help)
    parser.add_argument("--workdir", type=Path, help="where to build indexes and models (default: the temp folder)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run)
    return parser


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, e.g. 1000,100000; got {text!r}")
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError("sizes must be positive numbers")
    return sizes


def _readers(text: str) -> list[str]:
    from qa.readers.factory import READER_KINDS

    readers = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [r for r in readers if r not in READER_KINDS]
    if not readers or unknown:
        raise argparse.ArgumentTypeError(f"expected readers among {', '.join(READER_KINDS)}, comma-separated; got {text!r}")
    return readers


def _run_retrieval(args: argparse.Namespace) -> int:
    from qa.bench.retrieval import bench_retrieval

    return _emit(bench_retrieval(args.passages, args.queries, args.workdir), args.json)


def _run_reader(args: argparse.Namespace) -> int:
    from qa.bench.reader import bench_reader

    if args.only_trained and not (args.trained_model or args.neural_model):
        raise UsageError("--only-trained needs --trained-model PATH or --neural-model PATH")
    result = bench_reader(
        args.passages, args.questions, args.layers, args.workdir, args.hidden, args.vocabulary,
        trained_model=args.trained_model, trained_questions=args.trained_questions, only_trained=args.only_trained,
        neural_model=args.neural_model, neural_reader=args.neural_reader,
    )
    return _emit(result, args.json)


def _run_probe(args: argparse.Namespace) -> int:
    from qa.bench.probe import train_probe_model

    result = train_probe_model(
        args.out, args.minutes, args.layers, args.hidden, args.max_length, args.vocabulary, args.epochs,
        train_limit=args.train_limit, test_limit=args.test_limit,
    )
    return _emit(result, args.json)


def _run_e2e(args: argparse.Namespace) -> int:
    from qa.bench.e2e import bench_e2e

    return _emit(bench_e2e(args.passages, args.queries, args.workdir), args.json)


def _run_serve(args: argparse.Namespace) -> int:
    from importlib.util import find_spec

    from qa.bench.serve import bench_serve
    from qa.config import default_corpus

    if find_spec("fastapi") is None or find_spec("uvicorn") is None:
        raise UsageError("sanad bench serve needs the serve extra: pip install 'sanad-qa[serve]'")
    if args.seconds <= 0:
        raise UsageError("--seconds must be above 0")
    corpus = args.corpus or default_corpus()
    result = bench_serve(args.clients, args.seconds, args.readers, corpus, args.gold or corpus / "gold.jsonl", args.workdir)
    _emit(result, args.json)
    # 3, as `sanad eval` below a floor: the figures are printed, and a request went without its one good response.
    return 0 if result["every_request_one_well_formed_response"] else 3


def _run_scale(args: argparse.Namespace) -> int:
    from importlib.util import find_spec

    from qa.bench.scale import bench_scale

    if find_spec("ray") is None or find_spec("fastapi") is None:
        raise UsageError("sanad bench scale needs the scale extra: pip install 'sanad-qa[scale]'")
    if args.seconds <= 0 or args.clients < 1 or args.passages < 10 or len(args.reader) != 1:
        raise UsageError("--seconds must be above 0, --clients at least 1, --passages at least 10, one --reader")
    result = bench_scale(args.passages, args.seconds, args.clients, args.reader[0], args.layouts, args.workdir)
    _emit(result, args.json)
    return 0 if result["every_request_one_well_formed_response"] else 3


def _layouts(text: str) -> list[str]:
    from qa.bench.scale import parse_layout

    layouts = [part.strip() for part in text.split(",") if part.strip()]
    try:
        for layout in layouts:
            parse_layout(layout)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    if not layouts:
        raise argparse.ArgumentTypeError("name at least one layout")
    return layouts


def _emit(result: dict[str, Any], as_json: bool) -> int:
    if as_json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        _print_tree(result)
    return 0


def _print_tree(value: Any, indent: str = "") -> None:
    """Nested figures as an indented list: readable without a JSON viewer."""
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        if isinstance(item, dict | list) and item and not all(isinstance(x, int | float) for x in item):
            print(f"{indent}{key}:")
            _print_tree(item, indent + "  ")
        else:
            print(f"{indent}{key}: {item}")
