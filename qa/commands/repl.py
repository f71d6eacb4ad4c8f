"""`sanad repl` (and bare `sanad`): ask questions at a prompt, or one a line on piped stdin."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from qa.commands.common import add_corpus_options, add_reader_options, print_notices, settings_from
from qa.pipeline import Pipeline
from qa.question import QuestionError
from qa.render import render_answer, render_passages
from qa.select import closest_passages
from qa.types import Answer

PROMPT = "سؤالك> "
HELP = """اكتب سؤالك بالعربية واضغط Enter.
الأوامر:
  /more  أو  المزيد   عرض مقاطع أخرى للسؤال الأخير
  /help  أو  مساعدة   هذه الرسالة
  /quit  أو  خروج     إنهاء (أو Ctrl-D)"""
_MORE = {"/more", "المزيد", ":more"}
_HELP = {"/help", "مساعدة", ":help", "?", "؟"}
_QUIT = {"/quit", "خروج", ":quit", "/exit", "exit", "quit"}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("repl", help="interactive questions | أسئلة تفاعلية")
    add_corpus_options(parser)
    add_reader_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    notices: list[str] = []
    pipeline = Pipeline.from_settings(settings_from(args), notices)
    print_notices(notices)
    interactive = sys.stdin.isatty()
    if interactive:
        print(f"سَنَد — {len(pipeline.index.documents)} مستندات، القارئ: {pipeline.reader.name}. اكتب /help للمساعدة.")
    return Session(pipeline, sys.stdout, color=sys.stdout.isatty()).loop(sys.stdin, interactive)


class Session:
    """One REPL conversation: remembers the last question for /more."""

    def __init__(self, pipeline: Pipeline, out: TextIO, color: bool = False) -> None:
        self.pipeline = pipeline
        self.out = out
        self.color = color
        self.last: Answer | None = None

    def loop(self, stdin: TextIO, interactive: bool) -> int:
        while True:
            try:
                line = input(PROMPT) if interactive else stdin.readline()
            except (EOFError, KeyboardInterrupt):
                if interactive:
                    print(file=self.out)
                return 0
            if not interactive and line == "":
                return 0
            if self.handle(line.strip()) is False:
                return 0

    def handle(self, line: str) -> bool:
        """Answer or run one line; False means quit."""
        if not line:
            return True
        if line in _QUIT:
            return False
        if line in _HELP:
            self._print(HELP)
        elif line in _MORE:
            self._print(self._more())
        else:
            try:
                self.last = self.pipeline.ask(line)
            except QuestionError as err:
                self._print(err.message_ar)
                return True
            self._print(render_answer(self.last, color=self.color))
        return True

    def _more(self) -> str:
        if self.last is None:
            return "اسأل سؤالًا أولًا."
        hits = self.pipeline.search(self.last.question, k=10)
        shown = {c.passage_id for c in self.last.citations[:1]}
        others = [c for c in self.last.citations[1:] if c.passage_id not in shown]
        shown |= {c.passage_id for c in others}
        others += [c for c in closest_passages(hits, self.pipeline.index.documents, n=10) if c.passage_id not in shown]
        return render_passages(others[:6], color=self.color)

    def _print(self, text: str) -> None:
        print(text, file=self.out)
        print(file=self.out)
        self.out.flush()
