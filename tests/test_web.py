"""`sanad serve`'s HTTP API through the ASGI test client: the ask contract, errors, limits, auth, metrics."""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the serve extra (pip install 'sanad-qa[serve]') is not installed")

from fastapi.testclient import TestClient  # noqa: E402

from qa.config import Settings  # noqa: E402
from qa.feedback import FeedbackStore, feedback_path  # noqa: E402
from qa.pipeline import Pipeline  # noqa: E402
from qa.question import MAX_QUESTION_CHARS  # noqa: E402
from tests.support.rule_reader import HeuristicReader  # noqa: E402
from web.app import create_app  # noqa: E402

SPOKESMAN_Q = "من هو المتحدث باسم وزارة الخارجية الأمريكية؟"
NO_ANSWER_Q = "ما هي عاصمة أستراليا؟"
SEEDS = Path(__file__).resolve().parent.parent / "seeds"
TOKEN = "s3cret-token-for-tests"


@pytest.fixture(scope="module")
def pipeline(seed_index) -> Pipeline:
    # A fixed rule reader: these tests check the server, not whichever neural model ships.
    return Pipeline(seed_index, HeuristicReader(), no_answer_threshold=0.2)


@pytest.fixture
def serve(pipeline: Pipeline, tmp_path: Path) -> Iterator[Callable[..., TestClient]]:
    clients: list[TestClient] = []

    def start(**overrides: object) -> TestClient:
        values: dict[str, object] = {"corpus": SEEDS, "data_dir": tmp_path / "data"}
        values.update(overrides)
        client = TestClient(create_app(Settings(**values), pipeline), raise_server_exceptions=False)
        clients.append(client.__enter__())
        return client

    yield start
    for client in clients:
        client.__exit__(None, None, None)


def test_ask_returns_exactly_the_ask_json_object(serve, pipeline):
    response = serve().post("/v1/ask", json={"question": SPOKESMAN_Q})
    assert response.status_code == 200
    body = response.json()
    expected = pipeline.ask(SPOKESMAN_Q).to_dict()
    assert list(body) == list(expected)  # the same keys, in the same order
    assert {**body, "latency_ms": 0} == {**expected, "latency_ms": 0}
    first = body["citations"][0]
    assert first["passage"][first["start"] : first["end"]] == body["answer"]
    assert response.headers["x-request-id"]


def test_top_k_and_reader_fields_are_honoured(serve):
    client = serve()
    one = client.post("/v1/ask", json={"question": NO_ANSWER_Q, "top_k": 1})
    assert one.status_code == 200 and one.json()["answer"] is None
    embedded = client.post("/v1/ask", json={"question": SPOKESMAN_Q, "reader": "embedded"})
    assert embedded.status_code == 200 and embedded.json()["reader"] == "embedded"
    # The default reader is still the one the server started with.
    assert client.post("/v1/ask", json={"question": SPOKESMAN_Q}).json()["reader"] == "rules"


def test_search_and_documents(serve):
    client = serve()
    found = client.get("/v1/search", params={"q": SPOKESMAN_Q, "k": 3}).json()
    assert len(found["hits"]) == 3 and [h["rank"] for h in found["hits"]] == [1, 2, 3]
    hit = found["hits"][0]
    assert hit["score"] > 0 and hit["title"] and "ماثيو ميلر" in hit["passage"]["text"]
    document = client.get(f"/v1/documents/{hit['passage']['doc_id']}").json()
    passage = hit["passage"]
    assert document["text"][passage["start"] : passage["end"]] == passage["text"]
    missing = client.get("/v1/documents/no-such-document")
    assert missing.status_code == 404 and missing.json()["kind"] == "not_found"


@pytest.mark.parametrize(
    ("payload", "status", "kind"),
    [
        ({"question": "   "}, 400, "question"),
        ({"question": "😀🎉"}, 400, "question"),
        ({"question": "ب" * (MAX_QUESTION_CHARS + 1)}, 413, "question"),
        ({"question": SPOKESMAN_Q, "top_k": 0}, 422, "request"),
        ({"question": SPOKESMAN_Q, "reader": "gpt"}, 422, "request"),
        ({"question": SPOKESMAN_Q, "colour": "blue"}, 422, "request"),
        ({}, 422, "request"),
    ],
)
def test_errors_have_the_cli_json_shape_and_status(serve, payload, status, kind):
    response = serve().post("/v1/ask", json=payload)
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"error", "kind", "exit_code"} and body["kind"] == kind and body["exit_code"] == 2
    if kind == "question":  # the pipeline's own Arabic message, as `sanad ask --json` prints it
        assert any("\u0600" <= ch <= "\u06ff" for ch in body["error"])


