"""Sanad on Ray Serve, on a local Ray (127.0.0.1): shard and reader deployments behind the HTTP API.

Skipped without the scale extra. The reader is the embedded one (fast): these tests are about delivery.
"""

import os
import shutil
import signal
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

ray = pytest.importorskip("ray", reason="Ray is the scale extra: pip install 'sanad-qa[scale]'")
httpx = pytest.importorskip("httpx", reason="the serve extra is not installed")

from ray import serve

from qa.config import load_settings
from qa.pipeline import Pipeline
from qa.readers.embedded import EmbeddedReader
from retrieval.index import BuildSettings
from retrieval.shards import build_sharded_index
from tests.support.questions import QUESTIONS
from web.ray_serve import APP_NAME, build_app

# Ray's own modules warn of deprecated pydantic and asyncio uses on import.
pytestmark = [pytest.mark.timeout(300), pytest.mark.filterwarnings("ignore::DeprecationWarning")]

SPOKESMAN = "من هو المتحدث باسم وزارة الخارجية الأمريكية؟"
# Little CPU each, so that two readers, two shards and the ingress fit on a 2-CPU Ray.
OPTIONS = {
    "ingress": {"ray_actor_options": {"num_cpus": 0.1}},
    "shard-0": {"ray_actor_options": {"num_cpus": 0.1}},
    "reader": {"num_replicas": 2, "ray_actor_options": {"num_cpus": 0.2}},
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, seeds_dir):
    folder = tmp_path_factory.mktemp("ray") / "sharded"
    build_sharded_index(seeds_dir, folder, BuildSettings(), 2)
    settings = {"reader": "embedded", "retrieval": "bm25", "api_rate_limit": 0,
                "data_dir": str(folder.parent / "data")}  # fmt: skip
    port = _free_port()
    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False)
    try:
        serve.start(http_options={"host": "127.0.0.1", "port": port})
        serve.run(build_app({"index": str(folder), "settings": settings, "timeout_s": 5, "tries": 3}, OPTIONS),
                  name=APP_NAME, route_prefix="/")  # fmt: skip
        yield {"url": f"http://127.0.0.1:{port}", "folder": folder, "settings": settings, "seeds": seeds_dir}
    finally:
        serve.shutdown()
        ray.shutdown()


def _ask(url: str, question: str) -> httpx.Response:
    return httpx.post(f"{url}/v1/ask", json={"question": question}, timeout=60)


def _asked_count(url: str) -> float:
    text = httpx.get(f"{url}/metrics", timeout=10).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("sanad_http_requests_total") and '"/v1/ask"' in line)  # fmt: skip


def test_ray_answers_the_spokesman_question_as_sanad_ask_does(cluster, tmp_path):
    local = Pipeline.from_settings(load_settings({**cluster["settings"], "index": tmp_path / "one",
                                                 "corpus": cluster["seeds"]}))  # fmt: skip
    for question in [SPOKESMAN, *QUESTIONS[1:4], "ما هي عاصمة أستراليا؟"]:
        response = _ask(cluster["url"], question)
        assert response.status_code == 200
        got, expected = response.json(), local.ask(question).to_dict()
        assert got["answer"] == expected["answer"]
        assert got["score"] == pytest.approx(expected["score"], rel=1e-6)
        assert [c["passage_id"] for c in got["citations"]] == [c["passage_id"] for c in expected["citations"]]
        assert [c["title"] for c in got["citations"]] == [c["title"] for c in expected["citations"]]
    assert _ask(cluster["url"], SPOKESMAN).json()["answer"] == "ماثيو ميلر"


def test_ray_serves_the_rest_of_the_api(cluster):
    url = cluster["url"]
    ready = httpx.get(f"{url}/readyz", timeout=10).json()
    threshold = load_settings(cluster["settings"]).threshold_for(EmbeddedReader())
    assert ready == {"status": "ready", "documents": 5, "passages": 36, "reader": "embedded",
                     "no_answer_threshold": threshold}  # fmt: skip
    hits = httpx.get(f"{url}/v1/search", params={"q": SPOKESMAN, "k": 3}, timeout=30).json()["hits"]
    assert len(hits) == 3 and "ماثيو ميلر" in hits[0]["passage"]["text"]
    doc_id = hits[0]["passage"]["doc_id"]
    assert httpx.get(f"{url}/v1/documents/{doc_id}", timeout=30).json()["id"] == doc_id
    assert httpx.get(f"{url}/v1/documents/nothing-here", timeout=30).status_code == 404
    assert _ask(url, "").status_code == 400
    assert httpx.get(f"{url}/", timeout=10).headers["content-type"].startswith("text/html")


def test_a_reader_replica_killed_mid_load_loses_no_request(cluster):
    url = cluster["url"]
    questions = [SPOKESMAN, *QUESTIONS] * 8  # 56 requests
    expected = {q: _ask(url, q).json()["answer"] for q in set(questions)}
    before = _asked_count(url)
    reader = serve.get_deployment_handle("reader", app_name=APP_NAME)
    victim = reader.pid.remote().result(timeout_s=30)
    with ThreadPoolExecutor(6) as pool:
        futures = [pool.submit(_ask, url, q) for q in questions]
        while sum(f.done() for f in futures) < 8:
            time.sleep(0.02)
        os.kill(victim, signal.SIGKILL)  # the middle of the load
        responses = [f.result() for f in futures]
    assert [r.status_code for r in responses] == [200] * len(questions)
    assert [r.json()["answer"] for r in responses] == [expected[q] for q in questions]
    # Each request counted once by the server: none lost, none answered twice.
    assert _asked_count(url) - before == len(questions)
    # Serve replaced the killed replica.
    deadline = time.monotonic() + 90
    pids: set[int] = set()
    while time.monotonic() < deadline and (victim in pids or len(pids) < 2):
        pids = {reader.pid.remote().result(timeout_s=30) for _ in range(8)}
        time.sleep(0.5)
    assert victim not in pids and len(pids) == 2


def test_a_shard_that_stays_down_gives_a_503_naming_it(cluster):
    # Last: shard 1 does not come back. Its folder gone, the replica Serve restarts cannot load it.
    url = cluster["url"]
    assert _ask(url, SPOKESMAN).status_code == 200
    shard = serve.get_deployment_handle("shard-1", app_name=APP_NAME)
    victim = shard.pid.remote().result(timeout_s=30)
    shutil.move(cluster["folder"] / "shard-1", cluster["folder"].parent / "shard-1-gone")
    os.kill(victim, signal.SIGKILL)
    response = _ask(url, SPOKESMAN)
    assert response.status_code == 503
    body = response.json()
    assert body["kind"] == "shard" and "1" in body["error"] and body["exit_code"] == 1
    assert response.headers["retry-after"] == "5"
