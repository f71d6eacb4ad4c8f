"""`sanad bench scale`'s parts that need no Ray: layouts, the corpus it writes, memory by role."""

import os

import pytest

from qa.bench.corpus import synthetic_corpus
from qa.bench.scale import memory_by_role, parse_layout, write_corpus
from qa.cli import main
from retrieval.corpus import load_corpus


def test_layouts_are_single_or_shards_by_readers(capsys):
    assert parse_layout("single") is None
    assert parse_layout("2x3") == (2, 3)
    for bad in ("0x1", "2x", "two", "1x1x1"):
        with pytest.raises(ValueError, match="SHARDSxREADERS"):
            parse_layout(bad)
    assert main(["bench", "scale", "--layouts", "single,3y2"]) == 2
    assert "unknown layout '3y2'" in capsys.readouterr().err


def test_the_written_corpus_loads_as_the_same_documents(tmp_path):
    corpus = synthetic_corpus(50, 1)
    write_corpus(corpus.documents, tmp_path / "corpus")
    loaded = load_corpus(tmp_path / "corpus")
    assert not loaded.problems
    assert sorted(d.id for d in loaded.documents) == sorted(d.id for d in corpus.documents)


def test_memory_by_role_counts_this_process():
    memory = memory_by_role(os.getpid())
    assert memory["rest"] > 10 and memory["total"] >= memory["rest"] and memory["shard"] == 0.0
