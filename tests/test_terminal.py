"""Arabic on terminals (logical and visual order, isolated Latin runs), /more, English questions, and line editing."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qa.commands.repl import Session
from qa.config import Settings
from qa.pipeline import Pipeline
from qa.question import NOT_ARABIC_NOTE
from qa.readers.factory import make_reader
from qa.render import BOLD, FSI, PDI, RESET
from qa.terminal import LRM, RLM, bidi_mode, for_terminal
from retrieval.normalize import normalized_words

SPOKESMAN = "من هو المتحدث باسم وزارة الخارجية الأمريكية؟"
DOC_ID = "004_31c9022a9ad5315f"


def test_auto_picks_logical_for_bidi_terminals_and_visual_elsewhere():
    assert bidi_mode("auto", {"MLTERM": "3.9.3"}) == "logical"
    assert bidi_mode("auto", {"VTE_VERSION": "7200"}) == "logical"
    assert bidi_mode("auto", {"VTE_VERSION": "5202"}) == "visual"  # VTE before 0.58 has no bidi
    assert bidi_mode("auto", {"XTERM_VERSION": "XTerm(379)"}) == "visual"
    assert bidi_mode("auto", {}) == "visual"
    assert bidi_mode("logical", {}) == "logical" and bidi_mode("visual", {"MLTERM": "3"}) == "visual"


def test_logical_order_isolates_ids_and_commands_but_not_colour_codes():
    text = f"{BOLD}الإجابة: ماثيو ميلر{RESET}\nالمعرّف: {DOC_ID}\n/help أو مساعدة"
    shown = for_terminal(text, "logical", 80)
    # Marked with left-to-right marks, which mlterm does not draw (it draws isolates as boxes).
    assert f"{LRM}{DOC_ID}{LRM}" in shown and f"{LRM}/help{LRM}" in shown  # a command keeps its slash
    assert FSI not in shown and PDI not in shown
    assert all(line.startswith(RLM) for line in shown.split("\n"))  # «/help …» still a right-to-left line
    assert shown.startswith(RLM + BOLD + "الإجابة") and shown.split("\n")[0].endswith(RESET)


def test_visual_order_reverses_arabic_keeps_latin_runs_whole_mirrors_brackets_and_aligns_right():
    lines = for_terminal(f"المعرّف: {DOC_ID}\n  /quit  أو  خروج     إنهاء (أو Ctrl-D)\nplain English", "visual", 60).split("\n")
    assert len(lines) == 3 and all(FSI not in line and PDI not in line for line in lines)
    assert lines[0].endswith(" :فّرعملا") and f"{DOC_ID} :فّرعملا" in lines[0]  # the id whole, left of its label
    assert "(Ctrl-D وأ) ءاهنإ" in lines[1]  # brackets mirrored, as a bidi terminal draws them
    assert lines[0].startswith(" ") and len(lines[0].replace("\u0651", "")) == 60  # right-aligned (a shadda takes no column)
    assert lines[1].endswith("جورخ  وأ  /quit  ")  # the indent, too, is on the right
    assert lines[2] == "plain English"


def test_visual_lines_wrap_before_reordering():
    words = " ".join(f"كلمة{n}" for n in range(30))
    lines = for_terminal(words, "visual", 40).split("\n")
    assert len(lines) > 3 and all(len(line) <= 40 for line in lines)
    assert "0ةملك" in lines[0].replace(FSI, "")  # the first words read on the first line, not the last


@pytest.fixture(scope="module")
def pipeline(seed_index) -> Pipeline:
    return Pipeline(seed_index, make_reader(Settings(reader="embedded")))


def test_more_shows_other_documents_with_the_span_in_its_sentence(pipeline):
    answer = pipeline.ask(SPOKESMAN)
    others = pipeline.more(answer)
    own = answer.citations[0].doc_id
    assert others and all(c.doc_id != own for c in others)
    assert len({c.doc_id for c in others}) == len(others) and all(c.title for c in others)
    supporting = [c for c in others if c.start < c.end]
    assert supporting and others[: len(supporting)] == supporting  # passages with the answer come first
    assert all(normalized_words(c.quote) == normalized_words(answer.text) for c in supporting)
    out = io.StringIO()
    session = Session(pipeline, out)
    session.loop(io.StringIO(f"{SPOKESMAN}\n/more\n"), interactive=False)
    more = out.getvalue().split("[1]", 1)[1]
    assert own not in more and "المعرّف: " in more


def test_an_english_question_gets_passages_and_a_note_that_the_corpus_is_arabic(pipeline):
    out = io.StringIO()
    Session(pipeline, out).loop(io.StringIO("Who is the spokesman of the US State Department?\n"), interactive=False)
    text = out.getvalue()
    assert NOT_ARABIC_NOTE in text and "The documents are in Arabic" in text
    assert "أقرب المقاطع:" in text and "1. " in text and "المعرّف: " in text


def test_a_visual_session_prints_in_display_order(pipeline, monkeypatch):
    monkeypatch.setattr(shutil, "get_terminal_size", lambda *a, **k: os.terminal_size((100, 30)))
    out = io.StringIO()
    Session(pipeline, out, color=True, bidi="visual").handle(SPOKESMAN)
    text = out.getvalue()
    assert "\033[" not in text  # no colour codes to scramble
    assert "رليم ويثام :ةباجإلا" in text  # «الإجابة: ماثيو ميلر» drawn right to left


# -- line editing, in a real terminal (tmux) -------------------------------------------------------


def _pane(session: str) -> str:
    return subprocess.run(["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True).stdout


def _wait_pane(session: str, condition, timeout: float = 300.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = _pane(session)
        if condition(text):
            return text
        time.sleep(0.2)  # polling a local terminal, not a network
    raise AssertionError(f"the terminal never showed what was expected:\n{_pane(session)}")


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (apt-get install -y tmux)")
def test_the_repl_edits_lines_keeps_history_and_clears_with_ctrl_l(tmp_path, seeds_dir):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for article in Path(seeds_dir).glob("*.txt"):
        shutil.copy(article, corpus / article.name)
    data = tmp_path / "data"
    session = f"sanad-{os.getpid()}"
    command = (
        f"env HOME={tmp_path} SANAD_DATA_DIR={data} SANAD_TERMINAL_BIDI=logical {sys.executable} -m qa.cli repl"
        f" --reader embedded --corpus {corpus} --index {tmp_path / 'index'}"
    )
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "120", "-y", "40", command], check=True)
    try:
        _wait_pane(session, lambda t: "سؤالك>" in t)
        subprocess.run(["tmux", "send-keys", "-t", session, "-l", SPOKESMAN], check=True)
        subprocess.run(["tmux", "send-keys", "-t", session, "Enter"], check=True)
        _wait_pane(session, lambda t: t.count("الإجابة:") == 1 and t.rstrip().endswith("سؤالك>"))
        subprocess.run(["tmux", "send-keys", "-t", session, "Up", "Enter"], check=True)  # history: asked again
        _wait_pane(session, lambda t: t.count("الإجابة:") == 2 and t.rstrip().endswith("سؤالك>"))
        subprocess.run(["tmux", "send-keys", "-t", session, "C-l"], check=True)
        cleared = _wait_pane(session, lambda t: "الإجابة:" not in t and "سؤالك>" in t)
        assert cleared.strip().startswith("سؤالك>")  # Ctrl-L cleared the screen; it did not go into the line
        subprocess.run(["tmux", "send-keys", "-t", session, "-l", "abc"], check=True)
        subprocess.run(["tmux", "send-keys", "-t", session, "Left", "Left"], check=True)
        subprocess.run(["tmux", "send-keys", "-t", session, "-l", "X"], check=True)
        edited = _wait_pane(session, lambda t: "aXbc" in t)
        assert "^[[" not in edited
        subprocess.run(["tmux", "send-keys", "-t", session, "Enter"], check=True)
        _wait_pane(session, lambda t: "The documents are in Arabic" in t)
        subprocess.run(["tmux", "send-keys", "-t", session, "C-d"], check=True)
        history = data / "repl_history"
        deadline = time.monotonic() + 60
        while not history.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert history.read_text("utf-8").splitlines()[-2:] == [SPOKESMAN, "aXbc"]  # one entry per line typed
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
