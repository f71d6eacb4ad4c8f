"""Options and helpers shared by the subcommands."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, get_args

from qa.config import ReaderKind, Settings, load_settings
from qa.pipeline import Pipeline
from retrieval.hybrid import RETRIEVAL_MODES

# The settings that the shared options (add_corpus_options, add_reader_options) set.
_OPTION_SETTINGS = ("corpus", "index", "reader", "model", "top_k", "retrieval")


class UsageError(Exception):
    """A command line that cannot run as given (a flag's value, a missing or conflicting flag)."""


class Parser(argparse.ArgumentParser):
    """argparse with its errors raised as UsageError: one line (as JSON under --json), not usage and exit."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def add_corpus_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--corpus", type=Path, help="folder of .txt/.jsonl articles (default: seeds/) | مجلد المقالات")
    parser.add_argument("--index", type=Path, help="index folder (default: a cache folder per corpus) | مجلد الفهرس")
    parser.add_argument("--retrieval", choices=RETRIEVAL_MODES,
                        help="bm25, dense (multilingual-e5) or hybrid: both fused (default: hybrid, or SANAD_RETRIEVAL) | طريقة الاسترجاع")  # fmt: skip


def add_reader_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--reader", choices=get_args(ReaderKind), help="which reader (default: auto)")
    parser.add_argument("--model", help="Hugging Face QA checkpoint id or local path | نموذج القراءة")
    parser.add_argument("--top-k", type=int, dest="top_k", help="passages to read per question (default: 5)")


def settings_from(args: argparse.Namespace, more: Mapping[str, tuple[str, Any]] | None = None) -> Settings:
    """Environment/.env settings with the command-line flags that were given laid over them.

    `more` maps further settings to (flag, value) for a command's own flags; a value of None is not given.
    A bad value raises SettingsError naming the flag or the variable.
    """
    overrides = {key: value for key in _OPTION_SETTINGS if (value := getattr(args, key, None)) is not None}
    given, flags = flag_overrides(more or {})
    return load_settings(overrides | given, flags)


def flag_overrides(more: Mapping[str, tuple[str, Any]]) -> tuple[dict[str, Any], dict[str, str]]:
    """From settings mapped to (flag, value): the values given (not None), and the flag that gave each."""
    given = {key: value for key, (_, value) in more.items() if value is not None}
    return given, {key: flag for key, (flag, _) in more.items() if key in given}


def quiet_http_logs() -> None:
    """httpx logs every request URL at INFO, and a Bot API URL contains the token."""
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)


def configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    quiet_http_logs()
    # bm25s sets its own logger to DEBUG at import, which would print build steps on every rebuild.
    logging.getLogger("bm25s").setLevel(logging.INFO if verbose else logging.WARNING)


def print_notices(notices: list[str]) -> None:
    for notice in notices:
        print(f"sanad: {notice}", file=sys.stderr)


def open_pipeline(args: argparse.Namespace) -> tuple[Settings, Pipeline]:
    """The settings for `args` and their pipeline (index opened or built, reader made); notices printed."""
    settings = settings_from(args)
    notices: list[str] = []
    pipeline = Pipeline.from_settings(settings, notices)
    print_notices(notices)
    return settings, pipeline


def report_error(prog: str, message: str, kind: str, exit_code: int, as_json: bool) -> int:
    """Show a failure the user can act on: one line on stderr, or under --json one object on stdout.

    The --json shape, the same for every command: {"error": message, "kind": kind, "exit_code": code}.
    """
    if as_json:
        print(json.dumps({"error": message, "kind": kind, "exit_code": exit_code}, ensure_ascii=False))
    else:
        print(f"{prog}: {message}" if prog else message, file=sys.stderr)
    return exit_code
