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
from qa.types import Answer, Citation
from retrieval.types import Passage

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


def _same_text(a: Citation, b: Citation, where: dict[str, Passage]) -> bool:
    """Whether two citations show mostly the same document text (neighbouring passages overlap)."""
    if a.passage_id == b.passage_id:
        return True
    pa, pb = where.get(a.passage_id), where.get(b.passage_id)
    if pa is None or pb is None or pa.doc_id != pb.doc_id:
        return False
    overlap = min(pa.end, pb.end) - max(pa.start, pb.start)
    return overlap > 0.5 * min(pa.end - pa.start, pb.end - pb.start)


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
        """Other candidate answers, then further passages, each shown once (overlapping chunks folded)."""
        if self.last is None:
            return "اسأل سؤالًا أولًا."
        hits = self.pipeline.search(self.last.question, k=10)
        where = {h.passage.id: h.passage for h in hits}
        shown: list[Citation] = []
        for citation in [*self.last.citations, *closest_passages(hits, self.pipeline.index.documents, n=10)]:
            if not any(_same_text(citation, seen, where) for seen in shown):
                shown.append(citation)
        return render_passages(shown[1:7] if self.last.found else shown[:6], color=self.color)

    def _print(self, text: str) -> None:
        print(text, file=self.out)
        print(file=self.out)
        self.out.flush()
