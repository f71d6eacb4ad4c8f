"""The `sanad` command line: the ask --json contract, the REPL, index, and the offline reader fallback."""

import io
import json
import socket

import pytest

from qa.cli import main
from qa.commands.repl import Session
from qa.config import Settings
from qa.pipeline import Pipeline
from qa.readers.factory import make_reader

SPOKESMAN = "من هو المتحدث باسم وزارة الخارجية الأمريكية؟"
ASK_KEYS = {"question", "answer", "score", "reader", "latency_ms", "citations"}
CITATION_KEYS = {"doc_id", "title", "source", "passage_id", "passage", "start", "end", "score"}


@pytest.fixture
def offline(monkeypatch):
    """A hub address that refuses connections at once: a closed port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)


def test_ask_json_contract(capsys, tmp_path, seeds_dir, offline):
    code = main(["ask", "--json", "--corpus", str(seeds_dir), "--index", str(tmp_path / "ix"), SPOKESMAN])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == ASK_KEYS
    assert out["answer"] == "ماثيو ميلر" and out["reader"].startswith("neural:")
    first = out["citations"][0]
    assert set(first) == CITATION_KEYS
    assert first["doc_id"] == "003_d15b74a03d651d6f"
    assert first["passage"][first["start"] : first["end"]] == out["answer"]


def test_ask_json_no_answer(capsys, tmp_path, seeds_dir):
    main(["ask", "--json", "--reader", "embedded", "--corpus", str(seeds_dir), "--index", str(tmp_path / "ix"), "ما هي عاصمة أستراليا؟"])
    out = json.loads(capsys.readouterr().out)
    assert out["answer"] is None and out["citations"]


def test_ask_rejects_an_empty_question_with_exit_code_2(capsys, tmp_path, seeds_dir):
    code = main(["ask", "--reader", "embedded", "--corpus", str(seeds_dir), "--index", str(tmp_path / "ix"), "  "])
    assert code == 2 and "فارغ" in capsys.readouterr().err


def test_missing_corpus_is_a_clear_error(capsys, tmp_path):
    code = main(["ask", "--reader", "embedded", "--corpus", str(tmp_path / "none"), "--index", str(tmp_path / "ix"), "سؤال"])
    assert code == 1 and "Corpus not found" in capsys.readouterr().err


def test_index_command_builds_the_index(capsys, tmp_path, seeds_dir):
    assert main(["index", "--corpus", str(seeds_dir), "--index", str(tmp_path / "ix")]) == 0
    assert (tmp_path / "ix" / "manifest.json").exists()
    assert "Indexed 5 documents" in capsys.readouterr().out


def test_repl_answers_piped_questions_and_shows_more(seed_index):
    out = io.StringIO()
    session = Session(Pipeline(seed_index, make_reader(Settings(reader="embedded"))), out)
    stdin = io.StringIO(f"{SPOKESMAN}\n/more\n\n😀\n/help\n")
    assert session.loop(stdin, interactive=False) == 0
    text = out.getvalue()
    assert "الإجابة: ماثيو ميلر" in text and "【ماثيو ميلر】" in text
    assert "[1]" in text, "/more lists further passages"
    assert "لم أجد في رسالتك كلمات" in text and "/quit" in text


def test_repl_quit_command_stops_reading(seed_index):
    out = io.StringIO()
    session = Session(Pipeline(seed_index, make_reader(Settings(reader="embedded"))), out)
    assert session.loop(io.StringIO(f"خروج\n{SPOKESMAN}\n"), interactive=False) == 0
    assert "ماثيو" not in out.getvalue()


def test_auto_with_a_checkpoint_falls_back_to_the_neural_reader_without_network(offline):
    notices: list[str] = []
    reader = make_reader(Settings(reader="auto", model="someone/arabic-qa", hub_timeout=1.0), notices)
    assert reader.name.startswith("neural:")
    assert len(notices) == 1 and "neural reader" in notices[0] and "unreachable" in notices[0]


def test_auto_falls_back_to_embedded_when_the_neural_reader_cannot_load(offline, tmp_path):
    notices: list[str] = []
    reader = make_reader(Settings(reader="auto", neural_reader=tmp_path / "nothing"), notices)
    assert reader.name == "embedded"
    assert len(notices) == 1 and "embedded" in notices[0] and "missing" in notices[0]


def test_explicit_transformers_reader_without_network_fails_fast_and_clearly(capsys, tmp_path, seeds_dir, offline):
    code = main(["ask", "--reader", "transformers", "--corpus", str(seeds_dir), "--index", str(tmp_path / "ix"), SPOKESMAN])
    assert code == 1
    assert "unreachable" in capsys.readouterr().err


def test_auto_uses_a_local_checkpoint(capsys, tmp_path, seeds_dir, seed_corpus, offline):
    from tests.support.tiny_model import build_tiny_qa_model

    model = build_tiny_qa_model(tmp_path / "model", [d.text for d in seed_corpus.documents])
    code = main(["ask", "--json", "--model", str(model), "--corpus", str(seeds_dir), "--index", str(tmp_path / "ix"), SPOKESMAN])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["reader"] == f"transformers:{model}"
    # The tiny model's answer (or none) is arbitrary; what it cites is an exact span, either way.
    assert out["citations"], "an answer cites its passage; a no-answer lists the closest ones"
    first = out["citations"][0]
    assert first["passage"][first["start"] : first["end"]] == (out["answer"] or "")


def test_a_hanging_name_lookup_does_not_hold_the_fallback(monkeypatch):
    import time

    from qa.readers import factory

    def hang(*args, **kwargs):
        time.sleep(30)
        raise OSError("never resolves")

    monkeypatch.setattr(factory.socket, "create_connection", hang)
    started = time.monotonic()
    assert factory._hub_reachable(timeout=0.5) is False
    assert time.monotonic() - started < 5
