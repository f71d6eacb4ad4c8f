"""`sanad eval` on the command line: the --json contract, --out files, floors, and gold-file errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import qa.evaluation.evaluate as evaluate_module
from qa.cli import main
from tests.support.rule_reader import HeuristicReader
from tests.support.squad import squad_file

GOLD = Path(__file__).resolve().parent.parent / "seeds" / "gold.jsonl"
CONTRACT_KEYS = {"n", "em", "f1", "has_answer_f1", "no_answer_accuracy", "recall_at_k", "mrr", "latency_ms", "reader"}


@pytest.fixture
def rule_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fixed, fast reader, so these tests check the command and not whichever embedded model is current."""
    monkeypatch.setattr(evaluate_module, "make_reader", lambda settings, notices=None: HeuristicReader())


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    code = main(["eval", "--json", *args])
    out = capsys.readouterr().out
    return code, json.loads(out)


def test_json_contract_with_the_embedded_reader(capsys: pytest.CaptureFixture[str]) -> None:
    code, summary = run_json(capsys, "--gold", str(GOLD), "--reader", "embedded")
    assert code == 0
    assert CONTRACT_KEYS <= summary.keys()
    assert set(summary["recall_at_k"]) == {"1", "3", "5", "10"}
    assert set(summary["latency_ms"]) == {"p50", "p95"}
    assert summary["reader"] == "embedded"
    assert 0 <= summary["f1"] <= 100 and 0 <= summary["recall_at_k"]["5"] <= 1
    assert summary["n"] == sum(1 for line in GOLD.read_text("utf-8").splitlines() if line.strip())


def test_out_writes_predictions_report_and_plots(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], rule_reader: None
) -> None:
    out = tmp_path / "run"
    code = main(["eval", "--gold", str(GOLD), "--out", str(out), "--sweep-threshold"])
    assert code == 0
    text = capsys.readouterr().out
    assert "recall@1 / 3 / 5 / 10" in text and "best no-answer threshold" in text
    for png in ("reliability.png", "latency.png"):
        data = (out / png).read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 1000
    report = (out / "report.md").read_text("utf-8")
    assert "## 10 worst failures" in report and "| EM / F1 |" in report
    assert report.count("### ") == 10
    lines = (out / "predictions.jsonl").read_text("utf-8").splitlines()
    assert len(lines) == summary_n()
    record = json.loads(lines[0])
    assert {"prediction", "gold", "em", "f1", "gold_rank", "score", "latency_ms"} <= record.keys()
    assert not [p for p in out.iterdir() if p.name.startswith(".")], "no staging files left behind"


def summary_n() -> int:
    return sum(1 for line in GOLD.read_text("utf-8").splitlines() if line.strip())


def test_sweep_in_json(capsys: pytest.CaptureFixture[str], rule_reader: None) -> None:
    _, summary = run_json(capsys, "--gold", str(GOLD), "--sweep-threshold")
    sweep = summary["threshold_sweep"]
    # Replayed from stored scores, the current threshold gives the F1 the evaluation itself measured.
    assert sweep["current_f1"] == summary["f1"]
    assert sweep["best_f1"] == max(p["f1"] for p in sweep["points"])


def test_threshold_option(capsys: pytest.CaptureFixture[str], rule_reader: None) -> None:
    _, summary = run_json(capsys, "--gold", str(GOLD), "--threshold", "1.0")
    assert summary["no_answer_threshold"] == 1.0
    assert summary["no_answer_accuracy"] == 1.0


def test_floors(capsys: pytest.CaptureFixture[str], rule_reader: None) -> None:
    assert main(["eval", "--gold", str(GOLD), "--json", "--min-f1", "0", "--min-recall-at-5", "0"]) == 0
    capsys.readouterr()
    assert main(["eval", "--gold", str(GOLD), "--json", "--min-f1", "100.1"]) == 3
    assert "below the floor" in capsys.readouterr().err
    assert main(["eval", "--gold", str(GOLD), "--json", "--min-recall-at-5", "1.01"]) == 3
    assert "recall@5" in capsys.readouterr().err


def test_recall_floor_needs_pipeline_mode(capsys: pytest.CaptureFixture[str], rule_reader: None) -> None:
    assert main(["eval", "--gold", str(GOLD), "--mode", "reader", "--min-recall-at-5", "0.5"]) == 3
    assert "reader mode" in capsys.readouterr().err


