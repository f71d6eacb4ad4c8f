"""Fine-tuning a neural reader: a smoke run on a tiny synthetic e5 file, resume, and the export."""

from __future__ import annotations

import json

import pytest

from tests.support.e5_file import arabic_pieces, write_e5_file

pytest.importorskip("torch")


@pytest.fixture
def squad_file(tmp_path):
    context = "قال ماثيو ميلر المتحدث باسم وزارة الخارجية في بيان إن الوزير سيزور المنطقة."
    qas = [
        {"id": f"q{i}", "question": q, "answers": [{"text": a, "answer_start": 999}]}  # a wrong start: found by text
        for i, (q, a) in enumerate([("من هو المتحدث باسم وزارة الخارجية؟", "ماثيو ميلر"), ("ماذا قال ميلر؟", "الوزير سيزور المنطقة")] * 4)
    ]
    qas.append({"id": "impossible", "question": "ما عاصمة أستراليا؟", "answers": [], "is_impossible": True})
    path = tmp_path / "train.json"
    path.write_text(json.dumps({"data": [{"paragraphs": [{"context": context, "qas": qas}]}]}, ensure_ascii=False))
    return path


def test_examples_locate_answers_by_text(squad_file):
    from qa.readers.neural_train import load_examples

    examples = load_examples(squad_file)
    found = [e for e in examples if e.start >= 0]
    assert all(e.context[e.start : e.start + len(e.answer)] == e.answer for e in found)
    assert [e.id for e in examples if e.start < 0] == ["impossible"]


def test_windows_point_at_the_answer_tokens_or_the_first_token(tmp_path, squad_file):
    import random

    from qa.readers.e5_checkpoint import hf_tokenizer
    from qa.readers.neural_train import TrainPlan, encode_training_windows, load_examples
    from retrieval.e5_file import read_e5_file

    e5 = read_e5_file(write_e5_file(tmp_path / "e5.bin", arabic_pieces()))
    tokenizer = hf_tokenizer(e5)
    examples = load_examples(squad_file)
    windows = encode_training_windows(tokenizer, examples, TrainPlan(sources=[]), random.Random(0))
    assert len(windows) == len(examples)
    for (ids, start, end), example in zip(windows, examples):
        if example.start < 0:
            assert (start, end) == (0, 0)
        else:
            text = tokenizer.decode(ids[start : end + 1]).strip()
            assert text == example.answer


def test_a_short_run_trains_resumes_and_exports(tmp_path, squad_file):
    pytest.importorskip("onnxruntime")
    from tokenizers import Tokenizer

    from qa.readers.neural import NeuralReader, NeuralReaderError
    from qa.readers.neural_export import export_reader
    from qa.readers.neural_train import CHECKPOINT, Source, TrainPlan, train
    from retrieval.types import Passage

    e5_path = write_e5_file(tmp_path / "e5.bin", arabic_pieces())
    plan = TrainPlan(sources=[Source(squad_file, 3)], batch_size=4, max_length=64, stride=16, e5_file=e5_path,
                     learning_rate=3e-3, holdout=0, layers=2)
    out = tmp_path / "run"
    stopped = train(out, plan, max_minutes=0, progress=False)  # stops after its first step, checkpointed
    assert stopped == out / CHECKPOINT and json.loads((out / CHECKPOINT / "progress.json").read_text())["step"] == 1
    with pytest.raises(ValueError, match="--resume"):
        train(out, plan, progress=False)
    final = train(out, plan, resume=True, progress=False)
    record = json.loads((final / "training.json").read_text())
    assert record["steps"] == 7 and record["final_loss"] < 10

    reader_dir = export_reader(final, tmp_path / "reader", no_answer_threshold=0.6)
    reader = NeuralReader(reader_dir, max_seq_length=64, doc_stride=16, e5_file=e5_path)
    reader.warm_up()
    meta = json.loads((reader_dir / "reader.json").read_text())
    assert meta["vocabulary"] == len(Tokenizer.from_file(str(reader_dir / "tokenizer.json")).get_vocab())
    assert meta["word_embeddings"]["int8"]["zero_point"] in range(256), "the int8 table's rounding is recorded"
    with pytest.raises(NeuralReaderError, match="other word embeddings"):  # another base model's file
        NeuralReader(reader_dir, e5_file=write_e5_file(tmp_path / "other.bin", arabic_pieces(), seed=1)).warm_up()
    assert reader.no_answer_threshold == 0.6
    context = "قال ماثيو ميلر المتحدث باسم وزارة الخارجية في بيان إن الوزير سيزور المنطقة."
    passage = Passage(id="p", doc_id="d", text=context, start=0, end=len(context))
    answers = reader.read("من هو المتحدث باسم وزارة الخارجية؟", [passage])
    assert answers, "a trained reader proposes spans"
    for answer in answers:
        c = answer.citations[0]
        assert c.passage[c.start : c.end] == answer.text and 0 <= answer.score <= 1

    # The shipped artifact made back into a transformers model continues training where it left off.
    import numpy as np
    import torch
    from transformers import BertForQuestionAnswering, PreTrainedTokenizerFast

    from qa.readers.neural_export import reader_to_model

    back = reader_to_model(reader_dir, tmp_path / "back", e5_file=e5_path)
    trained, restored = (BertForQuestionAnswering.from_pretrained(p).eval() for p in (final, back))
    trained_tokenizer, restored_tokenizer = (PreTrainedTokenizerFast.from_pretrained(p) for p in (final, back))
    rows = [restored_tokenizer.convert_tokens_to_ids(t) for t in trained_tokenizer.convert_ids_to_tokens(
        list(range(len(trained_tokenizer))))]
    assert torch.equal(restored.bert.embeddings.word_embeddings.weight[rows], trained.bert.embeddings.word_embeddings.weight)
    question = "من هو المتحدث باسم وزارة الخارجية؟"
    with torch.no_grad():  # each with its own tokenizer: the trained one's is pruned, the restored one's is e5's whole
        want, got = (m(**t(question, context, return_tensors="pt")).start_logits.numpy().ravel()
                     for m, t in ((trained, trained_tokenizer), (restored, restored_tokenizer)))
    assert np.corrcoef(want, got)[0, 1] > 0.99, "dequantized weights compute what the trained model computes"
    continued = TrainPlan(sources=[Source(squad_file, 1)], batch_size=4, max_length=64, stride=16, e5_file=e5_path,
                          holdout=0, init=back)
    assert train(tmp_path / "run2", continued, max_minutes=0, progress=False) == tmp_path / "run2" / CHECKPOINT
    assert not (tmp_path / "run2" / "base").exists(), "a continued run starts from its init, not the base"
    assert json.loads((back / "training.json").read_text())["steps"] == 7, "the continued run knows its first stage"
