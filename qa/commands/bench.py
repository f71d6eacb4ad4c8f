"""`sanad bench retrieval|reader|e2e`: speed figures on a synthetic Arabic corpus and locally built models."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


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

    e2e = _bench(benches, "e2e", "the whole pipeline with the embedded reader", _run_e2e)
    e2e.add_argument("--passages", type=int, default=100_000, help="corpus size (default: 100000)")
    e2e.add_argument("--queries", type=int, default=200, help="questions (default: 200)")


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


def _run_retrieval(args: argparse.Namespace) -> int:
    from qa.bench.retrieval import bench_retrieval

    return _emit(bench_retrieval(args.passages, args.queries, args.workdir), args.json)


def _run_reader(args: argparse.Namespace) -> int:
    from qa.bench.reader import bench_reader

    result = bench_reader(args.passages, args.questions, args.layers, args.workdir, args.hidden, args.vocabulary)
    return _emit(result, args.json)


def _run_e2e(args: argparse.Namespace) -> int:
    from qa.bench.e2e import bench_e2e

    return _emit(bench_e2e(args.passages, args.queries, args.workdir), args.json)


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
