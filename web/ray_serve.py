"""Sanad on Ray Serve: one deployment per index shard, a reader deployment whose replicas batch
concurrent requests, and an ingress that serves `sanad serve`'s HTTP API over them.

The ingress is the web package's own app (`web.app.create_app`) around a `Pipeline` whose index is a
`ShardedIndex` of remote shards and whose reader is a remote reader: retrieval fans out to every shard
and is merged exactly (retrieval/shards.py), answer selection is the pipeline's. Shard and reader
calls are reads, so a call that fails (a replica killed, restarting, too slow) is retried, on another
replica when there is one; a shard that stays down makes the question a 503 that names it, never an
answer from part of the corpus.

`build_app(args)` is the application builder that both `sanad serve --ray` and `serve deploy
web/ray_serve.yaml` use; Ray is imported by this module only (the `scale` extra).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from ray import serve
from ray.serve.handle import DeploymentHandle

from qa.config import Settings, load_settings
from qa.pipeline import Pipeline, build_settings, vector_build
from qa.readers.factory import make_reader
from qa.types import Answer
from retrieval.dense import Embedder
from retrieval.shards import LocalShard, ShardedIndex, ShardRanking, ShardUnavailable, read_shard_manifest
from retrieval.types import Document, Hit, Passage
from web.app import create_app
from web.errors import ApiError, error_response

log = logging.getLogger(__name__)

T = TypeVar("T")

APP_NAME = "sanad"
# A call to a shard or the reader: how long one try may take, and how many tries before giving up.
CALL_TIMEOUT_S = 30.0
CALL_TRIES = 4
# Requests a reader replica reads together, and how long it waits to fill a batch.
READ_BATCH = 8
READ_BATCH_WAIT_S = 0.005


class ReaderUnavailable(Exception):
    """No reader replica answered after every try."""


@serve.deployment(name="shard", max_ongoing_requests=32, ray_actor_options={"num_cpus": 0.5})
class ShardDeployment:
    """One shard of the index, searched in its own process (an ordinary Sanad index folder)."""

    def __init__(self, folder: str, vectors: bool = False) -> None:
        self.shard = LocalShard.load(Path(folder), vectors=vectors)
        log.info("shard %s loaded: %d passages", folder, len(self.shard.index.passages))

    def rank(self, query: str, k: int, vector: np.ndarray | None = None) -> ShardRanking:
        return self.shard.rank(query, k, vector)

    def document_frequencies(self, terms: list[str]) -> list[int]:
        return self.shard.document_frequencies(terms)

    def closest(self, query: str, k: int) -> list[Hit]:
        return self.shard.closest(query, k)

    def document(self, doc_id: str) -> Document | None:
        return self.shard.document(doc_id)

    def document_ids(self) -> list[str]:
        return self.shard.document_ids()

    def passage(self, row: int) -> Passage:
        return self.shard.passage(row)

    def passages_of(self, doc_id: str) -> list[Passage]:
        return self.shard.passages_of(doc_id)

    def pid(self) -> int:
        return os.getpid()


@serve.deployment(name="reader", max_ongoing_requests=2 * READ_BATCH, ray_actor_options={"num_cpus": 1})
class ReaderDeployment:
    """The reader, loaded once per replica; concurrent requests are read in batches (`@serve.batch`)."""

    def __init__(self, settings: dict[str, Any]) -> None:
        loaded = load_settings(settings)
        self.reader = make_reader(loaded)
        warm_up = getattr(self.reader, "warm_up", None)
        if callable(warm_up):
            warm_up()
        self.threshold = loaded.threshold_for(self.reader)

    def describe(self) -> dict[str, Any]:
        return {"name": self.reader.name, "no_answer_threshold": self.threshold}

    @serve.batch(max_batch_size=READ_BATCH, batch_wait_timeout_s=READ_BATCH_WAIT_S)
    async def read(self, requests: list[tuple[str, list[Passage]]]) -> list[list[Answer]]:
        # In a thread: the replica's event loop keeps answering health checks while it reads.
        return await asyncio.to_thread(lambda: [self.reader.read(q, passages) for q, passages in requests])

    def pid(self) -> int:
        return os.getpid()


class RemoteShard:
    """A shard deployment called as a `retrieval.shards.Shard`: each call retried, then ShardUnavailable."""

    def __init__(self, handle: DeploymentHandle, number: int, timeout_s: float, tries: int) -> None:
        self.handle, self.number, self.timeout_s, self.tries = handle, number, timeout_s, tries

    def _call(self, method: str, *args: object) -> Any:
        try:
            return _with_retries(lambda: getattr(self.handle, method).remote(*args).result(timeout_s=self.timeout_s),
                                 self.tries, f"shard {self.number}.{method}")  # fmt: skip
        except _CallFailed:
            raise ShardUnavailable([self.number], []) from None

    def rank(self, query: str, k: int, vector: np.ndarray | None = None) -> ShardRanking:
        return self._call("rank", query, k, vector)

    def document_frequencies(self, terms: Sequence[str]) -> list[int]:
        return self._call("document_frequencies", list(terms))

    def closest(self, query: str, k: int) -> list[Hit]:
        return self._call("closest", query, k)

    def document(self, doc_id: str) -> Document | None:
        return self._call("document", doc_id)

    def document_ids(self) -> list[str]:
        return self._call("document_ids")

    def passage(self, row: int) -> Passage:
        return self._call("passage", row)

    def passages_of(self, doc_id: str) -> list[Passage]:
        return self._call("passages_of", doc_id)


class RemoteReader:
    """The reader deployment called as a `Reader`: a read is idempotent, so a failed one is asked again."""

    def __init__(self, handle: DeploymentHandle, timeout_s: float, tries: int) -> None:
        self.handle, self.timeout_s, self.tries = handle, timeout_s, tries
        described = _with_retries(lambda: handle.describe.remote().result(timeout_s=timeout_s), tries, "reader")
        self.name: str = described["name"]
        self.no_answer_threshold: float = described["no_answer_threshold"]

    def read(self, question: str, passages: Sequence[Passage]) -> list[Answer]:
        try:
            return _with_retries(
                lambda: self.handle.read.remote((question, list(passages))).result(timeout_s=self.timeout_s),
                self.tries, "reader.read",
            )  # fmt: skip
        except _CallFailed as err:
            raise ReaderUnavailable(str(err)) from None


@serve.deployment(name="ingress", max_ongoing_requests=64, ray_actor_options={"num_cpus": 0.5})
@serve.ingress()
class IngressDeployment:
    """`sanad serve`'s HTTP API over the shard and reader deployments."""

    def __init__(
        self, settings: dict[str, Any], manifest: dict[str, Any], shards: list[DeploymentHandle],
        reader: DeploymentHandle, timeout_s: float = CALL_TIMEOUT_S, tries: int = CALL_TRIES,
    ) -> None:  # fmt: skip
        self.settings: Settings = load_settings(settings)
        remote = [RemoteShard(handle, n, timeout_s, tries) for n, handle in enumerate(shards)]
        mode = self.settings.retrieval
        embedder = Embedder(self.settings.embed_threads) if mode != "bm25" and manifest.get("dense") else None
        index = ShardedIndex(manifest, remote, mode, embedder)
        remote_reader = RemoteReader(reader, timeout_s, tries)
        self.pipeline = Pipeline(index, remote_reader, self.settings.top_k, remote_reader.no_answer_threshold,
                                 self.settings.reader_weight)  # type: ignore[arg-type]  # fmt: skip

    def __serve_build_asgi_app__(self) -> FastAPI:
        app = create_app(self.settings, self.pipeline)
        app.add_exception_handler(ShardUnavailable, _shard_unavailable)
        app.add_exception_handler(ReaderUnavailable, _reader_unavailable)
        return app


