"""`sanad ask "QUESTION"`: answer one question and exit."""

from __future__ import annotations

import argparse
import json
import shutil
import sys

from qa.commands.common import add_corpus_options, add_reader_options, open_pipeline
from qa.render import render_answer
from qa.terminal import bidi_mode, for_terminal


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("ask", help="answer one question | أجب عن سؤال واحد")
    parser.add_argument("question", help="the question, in Arabic | السؤال")
    add_corpus_options(parser)
    add_reader_options(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object (the ask contract)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings, pipeline = open_pipeline(args)
    answer = pipeline.ask(args.question)  # an unusable question: QuestionError, reported by the CLI
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False))
    elif sys.stdout.isatty():
        mode = bidi_mode(settings.terminal_bidi)
        text = render_answer(answer, pipeline.no_answer_threshold, color=mode != "visual")  # visual order is computed from plain text
        print(for_terminal(text, mode, shutil.get_terminal_size().columns))
    else:
        print(render_answer(answer, pipeline.no_answer_threshold))
    return 0
