"""`sanad index`: build (or rebuild) the BM25 index of a corpus, and its dense vectors unless --retrieval bm25."""

from __future__ import annotations

import argparse
import sys
import time

from qa.commands.common import add_corpus_options, print_notices, settings_from
from qa.pipeline import build_settings, vector_build
from retrieval.store import build_index


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("index", help="build the passage index | بناء الفهرس")
    add_corpus_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    notices: list[str] = []
    started = time.perf_counter()
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
