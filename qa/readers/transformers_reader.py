"""A reader on any Hugging Face extractive-QA checkpoint: windowed, batched, decoded to character offsets."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from qa.readers.decode import MAX_ANSWER_TOKENS
from qa.readers.windows import Windows, check_windowing, encode_windows, read_windows
from qa.types import Answer
from retrieval.types import Passage

log = logging.getLogger(__name__)

# AraELECTRA-base fine-tuned on Arabic-SQuAD v2.0: an Arabic extractive checkpoint that also learned
# to predict "no answer", which the pipeline's threshold uses (see README).
DEFAULT_MODEL = "ZeyadAhmed/AraElectra-Arabic-SQuADv2-QA"


class ReaderLoadError(Exception):
    """The checkpoint could not be loaded; the message says which and why."""


class TransformersReader:
    """`read(question, passages)` with an `AutoModelForQuestionAnswering` and its fast tokenizer."""

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        max_seq_length: int = 384,
        doc_stride: int = 128,
        max_answer_tokens: int = MAX_ANSWER_TOKENS,
        batch_size: int = 8,
        n_best: int = 20,
        max_answers: int = 10,
        use_null_score: bool = True,
        local_files_only: bool = False,
        optimization: str = "none",
        threads: int | None = None,
    ) -> None:
        from qa.readers.onnx_runtime import OPTIMIZATIONS

        check_windowing(max_seq_length, doc_stride)
        if optimization not in OPTIMIZATIONS:
            raise ValueError(f"unknown reader optimization {optimization!r}; choose one of {', '.join(OPTIMIZATIONS)}")
        self.model_id = model
        self.max_seq_length = max_seq_length
        self.doc_stride = doc_stride
        self.max_answer_tokens = max_answer_tokens
        self.batch_size = batch_size
        self.n_best = n_best
        self.max_answers = max_answers
        self.use_null_score = use_null_score
        self.local_files_only = local_files_only
        self.optimization = optimization
        self.threads = threads
        self.name = f"transformers:{model}"
        self._model: Any = None
        self._tokenizer: Any = None
        self._onnx: Any = None

    def warm_up(self) -> None:
        """Load the tokenizer and model (heavy imports happen here, not at import time)."""
        if self._model is not None:
            return
        started = time.perf_counter()
        try:
            import torch  # noqa: F401  (fail here, with a clear message, if torch is missing)
            from transformers import AutoModelForQuestionAnswering, AutoTokenizer

            _progress_bars_on_terminals_only()

            self._tokenizer = AutoTokenizer.from_pretrained(self.model_id, local_files_only=self.local_files_only)
            self._model = AutoModelForQuestionAnswering.from_pretrained(
                self.model_id, local_files_only=self.local_files_only
            )
        except Exception as err:  # transformers raises OSError, ValueError, HF errors...
            raise ReaderLoadError(f"Could not load the QA model {self.model_id!r}: {err}") from err
        if not getattr(self._tokenizer, "is_fast", False):
            raise ReaderLoadError(f"{self.model_id!r} has no fast tokenizer; offsets need one.")
        self._model.eval()
        self._optimize()
        log.info("loaded %s in %.1f s", self.model_id, time.perf_counter() - started)

    def _optimize(self) -> None:
        if self.optimization == "torch-int8":
            from qa.readers.onnx_runtime import torch_int8_model

            self._model = torch_int8_model(self._model)
        elif self.optimization == "onnx-int8":
            from qa.readers.onnx_runtime import onnx_int8_model

            try:
                self._onnx = onnx_int8_model(self._model, list(self._tokenizer.model_input_names), threads=self.threads)
            except ImportError as err:
                raise ReaderLoadError(
                    f"reader optimization onnx-int8 needs onnx and onnxruntime ({err}); "
                    "install them or set SANAD_READER_OPTIMIZATION=none"
                ) from err

    def read(self, question: str, passages: Sequence[Passage]) -> list[Answer]:
        self.warm_up()
        if not passages:
            return []
        return read_windows(
            question,
            passages,
            self.encode(question, passages),
            self.logits,
            self.input_names(),
            self.name,
            batch_size=self.batch_size,
            max_answer_tokens=self.max_answer_tokens,
            n_best=self.n_best,
            max_answers=self.max_answers,
            use_null_score=self.use_null_score,
        )

    def encode(self, question: str, passages: Sequence[Passage]) -> Windows:
        self.warm_up()
        return encode_windows(self._tokenizer.backend_tokenizer, question, passages, self.max_seq_length, self.doc_stride)

    def input_names(self) -> list[str]:
        return [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in self._tokenizer.model_input_names]

    def logits(self, batch: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        """Start and end logits for one batch of encoded windows."""
        if self._onnx is not None:
            return self._onnx.logits(batch)
        import torch

        with torch.inference_mode():
            out = self._model(**{k: torch.as_tensor(v) for k, v in batch.items()})
        return out.start_logits.float().numpy(), out.end_logits.float().numpy()


def _progress_bars_on_terminals_only() -> None:
    """transformers draws loading bars on stderr; only a person at a terminal should see them."""
    if not sys.stderr.isatty():
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
