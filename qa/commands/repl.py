"""`sanad repl` (and bare `sanad`): ask questions at a prompt, or one a line on piped stdin."""

from __future__ import annotations

import argparse
import atexit
import contextlib
import shutil
import sys
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from qa.commands.common import add_corpus_options, add_reader_options, open_pipeline
from qa.pipeline import Pipeline
from qa.question import QuestionError
from qa.render import render_answer, render_sources
from qa.terminal import bidi_mode, for_terminal
from qa.types import Answer

HISTORY_FILE = "repl_history"
PROMPT = "سؤالك> "
HELP = """اكتب سؤالك بالعربية واضغط Enter.
الأوامر:
  /more  أو  المزيد   عرض مقاطع أخرى للسؤال الأخير
  /help  أو  مساعدة   هذه الرسالة
  /quit  أو  خروج     إنهاء (أو Ctrl-D)"""
# Passages shown with a question that matched nothing: a glimpse of what the corpus holds, not a list.
NEAREST_SHOWN = 3
_MORE = {"/more", "المزيد", ":more"}
_HELP = {"/help", "مساعدة", ":help", "?", "؟"}
_QUIT = {"/quit", "خروج", ":quit", "/exit", "exit", "quit"}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("repl", help="interactive questions | أسئلة تفاعلية")
    add_corpus_options(parser)
    add_reader_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings, pipeline = open_pipeline(args)
    interactive = sys.stdin.isatty()
    terminal = sys.stdout.isatty()
    session = Session(pipeline, sys.stdout, color=terminal, bidi=bidi_mode(settings.terminal_bidi) if terminal else None)
    if interactive:
        line_editing(settings.data_dir / HISTORY_FILE)
        session.say(f"سَنَد — {len(pipeline.index.documents)} مستندات، القارئ: {pipeline.reader.name}. اكتب /help للمساعدة.")
    return session.loop(sys.stdin, interactive)


def line_editing(history: Path) -> None:
    """Arrow keys, history (kept in `history` between runs) and Ctrl-L for input(), through readline."""
    try:
        import readline
    except ImportError:  # Python built without readline: plain input() still works
        return
    if "libedit" in (readline.__doc__ or ""):
        readline.parse_and_bind("bind ^L ed-clear-screen")
    else:
        readline.parse_and_bind(r'"\C-l": clear-screen')
    readline.set_history_length(1000)
    with contextlib.suppress(OSError):  # none yet, or unreadable: start afresh
        readline.read_history_file(history)

    def save() -> None:
        with contextlib.suppress(OSError):  # a read-only data folder costs the history, not the session
            history.parent.mkdir(parents=True, exist_ok=True)
            readline.write_history_file(history)

    atexit.register(save)


class Session:
    """One REPL conversation: remembers the last answer for /more.

    `bidi` is how a terminal gets its text ("logical" or "visual", qa/terminal.py); None (a pipe) gets it as is.
    """

    def __init__(self, pipeline: Pipeline, out: TextIO, color: bool = False, bidi: str | None = None) -> None:
        self.pipeline = pipeline
        self.out = out
        self.bidi = bidi
        # Visual order is computed from plain text: colour codes would be moved about with the letters.
        self.color = color and bidi != "visual"
        self.last: Answer | None = None

    def loop(self, stdin: TextIO, interactive: bool) -> int:
        prompt = self._for_terminal(PROMPT) if interactive else PROMPT
        while True:
            try:
                line = input(prompt) if interactive else stdin.readline()
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
            self.say(HELP)
        elif line in _MORE:
            self.say(self._more())
        else:
            try:
                self.last = self.pipeline.ask(line)
            except QuestionError as err:
                self.say(err.message_ar)
                return True
            if not self.last.found and not self.last.citations:  # nothing matched at all: still show passages
                self.last = replace(self.last, citations=self.pipeline.more(self.last, limit=NEAREST_SHOWN))
            self.say(render_answer(self.last, self.pipeline.no_answer_threshold, color=self.color))
        return True

    def _more(self) -> str:
        """Other documents' passages for the last answer: the same function as the bot's «مصادر أخرى»."""
        if self.last is None:
            return "اسأل سؤالًا أولًا."
        return render_sources(self.pipeline.more(self.last), color=self.color)

    def say(self, text: str) -> None:
        print(self._for_terminal(text), file=self.out)
        print(file=self.out)
        self.out.flush()

    def _for_terminal(self, text: str) -> str:
        if self.bidi is None:
            return text
        return for_terminal(text, self.bidi, shutil.get_terminal_size().columns)
