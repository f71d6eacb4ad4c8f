"""The `sanad` command line: index, ask, repl, and the commands plugged in by other packages."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from importlib import import_module
from importlib.metadata import entry_points

from qa.commands.common import Parser, UsageError, configure_logging, report_error
from qa.config import SettingsError
from qa.evaluation.gold import GoldError
from qa.extras import MissingExtraError
from qa.question import QuestionError
from qa.readers.span_model import ModelError
from qa.readers.transformers_reader import ReaderLoadError
from retrieval.corpus import CorpusError
from retrieval.index import IndexUnusable
from retrieval.locations import LocationError

log = logging.getLogger("sanad")

# Subcommands of this package, in help order. Front ends outside qa (the Telegram bot) register
# through the "sanad.commands" entry point group, since qa must not import them.
_COMMANDS = (
    "qa.commands.index",
    "qa.commands.ask",
    "qa.commands.repl",
    "qa.commands.train_reader",
    "qa.commands.train_neural",
    "qa.commands.eval",
    "qa.commands.bench",
    "qa.commands.feedback",
)

# What a user can get wrong, or the machine cannot do now: (exception, its "kind" under --json, exit code).
# 2: fix the command line, a setting, the question or a file; 1: the corpus, the index or the model hub.
_FAILURES: tuple[tuple[type[Exception], str, int], ...] = (
    (QuestionError, "question", 2),
    (UsageError, "usage", 2),
    (MissingExtraError, "extra", 2),
    (SettingsError, "setting", 2),
    (LocationError, "location", 2),
    (GoldError, "gold", 2),
    (ModelError, "model", 2),
    (CorpusError, "corpus", 1),
    (IndexUnusable, "index", 1),
    (ReaderLoadError, "reader", 1),
)


def failure_of(err: Exception) -> tuple[str, int] | None:
    """The --json "kind" and exit code of a failure a user can act on; None for a bug."""
    for kind_of, kind, code in _FAILURES:
        if isinstance(err, kind_of):
            return kind, code
    return None


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="sanad",
        description="Sanad (سند): cited answers to Arabic questions over a corpus | إجابات موثقة عن أسئلة عربية",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _COMMANDS:
        import_module(module).register(subparsers)
    for plugin in entry_points(group="sanad.commands"):
        try:
            register = plugin.load()
        except ImportError as err:  # a front end whose extra dependencies are missing
            log.warning("command %r unavailable: %s", plugin.name, err)
            continue
        register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    args: argparse.Namespace | None = None
    try:
        args = parser.parse_args(argv)
        configure_logging(args.verbose)
        if args.command is None:
            args = parser.parse_args(["repl", *argv])
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `sanad ask … | head`: the reader of our output left, which is no error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so that exit's flush stays quiet
        return 141
    except Exception as err:
        failure = failure_of(err)
        if failure is None:
            raise  # a bug, not a mistake: its traceback is what a report needs
        kind, code = failure
        as_json = bool(getattr(args, "json", False)) if args is not None else "--json" in argv
        if isinstance(err, QuestionError):  # its message is the Arabic one, for the person who asked
            return report_error("", err.message_ar, kind, code, as_json)
        prog = f"sanad {args.command}" if args is not None and args.command else "sanad"
        return report_error(prog, str(err), kind, code, as_json)


if __name__ == "__main__":
    sys.exit(main())
