"""Options and helpers shared by the subcommands."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from qa.config import Settings


def add_corpus_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--corpus", type=Path, help="folder of .txt/.jsonl articles (default: seeds/) | مجلد المقالات")
    parser.add_argument("--index", type=Path, help="index folder (default: a cache folder per corpus) | مجلد الفهرس")


def add_reader_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--reader", choices=["auto", "transformers", "embedded"], help="which reader (default: auto)")
    parser.add_argument("--model", help="Hugging Face QA checkpoint id or local path | نموذج القراءة")
    parser.add_argument("--top-k", type=int, dest="top_k", help="passages to read per question (default: 5)")


def settings_from(args: argparse.Namespace) -> Settings:
    """Environment/.env settings with the command-line flags that were given laid over them."""
    overrides = {
        key: value
        for key in ("corpus", "index", "reader", "model", "top_k")
        if (value := getattr(args, key, None)) is not None
    }
    return Settings(**overrides)


def configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # httpx logs every request URL at INFO, and a Bot API URL contains the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    # bm25s sets its own logger to DEBUG at import, which would print build steps on every rebuild.
    logging.getLogger("bm25s").setLevel(logging.INFO if verbose else logging.WARNING)


def print_notices(notices: list[str]) -> None:
    for notice in notices:
        print(f"sanad: {notice}", file=sys.stderr)
