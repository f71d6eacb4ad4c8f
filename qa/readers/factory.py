"""Choose and build a reader: `auto` prefers a configured checkpoint, then the shipped neural reader, offline in seconds."""

from __future__ import annotations

import logging
import os
import socket
import threading
from pathlib import Path
from typing import get_args
from urllib.parse import urlparse

from qa.config import ReaderKind, Settings
from qa.readers.base import Reader

log = logging.getLogger(__name__)

READER_KINDS: tuple[str, ...] = get_args(ReaderKind)


def make_reader(settings: Settings, notice: list[str] | None = None) -> Reader:
    """The reader `settings.reader` asks for; `notice` collects the one-line fallback message, if any.

    `auto`: the configured Hugging Face checkpoint (`SANAD_MODEL`) when it is local or the hub answers
    in seconds; with none configured, the shipped neural reader, with no hub probe at all; the
    embedded reader only when the neural one cannot load.
    """
    kind = settings.reader
    if kind not in READER_KINDS:
        raise ValueError(f"unknown reader {kind!r}; choose one of {', '.join(READER_KINDS)}")
    if kind == "embedded":
        return embedded_reader()
    if kind == "neural":
        return neural_reader(settings)
    from qa.readers.transformers_reader import DEFAULT_MODEL, ReaderLoadError

    if kind == "transformers":
        model = settings.model or DEFAULT_MODEL
        reason = model_unavailable_reason(model, settings.hub_timeout)
        # Asked for explicitly: fail at once with the reason rather than wait on the hub's retries.
        if reason is not None:
            raise ReaderLoadError(f"Cannot use the transformers reader: {reason}")
        reader = _transformers_reader(settings, model)
        reader.warm_up()
        return reader
    if settings.model is not None:
        reason = model_unavailable_reason(settings.model, settings.hub_timeout)
        if reason is None:
            reader = _transformers_reader(settings, settings.model)
            try:
                reader.warm_up()
                return reader
            except ReaderLoadError as err:
                reason = str(err)
        _tell(notice, f"Using the neural reader: {reason}")
    try:
        return neural_reader(settings)
    except ReaderLoadError as err:
        _tell(notice, f"Using the embedded reader: {err}")
        return embedded_reader()


def _tell(notice: list[str] | None, message: str) -> None:
    log.info(message)
    if notice is not None:
        notice.append(message)


def neural_reader(settings: Settings) -> Reader:
    from qa.readers.neural import NeuralReader

    reader = NeuralReader(
        path=settings.neural_reader,
        max_seq_length=settings.max_seq_length,
        doc_stride=settings.doc_stride,
        max_answer_tokens=settings.max_answer_tokens,
    )
    reader.warm_up()
    return reader


def embedded_reader() -> Reader:
    from qa.readers.embedded import EmbeddedReader

    return EmbeddedReader()


def model_unavailable_reason(model: str, hub_timeout: float) -> str | None:
    """Why the transformers checkpoint `model` cannot be used now, or None if it is local or reachable."""
    if Path(model).expanduser().exists():
        return None
    if _is_cached_or_local(model):
        return None
    if _hub_offline():
        return f"{model} is not in the local cache and HF_HUB_OFFLINE is set."
    if not _hub_reachable(hub_timeout):
        return f"{model} is not cached and the model hub is unreachable (no network)."
    return None


def _transformers_reader(settings: Settings, model: str) -> Reader:
    from qa.readers.transformers_reader import TransformersReader

    return TransformersReader(
        model=model,
        max_seq_length=settings.max_seq_length,
        doc_stride=settings.doc_stride,
        max_answer_tokens=settings.max_answer_tokens,
        batch_size=settings.reader_batch_size,
        local_files_only=_is_cached_or_local(model),
        optimization=settings.reader_optimization,
    )


def _is_cached_or_local(model: str) -> bool:
    if Path(model).expanduser().exists():
        return True
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return False
    try:
        cached = try_to_load_from_cache(model, "config.json")
    except Exception:  # an id the hub client rejects is simply not cached
        return False
    return isinstance(cached, str)


def _hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes"}


def _hub_reachable(timeout: float) -> bool:
    """One TCP connection, given `timeout` seconds in all: the hub client itself would retry for a minute.

    The attempt runs in a daemon thread because a socket timeout does not bound the DNS lookup, which
    can hang for far longer on a machine without network.
    """
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    parsed = urlparse(endpoint)
    host = parsed.hostname or "huggingface.co"
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    reached = threading.Event()

    def connect() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                reached.set()
        except OSError:
            pass

    probe = threading.Thread(target=connect, name="hub-probe", daemon=True)
    probe.start()
    probe.join(timeout)
    return reached.is_set()
