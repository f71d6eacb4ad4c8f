"""The transformers reader's fast CPU paths: the QA model in ONNX Runtime with int8 weights, or torch int8.

`onnx-int8` exports the loaded model to ONNX once (the TorchScript exporter: the dynamo one would need
onnxscript), fuses BERT-style attention and layer norms, quantizes the weights of every matrix product
to int8 (activations are quantized on the fly), and caches the result on disk, written atomically. A
changed checkpoint, exporter or runtime version, or a CPU that needs the other weight range, gets a new
cache entry.

Weights keep all 8 bits only on a CPU with VNNI. Without it (AVX2 alone), ONNX Runtime multiplies
uint8 activations by int8 weights with `vpmaddubsw`, which adds pairs of products into a saturating
int16: 2 × 255 × 127 overflows it, while 7-bit weights (`reduce_range`, 2 × 255 × 63) never do.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import shutil
import tempfile
from pathlib import Path
from typing import Any, get_args

import numpy as np

from qa.config import ReaderOptimization, Settings
from retrieval.atomic import atomic_path

log = logging.getLogger(__name__)

OPTIMIZATIONS: tuple[str, ...] = get_args(ReaderOptimization)
_OPSET = 17
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
# /proc/cpuinfo flags of the int8 dot-product instructions that ONNX Runtime uses without saturating.
_VNNI_FLAGS = frozenset({"avx512_vnni", "avx_vnni", "amx_int8"})


def default_cache_dir() -> Path:
    return Settings().cache / "onnx"


class OnnxQAModel:
    """Start and end logits from an ONNX Runtime session of an extractive-QA model."""

    def __init__(self, path: Path, threads: int | None = None) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        # One request at a time uses every core for its matrix products; parallel operators only add overhead.
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.path = path
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        # Token inputs are int64; a graph that takes its embeddings (the neural reader's) gets them as float32.
        self._dtypes = {
            i.name: np.float32 if i.type == "tensor(float)" else np.int64 for i in self._session.get_inputs()
        }
        self.input_names = list(self._dtypes)

    def logits(self, batch: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        feed = {name: np.asarray(batch[name], dtype=dtype) for name, dtype in self._dtypes.items()}
        start, end = self._session.run(["start_logits", "end_logits"], feed)
        return start.astype(np.float32), end.astype(np.float32)


def onnx_int8_model(
    model: Any, input_names: list[str], cache_dir: Path | None = None, threads: int | None = None
) -> OnnxQAModel:
    """The int8 ONNX version of the loaded torch QA `model`, exported and quantized on first use."""
    names = [n for n in _INPUTS if n in input_names]
    reduce_range = weights_need_reduced_range()
    folder = (cache_dir or default_cache_dir()) / _cache_key(model, names, reduce_range)
    path = folder / "model.int8.onnx"
    if not path.exists():
        _export_quantized(model, names, path, reduce_range)
    return OnnxQAModel(path, threads)


def weights_need_reduced_range(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether int8 weights must keep to 7 bits here: everywhere but on a CPU known to have VNNI."""
    if platform.machine().lower() not in {"x86_64", "amd64"}:
        return True
    # No flags (not Linux): the CPU's features are unknown, so take the range that is safe on all.
    return not cpu_flags(cpuinfo) & _VNNI_FLAGS


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str]:
    """The CPU feature flags /proc/cpuinfo lists; empty where it cannot be read."""
    try:
        text = cpuinfo.read_text("utf-8", errors="replace")
    except OSError:
        return frozenset()
    return frozenset(
        flag for line in text.splitlines() if line.startswith("flags") for flag in line.split(":", 1)[-1].split()
    )


def torch_int8_model(model: Any) -> Any:
    """`model` with its linear layers dynamically quantized to int8 by torch (no export, no cache)."""
    import torch

    return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


def _cache_key(model: Any, names: list[str], reduce_range: bool) -> str:
    """Changes whenever the checkpoint, the inputs or the export tool chain does."""
    import onnxruntime
    import torch

    source = str(getattr(model, "name_or_path", "") or "")
    weights = ""
    if Path(source).is_dir():
        files = sorted(Path(source).glob("*.safetensors")) or sorted(Path(source).glob("*.bin"))
        weights = ";".join(f"{f.name}:{f.stat().st_size}:{f.stat().st_mtime_ns}" for f in files)
    recipe = {
        "source": source,
        "commit": getattr(model.config, "_commit_hash", None),
        "weights": weights,
        "config": model.config.to_json_string(use_diff=False),
        "inputs": names,
        "reduce_range": reduce_range,
        "opset": _OPSET,
        "torch": torch.__version__,
        "onnxruntime": onnxruntime.__version__,
    }
    digest = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode("utf-8")).hexdigest()[:16]
    stem = Path(source).name if source else "model"
    return f"{stem}-{digest}"


def _export_quantized(
    model: Any, names: list[str], path: Path, reduce_range: bool, per_channel: bool = False,
    fp32_copy: Path | None = None,
) -> None:
    """Export, fuse and quantize into a staging folder beside `path`, then move the result into place
    (and the fused fp32 graph to `fp32_copy`, when given: the reference the int8 one is measured against)."""
    import onnx
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".export-", dir=path.parent))
    try:
        exported = staging / "model.onnx"
        length = 16
        dummy = {
            "input_ids": torch.ones(2, length, dtype=torch.long),
            "attention_mask": torch.ones(2, length, dtype=torch.long),
            "token_type_ids": torch.zeros(2, length, dtype=torch.long),
        }
        axes = {name: {0: "batch", 1: "sequence"} for name in [*names, "start_logits", "end_logits"]}
        log.info("exporting %s to ONNX (once; cached in %s)", getattr(model, "name_or_path", "the model"), path.parent)
        with torch.inference_mode():
            torch.onnx.export(
                _logits_module(model, names),
                tuple(dummy[n] for n in names),
                str(exported),
                input_names=names,
                output_names=["start_logits", "end_logits"],
                dynamic_axes=axes,
                opset_version=_OPSET,
                dynamo=False,
            )
        fused = _fuse_attention(exported, model.config, staging / "model.fused.onnx")
        # The fused operators live in ONNX Runtime's own domain, where shape inference finds no types.
        with atomic_path(path) as quantized:
            quantize_dynamic(
                str(fused),
                str(quantized),
                weight_type=QuantType.QInt8,
                reduce_range=reduce_range,
                per_channel=per_channel,
                extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
            )
        if fp32_copy is not None:
            with atomic_path(fp32_copy) as copy:
                os.replace(fused, copy)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _fuse_attention(exported: Path, config: Any, out: Path) -> Path:
    """ONNX Runtime's BERT graph fusions (attention, layer norm, GELU); the plain export if they fail."""
    if getattr(config, "model_type", "") not in {"bert", "electra", "roberta", "xlm-roberta", "distilbert"}:
        return exported
    try:
        from onnxruntime.transformers.optimizer import optimize_model

        optimized = optimize_model(
            str(exported),
            model_type="bert",
            num_heads=int(config.num_attention_heads),
            hidden_size=int(config.hidden_size),
        )
        optimized.save_model_to_file(str(out))
        return out
    except Exception as err:  # fusion is an optimization: an unfamiliar graph keeps the unfused export
        log.warning("ONNX graph fusion skipped: %s", err)
        return exported


def _logits_module(model: Any, names: list[str]) -> Any:
    """`model` as the export needs it: positional inputs in `names` order, a (start, end) tuple out."""
    import torch

    class LogitsOnly(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            out = self.model(**dict(zip(names, inputs)))
            return out.start_logits, out.end_logits

    return LogitsOnly().eval()
