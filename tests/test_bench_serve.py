"""`sanad bench serve`: a real `sanad serve` child, concurrent clients, and the check that each got one good response."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from qa.bench.serve import ASK_KEYS, _classify, bench_serve

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def test_two_clients_for_a_second_each_get_one_well_formed_answer_per_question(tmp_path):
    pytest.importorskip("fastapi", reason="the serve extra (pip install 'sanad-qa[serve]') is not installed")
    result = bench_serve([2], 1.0, ["embedded"], SEEDS, SEEDS / "gold.jsonl", tmp_path)
    (level,) = result["readers"]["embedded"]
    assert level["requests"] >= 2 and level["ok"] == level["requests"] == level["server_counted"]
    assert level["one_well_formed_response_each"] and result["every_request_one_well_formed_response"]
    assert level["latency_ms"]["p95"] >= level["latency_ms"]["p50"] > 0


def test_responses_are_classified_strictly():
    ask = dict.fromkeys(ASK_KEYS) | {"answer": "x", "citations": []}
    assert _classify(httpx.Response(200, json=ask)) == "answer"
    assert _classify(httpx.Response(200, json={**ask, "answer": None})) == "no_answer"
    refused = {"error": "…", "kind": "not_ready", "exit_code": 1}
    assert _classify(httpx.Response(503, json=refused)) == "error 503 not_ready"
    assert _classify(httpx.Response(200, json={**ask, "extra": 1})) == "malformed 200"
    assert _classify(httpx.Response(502, text="<html>bad gateway</html>")) == "malformed 502"
