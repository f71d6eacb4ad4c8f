"""`sanad bench serve`: concurrent HTTP clients on loopback against a `sanad serve` process, for a bounded time.

The server runs as its own process, started the way a user starts it (`sanad serve`), so that the
figures include HTTP, JSON and the bounded read pool; qa never imports the web front end.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx

from qa.bench.measure import latency_summary, machine
from qa.evaluation.gold import load_gold

ASK_KEYS = ["question", "answer", "score", "reader", "latency_ms", "citations"]
ERROR_KEYS = {"error", "kind", "exit_code"}
START_TIMEOUT_S = 600.0  # a first start builds the index and loads the reader, on a busy machine too
_ASK_COUNT = re.compile(r'^sanad_http_requests_total\{[^}]*route="/v1/ask"[^}]*\} ([0-9.e+]+)$', re.M)


def bench_serve(
    clients: Sequence[int], seconds: float, readers: Sequence[str], corpus: Path, gold: Path, workdir: Path | None
) -> dict[str, Any]:
    """For each reader, a fresh server; for each client count, `seconds` of back-to-back questions per client."""
    questions = [q.question for q in load_gold(gold).questions]
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="sanad-bench-serve-", dir=workdir) as base:
        for reader in readers:
            with served(reader, corpus, Path(base)) as url:
                asyncio.run(_warm_up(url, questions[0]))
                results[reader] = [asyncio.run(_level(url, n, seconds, questions)) for n in clients]
    return {
        "benchmark": "serve",
        "machine": machine(),
        "seconds_per_level": seconds,
        "questions": len(questions),
        "readers": results,
        "every_request_one_well_formed_response": all(
            level["one_well_formed_response_each"] for levels in results.values() for level in levels
        ),
    }


@contextlib.contextmanager
def served(reader: str, corpus: Path, folder: Path) -> Iterator[str]:
    """A `sanad serve` child on a free loopback port, without a rate limit; its URL once /readyz says ready."""
    with launched(reader, corpus, folder, ["--index", str(folder / "index")], f"serve-{reader}") as (url, _):
        yield url


@contextlib.contextmanager
def launched(
    reader: str, corpus: Path, folder: Path, options: Sequence[str], name: str
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`sanad serve` with `options` as a child on a free loopback port, rate limit off: its URL once
    /readyz says ready, and the child; its log is `folder/NAME.log`."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log_path = folder / f"{name}.log"
    command = [sys.executable, "-m", "qa.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
               "--reader", reader, "--corpus", str(corpus), *options]  # fmt: skip
    env = {**os.environ, "SANAD_API_RATE_LIMIT": "0"}
    with open(log_path, "wb") as log:
        child = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, child, log_path)
        yield url, child
    finally:
        child.terminate()
        try:
            child.wait(60)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _wait_ready(url: str, child: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if child.poll() is not None:
            tail = log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-3:]
            raise RuntimeError(f"sanad serve exited with {child.returncode}: {' | '.join(tail)}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url + "/readyz", timeout=5).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"sanad serve was not ready after {START_TIMEOUT_S:.0f} s (log: {log_path})")


async def _warm_up(url: str, question: str) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=300) as client:
        (await client.post("/v1/ask", json={"question": question})).raise_for_status()


async def _level(url: str, n_clients: int, seconds: float, questions: Sequence[str]) -> dict[str, Any]:
    """`n_clients` clients, each asking the next question as soon as its last one was answered, for `seconds`."""
    outcomes: Counter[str] = Counter()
    latencies: list[float] = []
    loop = asyncio.get_running_loop()
    limits = httpx.Limits(max_connections=n_clients, max_keepalive_connections=n_clients)
    async with httpx.AsyncClient(base_url=url, timeout=300, limits=limits) as client:
        counted_before = await _server_ask_count(client)
        deadline = loop.time() + seconds

        async def one_client(number: int) -> None:
            asked = number
            while loop.time() < deadline:
                question = questions[asked % len(questions)]
                asked += n_clients
                started = time.perf_counter()
                try:
                    response = await client.post("/v1/ask", json={"question": question})
                except httpx.HTTPError as err:  # no response at all: a lost request
                    outcomes[f"lost: {type(err).__name__}"] += 1
                    continue
                latencies.append(time.perf_counter() - started)
                outcomes[_classify(response)] += 1

        started = time.perf_counter()
        await asyncio.gather(*(one_client(i) for i in range(n_clients)))
        wall = time.perf_counter() - started
        counted = await _server_ask_count(client) - counted_before
    sent = sum(outcomes.values())
    good = outcomes["answer"] + outcomes["no_answer"]
    return {
        "clients": n_clients,
        "requests": sent,
        "ok": good,
        "outcomes": dict(sorted(outcomes.items())),
        "server_counted": counted,
        # Each request got one response, every response was well-formed, and the server saw each once.
        "one_well_formed_response_each": good == sent == counted,
        "wall_seconds": round(wall, 2),
        "throughput_rps": round(good / wall, 2) if wall else 0.0,
        "latency_ms": latency_summary(latencies),
    }


def _classify(response: httpx.Response) -> str:
    """"answer" / "no_answer" for an ask object, "error STATUS KIND" for an error object, else "malformed"."""
    try:
        body = response.json()
    except ValueError:
        return f"malformed {response.status_code}"
    if response.status_code == 200 and isinstance(body, dict) and list(body) == ASK_KEYS:
        if isinstance(body["citations"], list):
            return "answer" if body["answer"] is not None else "no_answer"
    if isinstance(body, dict) and set(body) == ERROR_KEYS:
        return f"error {response.status_code} {body['kind']}"
    return f"malformed {response.status_code}"


async def _server_ask_count(client: httpx.AsyncClient) -> int:
    """The server's own count of /v1/ask requests (all statuses), from its /metrics."""
    text = (await client.get("/metrics")).text
    return int(sum(float(value) for value in _ASK_COUNT.findall(text)))
