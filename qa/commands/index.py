"""`sanad index`: build (or rebuild) the BM25 index of a corpus, and its dense vectors unless --retrieval bm25."""

from __future__ import annotations

import argparse
import sys
import time

from qa.commands.common import UsageError, add_corpus_options, print_notices, settings_from
from qa.config import Settings
from qa.pipeline import build_settings, vector_build
from retrieval.shards import ShardingError, build_sharded_index, sharded_index_dir
from retrieval.store import build_index


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("index", help="build the passage index | بناء الفهرس")
    add_corpus_options(parser)
    parser.add_argument("--shards", type=int, help="split the corpus by document into N shards, each an index, "
                        "scored as one (for `sanad serve --ray`) | عدد أجزاء الفهرس")  # fmt: skip
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    notices: list[str] = []
    started = time.perf_counter()
    if args.shards is not None:
        return _run_sharded(args.shards, settings, notices, started)
    try:
        index = build_index(
            settings.corpus, settings.index_dir(), build_settings(settings), notices, settings.corpus_named(),
            vector_build(settings),
        )  # fmt: skip
    except KeyboardInterrupt:
        print_notices(notices)
        print(
            "sanad index: interrupted. The passages embedded so far are kept: run `sanad index` again to resume "
            "(if the BM25 index was saved before the interruption, it answers meanwhile).",
            file=sys.stderr,
        )
        return 130
    print_notices(notices)
    seconds = time.perf_counter() - started
    vectors = " with dense vectors" if index.vectors is not None else ""
    print(
        f"Indexed {len(index.documents)} documents, {len(index.passages)} passages{vectors} "
        f"from {index.manifest['corpus_path']} in {seconds:.2f} s → {settings.index_dir()}"
    )
    return 0


def _run_sharded(n_shards: int, settings: Settings, notices: list[str], started: float) -> int:
    folder = sharded_index_dir(settings.index_dir(), settings.index is not None)
    try:
        manifest = build_sharded_index(
            settings.corpus, folder, build_settings(settings), n_shards, notices, vector_build(settings)
        )  # fmt: skip
    except ShardingError as err:
        raise UsageError(f"--shards: {err}") from None
    print_notices(notices)
    print(
        f"Indexed {manifest['documents']} documents, {manifest['passages']} passages in {n_shards} shards "
        f"({', '.join(map(str, manifest['passages_per_shard']))} passages) from {manifest['corpus_path']} "
        f"in {time.perf_counter() - started:.2f} s → {folder}"
    )
    return 0