def test_a_body_that_is_not_json_is_422(serve):
    response = serve().post("/v1/ask", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 422 and "not valid JSON" in response.json()["error"]


def test_bodies_over_the_limit_are_413_declared_or_streamed(serve):
    client = serve(api_max_body_bytes=2048)
    big = json.dumps({"question": "ب" * 1500}).encode()
    declared = client.post("/v1/ask", content=big, headers={"content-type": "application/json"})
    assert declared.status_code == 413 and declared.json()["kind"] == "request"
    chunks = iter([big[:1000], big[1000:]])  # no content-length: the limit counts what arrives
    streamed = client.post("/v1/ask", content=chunks, headers={"content-type": "application/json"})
    assert streamed.status_code == 413 and streamed.json()["kind"] == "request"


def test_rate_limit_per_client_is_429_with_retry_after(serve):
    client = serve(api_rate_limit=2)
    assert [client.get("/v1/search", params={"q": SPOKESMAN_Q}).status_code for _ in range(2)] == [200, 200]
    limited = client.get("/v1/search", params={"q": SPOKESMAN_Q})
    assert limited.status_code == 429 and limited.json()["kind"] == "rate_limit" and limited.json()["exit_code"] == 1
    assert int(limited.headers["retry-after"]) >= 1
    assert client.get("/healthz").status_code == 200  # health checks are never limited


def test_bearer_token_guards_the_api_and_metrics_and_is_never_logged(serve, caplog):
    client = serve(api_token=TOKEN)
    with caplog.at_level(logging.DEBUG):
        assert client.post("/v1/ask", json={"question": SPOKESMAN_Q}).status_code == 401
        wrong = client.get("/metrics", headers={"authorization": "Bearer nope"})
        assert wrong.status_code == 401 and wrong.json()["kind"] == "auth"
        assert wrong.headers["www-authenticate"] == "Bearer"
        good = client.post("/v1/ask", json={"question": SPOKESMAN_Q}, headers={"authorization": f"Bearer {TOKEN}"})
        assert good.status_code == 200
        assert client.get("/", headers={"authorization": f"Bearer {TOKEN}"}).status_code == 200  # the page is open
    assert caplog.records and TOKEN not in caplog.text


def test_request_ids_are_in_the_log_and_the_response(serve, caplog):
    with caplog.at_level(logging.INFO, logger="web"):
        response = serve().get("/healthz", headers={"x-request-id": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"
    assert any("abc-123" in r.getMessage() and "/healthz" in r.getMessage() for r in caplog.records)
    forged = serve().get("/healthz", headers={"x-request-id": "x\nINFO forged line"})
    assert "\n" not in forged.headers["x-request-id"]


def test_cors_is_off_by_default_and_on_for_named_origins(serve):
    preflight = {"origin": "https://news.example", "access-control-request-method": "POST"}
    assert "access-control-allow-origin" not in serve().options("/v1/ask", headers=preflight).headers
    allowed = serve(api_cors_origins="https://news.example").options("/v1/ask", headers=preflight)
    assert allowed.headers["access-control-allow-origin"] == "https://news.example"


def test_metrics_count_requests_stages_and_no_answers(serve):
    client = serve()
    client.post("/v1/ask", json={"question": SPOKESMAN_Q})
    client.post("/v1/ask", json={"question": NO_ANSWER_Q})
    text = client.get("/metrics").text
    assert 'sanad_http_requests_total{method="POST",route="/v1/ask",status="200"} 2.0' in text
    for stage in ("retrieve", "read", "select"):
        assert f'sanad_stage_seconds_count{{stage="{stage}"}} 2.0' in text
    assert 'sanad_answers_total{outcome="no_answer"} 1.0' in text
    assert "sanad_no_answer_ratio 0.5" in text


def test_votes_go_to_the_shared_votes_file_once_per_client_and_answer(serve, tmp_path):
    client = serve()
    vote = {"question": SPOKESMAN_Q, "answer": "ماثيو ميلر", "doc_id": "003", "score": 0.9, "reader": "rules"}
    vote["vote"] = "up"
    assert client.post("/v1/feedback", json=vote).status_code == 201
    again = client.post("/v1/feedback", json={**vote, "vote": "down"})  # the same client, the same answer
    assert again.status_code == 200 and again.json() == {"recorded": False}
    other = client.post("/v1/feedback", json=vote, headers={"x-forwarded-for": "203.0.113.7"})
    assert other.status_code == 200  # the test client is not a trusted proxy: its header is ignored
    assert client.post("/v1/feedback", json={**vote, "vote": "maybe"}).status_code == 422
    [stored] = FeedbackStore(feedback_path(tmp_path / "data")).entries()  # where `sanad feedback export` reads
    assert stored["front_end"] == "web" and stored["vote"] == "up" and stored["time"]
    assert stored["answer"] == "ماثيو ميلر" and stored["citation"] == {"doc_id": "003"} and stored["chat"] is None
    salt = (tmp_path / "data" / "feedback.salt").read_text()
    assert len(salt) == 64 and "testclient" not in (tmp_path / "data" / "feedback.sqlite3").read_bytes().decode("latin-1")


def test_a_trusted_proxy_names_the_client_for_the_rate_limit(serve):
    client = serve(api_rate_limit=1, api_trusted_proxies=["testclient"])
    assert client.get("/v1/search", params={"q": "ميلر"}, headers={"x-forwarded-for": "203.0.113.1"}).status_code == 200
    assert client.get("/v1/search", params={"q": "ميلر"}, headers={"x-forwarded-for": "203.0.113.1"}).status_code == 429
    assert client.get("/v1/search", params={"q": "ميلر"}, headers={"x-forwarded-for": "203.0.113.2"}).status_code == 200


def test_page_and_static_files_are_served_with_a_strict_policy(serve):
    client = serve()
    page = client.get("/")
    assert page.status_code == 200 and 'dir="rtl"' in page.text and 'lang="ar"' in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "http" not in page.text.replace('href="/docs"', "")  # no CDN: every file comes from this server
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/openapi.json").json()["paths"]["/v1/ask"]


def test_api_docs_load_their_scripts_from_this_server_not_a_cdn(serve):
    client = serve()
    docs = client.get("/docs")
    assert docs.status_code == 200
    scripts = re.findall(r'(?:src|href)="([^"]+)"', docs.text)
    assert scripts and all(url.startswith("/") for url in scripts), scripts
    assert all(client.get(url).status_code == 200 for url in scripts)
    assert client.get("/redoc").status_code == 200


def test_reads_run_in_the_bounded_pool_not_on_the_event_loop(seed_index, tmp_path):
    class RecordingReader(HeuristicReader):
        threads: set[str] = set()

        def read(self, question, passages):
            self.threads.add(threading.current_thread().name)
            return super().read(question, passages)

    settings = Settings(corpus=SEEDS, api_max_concurrent_reads=2)
    with TestClient(create_app(settings, Pipeline(seed_index, RecordingReader()))) as client:
        for _ in range(3):
            assert client.post("/v1/ask", json={"question": SPOKESMAN_Q}).status_code == 200
    assert RecordingReader.threads and all(name.startswith("sanad-read") for name in RecordingReader.threads)


def test_a_failed_load_stops_the_server_and_readyz_says_why(tmp_path):
    settings = Settings(corpus=tmp_path / "missing", index=tmp_path / "index", reader="embedded")
    failed = threading.Event()
    with TestClient(create_app(settings, on_load_failure=lambda err: failed.set())) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        assert failed.wait(60)
        ready = client.get("/readyz")
        asked = client.post("/v1/ask", json={"question": SPOKESMAN_Q})
    assert ready.status_code == 503 and ready.json()["kind"] == "corpus" and ready.json()["exit_code"] == 1
    assert asked.status_code == 503 and asked.json() == ready.json()


def test_not_ready_is_503():
    from web.errors import ApiError
    from web.service import AnswerService

    with pytest.raises(ApiError) as err:
        AnswerService(Settings(corpus=SEEDS)).ready_pipeline()
    assert err.value.status == 503 and err.value.kind == "not_ready"


def test_spokesman_end_to_end_with_the_default_reader(tmp_path):
    """The acceptance check: loaded as `sanad serve` loads it (lifespan, default reader), it answers ماثيو ميلر."""
    settings = Settings(corpus=SEEDS, index=tmp_path / "index")
    with TestClient(create_app(settings)) as client:
        deadline = time.monotonic() + 120
        while client.get("/readyz").status_code == 503:  # the index build and the reader load, in a thread
            assert time.monotonic() < deadline, client.get("/readyz").json()
            time.sleep(0.05)
        ready = client.get("/readyz").json()
        body = client.post("/v1/ask", json={"question": SPOKESMAN_Q}).json()
    assert "ماثيو ميلر" in body["answer"] and body["reader"].startswith("neural")
    shipped = json.loads((SEEDS.parent / "qa" / "data" / "neural_reader" / "reader.json").read_text("utf-8"))
    assert ready["reader"] == body["reader"] and ready["no_answer_threshold"] == shipped["no_answer_threshold"]
    first = body["citations"][0]
    assert first["passage"][first["start"] : first["end"]] == body["answer"]


def test_sanad_serve_stops_with_the_clis_one_line_message_when_loading_fails(tmp_path, capsys):
    from qa.cli import main

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code = main(["serve", "--corpus", str(tmp_path / "missing"), "--index", str(tmp_path / "i"), "--port", str(port)])
    assert code == 1
    assert "sanad serve: Corpus not found" in capsys.readouterr().err


def test_asking_for_the_reader_auto_chose_reuses_it(seed_index):
    from qa.readers.embedded import EmbeddedReader

    pipeline = Pipeline(seed_index, EmbeddedReader())
    with TestClient(create_app(Settings(corpus=SEEDS), pipeline)) as client:
        assert client.post("/v1/ask", json={"question": SPOKESMAN_Q, "reader": "embedded"}).status_code == 200
        assert client.app.state.sanad.service._pipeline_for("embedded") is pipeline
