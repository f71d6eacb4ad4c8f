"""The `sanad` command line: index, ask, repl, and the commands plugged in by other packages."""

from __future__ import annotations

import argparse
import logging
import sys
from importlib import import_module
from importlib.metadata import entry_points

from qa.commands.common import configure_logging
from qa.question import QuestionError
from qa.readers.transformers_reader import ReaderLoadError
from retrieval.corpus import CorpusError
from retrieval.index import IndexError_

log = logging.getLogger("sanad")

# Subcommands of this package, in help order. Front ends outside qa (the Telegram bot) register
# through the "sanad.commands" entry point group, since qa must not import them.
_COMMANDS = (
    "qa.commands.index",
    "qa.commands.ask",
    "qa.commands.repl",
    "qa.commands.train_reader",
    "qa.commands.eval",
    "qa.commands.bench",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.verbose)
    if args.command is None:
        args = parser.parse_args(["repl", *(argv if argv is not None else sys.argv[1:])])
    try:
        return int(args.func(args) or 0)
    except (CorpusError, IndexError_, ReaderLoadError) as err:
        print(f"sanad: {err}", file=sys.stderr)
        return 1
    except QuestionError as err:
        print(err.message_ar, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