def test_squad_reader_and_pipeline_modes(tmp_path: Path, capsys: pytest.CaptureFixture[str], rule_reader: None) -> None:
    path = squad_file(tmp_path)
    _, read = run_json(capsys, "--gold", str(path), "--format", "squad", "--mode", "reader")
    assert read["n"] == 3 and read["mrr"] is None
    _, piped = run_json(capsys, "--gold", str(path), "--format", "squad")
    assert piped["recall_at_k"]["10"] == 1.0


def test_malformed_gold_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gold = tmp_path / "bad.jsonl"
    gold.write_text('{"id": "a", "question": "من؟", "answers": [], "doc_id": null}\n{oops\n', "utf-8")
    assert main(["eval", "--gold", str(gold)]) == 2
    err = capsys.readouterr().err
    assert f"{gold}, line 2" in err and "Traceback" not in err


def test_empty_gold_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gold = tmp_path / "empty.jsonl"
    gold.write_text("", "utf-8")
    assert main(["eval", "--gold", str(gold)]) == 2
    assert "empty" in capsys.readouterr().err


def test_unknown_document(tmp_path: Path, capsys: pytest.CaptureFixture[str], rule_reader: None) -> None:
    gold = tmp_path / "other.jsonl"
    gold.write_text('{"id": "a", "question": "من المتحدث؟", "answers": ["ميلر"], "doc_id": "nope"}\n', "utf-8")
    assert main(["eval", "--gold", str(gold)]) == 2
    assert "'nope' is not in the corpus" in capsys.readouterr().err


def test_a_gold_set_without_unanswerable_questions_is_scored_always_answering(tmp_path, capsys):
    import json as _json

    from qa.cli import main as _main

    squad = {"data": [{"title": "t", "paragraphs": [{"context": "قال المتحدث ماثيو ميلر إن الاجتماع يوم الخميس.", "qas": [
        {"id": "q1", "question": "كيف حال الطقس في المريخ اليوم؟", "answers": [{"text": "الخميس", "answer_start": 38}]}]}]}]}
    path = tmp_path / "tiny-squad.json"
    path.write_text(_json.dumps(squad, ensure_ascii=False), "utf-8")
    assert _main(["eval", "--gold", str(path), "--format", "squad", "--mode", "reader", "--reader", "embedded", "--json"]) == 0
    summary = _json.loads(capsys.readouterr().out)
    assert summary["no_answer_threshold"] == 0.0


@pytest.fixture
def no_evaluation(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fails the test if the evaluation starts: a bad --out must be found before it, not after."""

    def evaluate(*args, **kwargs):
        raise AssertionError("the evaluation ran before --out was checked")

    monkeypatch.setattr("qa.commands.eval.evaluate", evaluate)


def test_out_pointing_at_a_file_is_refused_before_evaluating(tmp_path, capsys, no_evaluation) -> None:
    outfile = tmp_path / "outfile"
    outfile.write_text("keep me", "utf-8")
    assert main(["eval", "--gold", str(GOLD), "--out", str(outfile)]) == 2
    err = capsys.readouterr().err
    assert str(outfile) in err and "is a file" in err and "Traceback" not in err
    assert outfile.read_text("utf-8") == "keep me"


def test_out_on_a_read_only_file_system_is_refused_before_evaluating(read_only_dir, capsys, no_evaluation) -> None:
    code, error = run_json(capsys, "--gold", str(GOLD), "--out", str(read_only_dir / "run"))
    assert code == 2 and error["kind"] == "location" and "Read-only file system" in error["error"]


def test_eval_json_errors_are_the_shared_error_object(tmp_path, capsys) -> None:
    gold = tmp_path / "empty.jsonl"
    gold.write_text("", "utf-8")
    code, error = run_json(capsys, "--gold", str(gold))
    assert code == 2 and error == {"error": error["error"], "kind": "gold", "exit_code": 2}
    assert "empty" in error["error"]


def test_threshold_out_of_range_is_a_plain_error(capsys) -> None:
    assert main(["eval", "--gold", str(GOLD), "--threshold", "5"]) == 2
    assert "--threshold 5.0: expected a number from 0.0 to 1.0." in capsys.readouterr().err
