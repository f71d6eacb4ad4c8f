"""Mistakes a user can make end in one plain line and exit code 2 (under --json: the one error object),
never in a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import get_args

import pytest

from qa.cli import main
from qa.commands.common import add_reader_options
from qa.config import ReaderKind
from qa.readers import span_model

QUESTION = "من هو المتحدث باسم وزارة الخارجية الأمريكية؟"
ERROR_KEYS = {"error", "kind", "exit_code"}


@pytest.fixture
def ask(tmp_path: Path, seeds_dir: Path, capsys: pytest.CaptureFixture[str]):
    """Run `sanad ask` over the seeds; returns (exit code, stdout, stderr)."""

    def run(*flags: str, question: str = QUESTION) -> tuple[int, str, str]:
        code = main(["ask", "--corpus", str(seeds_dir), "--index", str(tmp_path / "ix"), *flags, question])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def _one_line_error(code: int, out: str, err: str, *needles: str) -> None:
    assert code == 2
    assert out == "" and len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err


def _json_error(code: int, out: str, kind: str) -> dict:
    assert code == 2
    error = json.loads(out)
    assert set(error) == ERROR_KEYS and error["kind"] == kind and error["exit_code"] == 2
    return error


@pytest.mark.parametrize("top_k", ["0", "-3", "100000"])
def test_top_k_out_of_range(ask, top_k):
    _one_line_error(*ask("--reader", "embedded", "--top-k", top_k), f"--top-k {top_k}", "from 1 to 100")


def test_top_k_out_of_range_under_json(ask):
    code, out, _ = ask("--json", "--reader", "embedded", "--top-k", "0")
    assert "--top-k 0" in _json_error(code, out, "setting")["error"]


@pytest.mark.parametrize(
    "variable, value, expected",
    [
        ("SANAD_TOP_K", "0", "from 1 to 100"),
        ("SANAD_READER", "foo", "one of " + ", ".join(get_args(ReaderKind))),
        ("SANAD_NO_ANSWER_THRESHOLD", "abc", "a number from 0.0 to 1.0"),
        ("SANAD_STEMMER", "porter", "one of none, article, prefix, light"),
    ],
)
def test_a_bad_setting_in_the_environment(ask, monkeypatch, variable, value, expected):
    monkeypatch.setenv(variable, value)
    _one_line_error(*ask(), f"{variable}={value}", expected)
    code, out, _ = ask("--json")
    assert f"{variable}={value}" in _json_error(code, out, "setting")["error"]


def test_an_unknown_reader_flag_is_one_line_and_json_under_json(ask):
    _one_line_error(*ask("--reader", "foo"), "invalid choice: 'foo'")
    code, out, _ = ask("--json", "--reader", "foo")
    assert "invalid choice" in _json_error(code, out, "usage")["error"]


def test_an_unusable_question_under_json_has_the_same_shape(ask):
    code, out, _ = ask("--json", "--reader", "embedded", question="  ")
    assert "فارغ" in _json_error(code, out, "question")["error"]


def test_reader_choices_come_from_the_settings():
    import argparse

    from qa.config import Settings

    parser = argparse.ArgumentParser()
    add_reader_options(parser)
    reader = next(a for a in parser._actions if a.dest == "reader")
    assert tuple(reader.choices) == get_args(ReaderKind) == get_args(Settings.model_fields["reader"].annotation)


@pytest.mark.parametrize("damage", ["missing", "other-features", "not-json"])
def test_a_missing_or_stale_embedded_model(ask, tmp_path, monkeypatch, damage):
    artifact = tmp_path / "embedded_reader.json"
    if damage == "other-features":
        data = json.loads(span_model.shipped_artifact().read_text("utf-8"))
        data["features"] = data["features"][:-1]
        artifact.write_text(json.dumps(data), "utf-8")
    elif damage == "not-json":
        artifact.write_text("{", "utf-8")
    monkeypatch.setattr(span_model, "shipped_artifact", lambda: artifact)
    span_model._shipped_model.cache_clear()
    try:
        _one_line_error(*ask("--reader", "embedded"), str(artifact), "sanad train-reader")
        code, out, _ = ask("--json", "--reader", "embedded")
        assert _json_error(code, out, "model")
    finally:
        span_model._shipped_model.cache_clear()


def test_a_doc_stride_as_long_as_the_window(ask, monkeypatch):
    monkeypatch.setenv("SANAD_DOC_STRIDE", "384")
    _one_line_error(*ask(), "SANAD_DOC_STRIDE (384) must be smaller than SANAD_MAX_SEQ_LENGTH (384)")


def test_output_closed_early_is_no_traceback(tmp_path, seeds_dir):
    # `sanad ask … | head -1`: the reader leaves before the answer is written (`true` reads nothing).
    code = (
        "import sys; from qa.cli import main; "
        f"sys.exit(main(['ask', '--reader', 'embedded', '--corpus', {str(seeds_dir)!r}, "
        f"'--index', {str(tmp_path / 'ix')!r}, {QUESTION!r}]))"
    )
    shell = f"{sys.executable} -c \"{code}\" | true"
    done = subprocess.run(["bash", "-o", "pipefail", "-c", shell], capture_output=True, text=True, timeout=120)
    assert done.returncode in (0, 141), done.stderr
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr


def test_a_missing_extra_is_a_one_line_install_instruction(capsys, tmp_path):
    gold = tmp_path / "gold.jsonl"
    gold.write_text("", encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(sys.modules, "matplotlib", None)  # as if the eval-plots extra were not installed
        code = main(["eval", "--gold", str(gold), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and "pip install 'sanad-qa[eval-plots]'" in err and "Traceback" not in err