async def _shard_unavailable(request: Request, err: Exception) -> JSONResponse:
    assert isinstance(err, ShardUnavailable)
    missing = "، ".join(str(n) for n in err.shards)
    log.warning("a question went unanswered: %s", err)
    return error_response(ApiError(503, "shard", f"جزء من الفهرس لا يجيب الآن (الجزء {missing})، فلا إجابة كاملة. "
                                   "حاول بعد قليل.", {"Retry-After": "5"}))  # fmt: skip


async def _reader_unavailable(request: Request, err: Exception) -> JSONResponse:
    log.warning("a question went unanswered: %s", err)
    return error_response(ApiError(503, "reader", "نموذج القراءة لا يجيب الآن. حاول بعد قليل.", {"Retry-After": "5"}))


def build_app(args: dict[str, Any], options: dict[str, dict[str, Any]] | None = None) -> serve.Application:
    """The Sanad application: `args` = {"index": sharded index folder, "settings": {SANAD_ settings
    without the prefix}, "timeout_s", "tries"} (the index must exist: `sanad index --shards N`).

    `options` (deployment name → Serve options) is what `sanad serve --ray` takes from the YAML file;
    `serve deploy` applies that file's options by itself.
    """
    options = options or {}

    def configured(deployment: Any, name: str) -> Any:
        template = options.get(name) or (options.get("shard-0") if name.startswith("shard-") else None) or {}
        return deployment.options(name=name, **{k: v for k, v in template.items() if k != "name"})

    folder = Path(args["index"]).resolve()
    manifest = read_shard_manifest(folder)
    settings = dict(args.get("settings") or {})
    vectors = load_settings(settings).retrieval != "bm25"
    manifest = {**manifest, "dense": vectors}
    shards = [configured(ShardDeployment, f"shard-{n}").bind(str(folder / name), vectors)
              for n, name in enumerate(manifest["shards"])]  # fmt: skip
    reader = configured(ReaderDeployment, "reader").bind(settings)
    return configured(IngressDeployment, "ingress").bind(
        settings, manifest, shards, reader, float(args.get("timeout_s", CALL_TIMEOUT_S)), int(args.get("tries", CALL_TRIES))
    )  # fmt: skip


def prepare_index(settings: Settings, n_shards: int, notices: list[str]) -> Path:
    """The sharded index for `settings` with `n_shards`, built or rebuilt if missing or stale."""
    from retrieval.shards import open_sharded_index, sharded_index_dir

    folder = sharded_index_dir(settings.index_dir(), settings.index is not None)
    open_sharded_index(settings.corpus, folder, build_settings(settings), n_shards, notices, vector_build(settings))
    return folder


class _CallFailed(Exception):
    pass


def _with_retries(call: Callable[[], T], tries: int, what: str) -> T:
    """`call()`, tried again after a failure (a dead or restarting replica, a timeout) up to `tries` times."""
    for attempt in range(1, tries + 1):
        try:
            return _off_loop(call)
        except Exception as err:  # Ray's actor, timeout and back-pressure errors have no common base
            log.warning("%s failed (try %d of %d): %s", what, attempt, tries, type(err).__name__)
            if attempt == tries:
                raise _CallFailed(f"{what}: {type(err).__name__}: {err}") from err
            time.sleep(min(0.5 * attempt, 2.0))
    raise AssertionError("unreachable")


def _off_loop(call: Callable[[], T]) -> T:
    """`call()`, from a thread of its own when this one runs an event loop (a route that reads the index
    directly, such as /v1/documents): Serve refuses to wait for a handle's result on an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return call()
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(call).result()
