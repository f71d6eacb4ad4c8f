"""`sanad ask "QUESTION"`: answer one question and exit."""

from __future__ import annotations

import argparse
import json
import sys

from qa.commands.common import add_corpus_options, add_reader_options, print_notices, settings_from
from qa.pipeline import Pipeline
from qa.render import render_answer


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("ask", help="answer one question | أجب عن سؤال واحد")
    parser.add_argument("question", help="the question, in Arabic | السؤال")
    add_corpus_options(parser)
    add_reader_options(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object (the ask contract)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    notices: list[str] = []
    pipeline = Pipeline.from_settings(settings_from(args), notices)
    print_notices(notices)
    answer = pipeline.ask(args.question)  # an unusable question: QuestionError, reported by the CLI
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False))
    else:
        print(render_answer(answer, color=sys.stdout.isatty()))
    return 0
